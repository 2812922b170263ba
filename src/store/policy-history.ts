// Policy version history for quarterly review: publish with "no semantic change" detection,
// activation and rollback recorded in the audit log in the same transaction, lookup of a
// version by the names reviewers use (`v3`, `3`, a version label, a hash prefix), and the
// log. Row storage itself is src/store/policies.ts.
import { analyzePolicy } from '../policy/analyze.ts';
import type { Diagnostic } from '../policy/diagnostics.ts';
import { hasErrors } from '../policy/diagnostics.ts';
import { formatPolicy } from '../policy/format.ts';
import type { RuleSetIR } from '../policy/ir.ts';
import type { Store } from './db.ts';
import { type PolicyVersionRow, publishPolicyVersion } from './policies.ts';

export type StoredPolicy = PolicyVersionRow & { source: string; ir: RuleSetIR };

/** Who acted, for the audit log. The local CLI has no API key. */
export type Actor = { id: string | null; role: string; name?: string | null };

export const LOCAL_ACTOR: Actor = { id: null, role: 'local', name: null };

const COLUMNS =
  'id, version, name, hash, status, author, message, parent_id, created_at, activated_at';

export class UnknownVersionError extends Error {
  readonly ref: string;
  constructor(ref: string, hint: string) {
    super(`unknown policy version "${ref}": ${hint}`);
    this.ref = ref;
  }
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
  const existing = await store.query<PolicyVersionRow>(
    `select ${COLUMNS} from policy_versions where hash = $1 order by id desc limit 1`,
    [analysis.hash],
  );
  if (existing[0]) {
    let row = existing[0];
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
    activate: false,
  });
  await audit(store, actor, 'policy.publish', version, {});
  if (!request.activate) return { kind: 'published', version, activated: false };
  const activated = await activatePolicy(store, version.id, actor, 'publish');
  return { kind: 'published', version: activated, activated: true };
}

async function audit(
  store: Store | { query: Store['query'] },
  actor: Actor,
  action: string,
  row: PolicyVersionRow,
  detail: Record<string, unknown>,
): Promise<void> {
  await store.query(
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

/**
 * Makes version `id` the active one. The previous active version is retired and the audit
 * entry written in the same transaction: either all of it happens or none of it does.
 * Activating an older version is a rollback, and is recorded as one.
 */
export async function activatePolicy(
  store: Store,
  id: number,
  actor: Actor = LOCAL_ACTOR,
  reason: string | null = null,
): Promise<PolicyVersionRow> {
  return store.transaction(async (client) => {
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
      `update policy_versions set status = 'active', activated_at = now() where id = $1 returning ${COLUMNS}`,
      [id],
    );
    const row = updated.rows[0];
    const rollback = previousId !== null && id < previousId;
    await audit(
      { query: async (text, params) => (await client.query(text, params)).rows },
      actor,
      rollback ? 'policy.rollback' : 'policy.activate',
      row,
      { previous: previousId, ...(reason ? { reason } : {}) },
    );
    return row;
  });
}

/** The history, newest first. */
export async function policyLog(store: Store): Promise<PolicyVersionRow[]> {
  return store.query<PolicyVersionRow>(`select ${COLUMNS} from policy_versions order by id desc`);
}
