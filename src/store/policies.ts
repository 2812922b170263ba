// Policy versions: immutable rows; activation (and rollback, which is activating an older
// version) is one transaction that retires the previously active version.
import type { RuleSetIR } from '../policy/ir.ts';
import type { Store } from './db.ts';

export type PolicyVersionRow = {
  id: number;
  version: string;
  name: string | null;
  hash: string;
  status: 'draft' | 'active' | 'retired';
  author: string | null;
  message: string | null;
  parent_id: number | null;
  created_at: string;
  activated_at: string | null;
};

export type PublishInput = {
  version: string;
  name?: string | null;
  source: string;
  canonical: string;
  hash: string;
  ir: RuleSetIR;
  author?: string | null;
  message?: string | null;
  activate?: boolean;
};

const COLUMNS =
  'id, version, name, hash, status, author, message, parent_id, created_at, activated_at';

/** Stores a new version whose parent is the currently active one; optionally activates it. */
export async function publishPolicyVersion(
  store: Store,
  input: PublishInput,
): Promise<PolicyVersionRow> {
  return store.transaction(async (client) => {
    const active = await client.query<{ id: number }>(
      "select id from policy_versions where status = 'active' for update",
    );
    const parent = active.rows[0]?.id ?? null;
    const inserted = await client.query<PolicyVersionRow>(
      `insert into policy_versions (version, name, source, canonical, hash, ir, author, message, parent_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${COLUMNS}`,
      [
        input.version,
        input.name ?? null,
        input.source,
        input.canonical,
        input.hash,
        JSON.stringify(input.ir),
        input.author ?? null,
        input.message ?? null,
        parent,
      ],
    );
    const row = inserted.rows[0];
    if (!input.activate) return row;
    await client.query("update policy_versions set status = 'retired' where status = 'active'");
    const activated = await client.query<PolicyVersionRow>(
      `update policy_versions set status = 'active', activated_at = now() where id = $1 returning ${COLUMNS}`,
      [row.id],
    );
    return activated.rows[0];
  });
}

/** Makes `id` the active version in one transaction (the previous one is retired). */
export async function activatePolicyVersion(store: Store, id: number): Promise<PolicyVersionRow> {
  return store.transaction(async (client) => {
    const found = await client.query('select id from policy_versions where id = $1 for update', [
      id,
    ]);
    if (found.rowCount === 0) throw new Error(`no policy version with id ${id}`);
    await client.query(
      "update policy_versions set status = 'retired' where status = 'active' and id <> $1",
      [id],
    );
    const activated = await client.query<PolicyVersionRow>(
      `update policy_versions set status = 'active', activated_at = now() where id = $1 returning ${COLUMNS}`,
      [id],
    );
    return activated.rows[0];
  });
}

export async function activePolicyVersion(store: Store): Promise<PolicyVersionRow | null> {
  const rows = await store.query<PolicyVersionRow>(
    `select ${COLUMNS} from policy_versions where status = 'active' limit 1`,
  );
  return rows[0] ?? null;
}

export async function listPolicyVersions(store: Store): Promise<PolicyVersionRow[]> {
  return store.query<PolicyVersionRow>(`select ${COLUMNS} from policy_versions order by id desc`);
}
