// Policy versions: immutable rows, with the history reviewers work with. Publishing,
// activation and rollback (activating an older version) each run in one transaction that
// also writes the audit entry: either all of it happens or none of it does. Versions are
// found by the names reviewers use (`v3`, `3`, a version label, a hash prefix).
import type pg from 'pg';
import { analyzePolicy } from '../policy/analyze.ts';
import type { Diagnostic } from '../policy/diagnostics.ts';
import { hasErrors } from '../policy/diagnostics.ts';
import { formatPolicy } from '../policy/format.ts';
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
  activated_by: string | null;
};

export type StoredPolicy = PolicyVersionRow & { source: string; ir: RuleSetIR };

/** Who acted, for the audit log. The local CLI (and the seed) has no API key. */
export type Actor = { id: string | null; role: string; name?: string | null };

export const LOCAL_ACTOR: Actor = { id: null, role: 'local', name: null };

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
  actor?: Actor;
};

const COLUMNS =
  'id, version, name, hash, status, author, message, parent_id, created_at, activated_at, activated_by';

export class UnknownVersionError extends Error {
  readonly ref: string;
  constructor(ref: string, hint: string) {
    super(`unknown policy version "${ref}": ${hint}`);
    this.ref = ref;
  }
}

/**
 * Stores a new version whose parent is the currently active one, audited; with `activate`
 * it is made active in the same transaction.
 */
export async function publishPolicyVersion(
  store: Store,
  input: PublishInput,
): Promise<PolicyVersionRow> {
  const actor = input.actor ?? LOCAL_ACTOR;
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
    await audit(client, actor, 'policy.publish', row, {});
    if (!input.activate) return row;
    return activateWithin(client, row.id, actor, 'publish');
  });
}

/**
 * Makes version `id` the active one. The previous active version is retired and the audit
 * entry written in the same transaction. Activating an older version is a rollback, and is
 * recorded as one.
 */
export async function activatePolicy(
  store: Store,
  id: number,
  actor: Actor = LOCAL_ACTOR,
  reason: string | null = null,
): Promise<PolicyVersionRow> {
  return store.transaction((client) => activateWithin(client, id, actor, reason));
}

async function activateWithin(
  client: pg.PoolClient,
  id: number,
  actor: Actor,
  reason: string | null,
): Promise<PolicyVersionRow> {
  const target = await client.query<PolicyVersionRow>(
    `select ${COLUMNS} from policy_versions where id = $1 for update`,
    [id],
  );
  if (target.rowCount === 0) throw new UnknownVersionError(`v${id}`, 'no such version');
  const previous = await client.query<{ id: number }>(
    "select id from policy_versions where status = 'active' for update",
  );
  const previousId = previous.rows[0]?.id ?? null;
  await client.query(
    "update policy_versions set status = 'retired' where status = 'active' and id <> $1",
    [id],
  );
  const updated = await client.query<PolicyVersionRow>(
    `update policy_versions set status = 'active', activated_at = now(), activated_by = $2
      where id = $1 returning ${COLUMNS}`,
    [id, actorLabel(actor)],
  );
  const row = updated.rows[0];
  const rollback = previousId !== null && id < previousId;
  await audit(client, actor, rollback ? 'policy.rollback' : 'policy.activate', row, {
    previous: previousId,
    ...(reason ? { reason } : {}),
  });
  return row;
}

/** An actor as people read it: the key's name and id, as a version's author is written. */
function actorLabel(actor: Actor): string {
  if (actor.id === null) return 'command line';
  return `${actor.name ?? actor.role} (${actor.id})`;
}

async function audit(
  client: pg.PoolClient,
  actor: Actor,
  action: string,
  row: PolicyVersionRow,
  detail: Record<string, unknown>,
): Promise<void> {
  await client.query(
    'insert into audit_log (actor, role, action, subject, detail) values ($1, $2, $3, $4, $5::jsonb)',
    [
      actor.id,
      actor.role,
      action,
      `policy#${row.id}`,
      JSON.stringify({ version: row.version, hash: row.hash, ...detail }),
    ],
  );
}

export type PublishOutcome =
  | { kind: 'invalid'; diagnostics: Diagnostic[] }
  /** the same meaning is already stored; nothing new was written */
  | { kind: 'unchanged'; existing: PolicyVersionRow; activated: boolean }
  | { kind: 'published'; version: PolicyVersionRow; activated: boolean };

export type PublishRequest = {
  source: string;
  file?: string;
  author?: string | null;
  message?: string | null;
  activate?: boolean;
  actor?: Actor;
};

/**
 * Publishes policy text as a new immutable version, unless a version with the same meaning
 * hash exists: then nothing is stored and the existing version is reported (and, with
 * `activate`, activated if it is not already).
 */
export async function publishPolicySource(
  store: Store,
  request: PublishRequest,
): Promise<PublishOutcome> {
  const analysis = analyzePolicy(request.source, request.file);
  if (!analysis.ir || !analysis.hash || hasErrors(analysis.diagnostics)) {
    return { kind: 'invalid', diagnostics: analysis.diagnostics };
  }
  const actor = request.actor ?? LOCAL_ACTOR;
  const existing = await findPolicyByHash(store, analysis.hash);
  if (existing) {
    let row = existing;
    const activate = request.activate === true && row.status !== 'active';
    if (activate) row = await activatePolicy(store, row.id, actor, 'unchanged publish');
    return { kind: 'unchanged', existing: row, activated: activate };
  }
  const version = await publishPolicyVersion(store, {
    version: analysis.ir.meta.version ?? 'unversioned',
    name: analysis.ir.meta.name,
    source: request.source,
    canonical: formatPolicy(analysis.ast),
    hash: analysis.hash,
    ir: analysis.ir,
    author: request.author ?? null,
    message: request.message ?? null,
    activate: request.activate === true,
    actor,
  });
  return { kind: 'published', version, activated: request.activate === true };
}

/** The latest version with this meaning hash, if any. */
export async function findPolicyByHash(
  store: Store,
  hash: string,
): Promise<PolicyVersionRow | null> {
  const rows = await store.query<PolicyVersionRow>(
    `select ${COLUMNS} from policy_versions where hash = $1 order by id desc limit 1`,
    [hash],
  );
  return rows[0] ?? null;
}

/** `v3` (or `#3`, `3`) is the version id; otherwise a version label, else a hash prefix. */
export async function findPolicyVersion(store: Store, ref: string): Promise<StoredPolicy> {
  const trimmed = ref.trim();
  const byId = /^(?:v|#)?(\d+)$/i.exec(trimmed);
  const select = `select ${COLUMNS}, source, ir from policy_versions`;
  let rows: StoredPolicy[] = [];
  if (byId) rows = await store.query<StoredPolicy>(`${select} where id = $1`, [Number(byId[1])]);
  if (rows.length === 0) {
    rows = await store.query<StoredPolicy>(
      `${select} where version = $1 order by id desc limit 1`,
      [trimmed],
    );
  }
  if (rows.length === 0 && /^[0-9a-f]{6,64}$/i.test(trimmed)) {
    rows = await store.query<StoredPolicy>(
      `${select} where hash like $1 order by id desc limit 2`,
      [`${trimmed.toLowerCase()}%`],
    );
    if (rows.length > 1) throw new UnknownVersionError(ref, 'that hash prefix is ambiguous');
  }
  if (rows.length === 0) {
    const known = await store.query<{ id: number; version: string }>(
      'select id, version from policy_versions order by id desc limit 5',
    );
    const hint = known.length
      ? `known: ${known.map((k) => `v${k.id} (${k.version})`).join(', ')}; see \`quotient policy log\``
      : 'no versions are published yet (`quotient policy publish <file>`)';
    throw new UnknownVersionError(ref, hint);
  }
  const row = rows[0];
  const ir = typeof row.ir === 'string' ? (JSON.parse(row.ir) as RuleSetIR) : row.ir;
  return { ...row, ir };
}

export async function activePolicyVersion(store: Store): Promise<PolicyVersionRow | null> {
  const rows = await store.query<PolicyVersionRow>(
    `select ${COLUMNS} from policy_versions where status = 'active' limit 1`,
  );
  return rows[0] ?? null;
}

/** The history, newest first. */
export async function policyLog(store: Store): Promise<PolicyVersionRow[]> {
  return store.query<PolicyVersionRow>(`select ${COLUMNS} from policy_versions order by id desc`);
}

/**
 * The active version's id and hash with the data watermark (a value that changes whenever
 * usage, outcomes, compliance or the directory change), in one small statement: every read
 * starts with it, and a cached rule set or evaluation then costs one round trip.
 */
export async function activePolicyHead(
  store: Pick<Store, 'query'>,
): Promise<{ id: number; hash: string; watermark: string } | null> {
  const rows = await store.query<{ id: number; hash: string | null; watermark: string }>(
    `select v.id, v.hash, (select coalesce(sum(n), 0)::text from engine_change_counters) as watermark
       from (select 1) one left join policy_versions v on v.status = 'active'`,
  );
  const row = rows[0];
  return row?.hash ? { id: row.id, hash: row.hash, watermark: row.watermark } : null;
}

/** One stored version's label and IR by id (null when gone). */
export async function policyIrById(
  store: Pick<Store, 'query'>,
  id: number,
): Promise<{ version: string; ir: RuleSetIR } | null> {
  const rows = await store.query<{ version: string; ir: RuleSetIR | string }>(
    'select version, ir from policy_versions where id = $1',
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  return { version: row.version, ir: typeof row.ir === 'string' ? JSON.parse(row.ir) : row.ir };
}
