// The holds table (src/engine/holds.ts): replaced per evaluated subject and source (rule
// holds by re-evaluation and the sweep, budget holds by the budget pass), read by the quota
// snapshot statement.
import type { SubjectRef } from '../engine/escalations.ts';
import type { Hold } from '../engine/holds.ts';
import type { Store } from './db.ts';
import type { Queryable } from './sql-text.ts';

/**
 * Replaces the `source` holds (budget or rule) of the evaluated subjects with `holds`, in
 * one transaction; with `all`, every subject was evaluated (the sweep) and every other hold
 * of that source goes too.
 */
export async function replaceHolds(
  store: Store,
  source: Hold['source'],
  evaluated: readonly SubjectRef[] | 'all',
  holds: readonly Hold[],
): Promise<void> {
  await store.transaction((client) =>
    writeHolds(
      { query: async (text, params) => (await client.query(text, params)).rows },
      source,
      evaluated,
      holds,
    ),
  );
}

/** replaceHolds inside the caller's transaction. */
export async function writeHolds(
  db: Queryable,
  source: Hold['source'],
  evaluated: readonly SubjectRef[] | 'all',
  holds: readonly Hold[],
): Promise<void> {
  const rows = holds
    .filter((h) => h.source === source)
    .map((h) => ({
      subject_kind: h.subject.kind,
      subject_id: h.subject.id,
      key: h.key,
      source: h.source,
      name: h.name,
      environment: h.environment,
      project: h.project,
      threshold: h.threshold,
      observed: h.observed,
      action: h.action,
      period_end: h.periodEnd,
      policy_hash: h.policyHash,
    }));
  if (evaluated === 'all')
    await db.query('delete from enforcement_holds where source = $1', [source]);
  else if (evaluated.length > 0)
    await db.query(
      `delete from enforcement_holds h using unnest($2::text[], $3::text[]) as s(kind, id)
        where h.source = $1 and h.subject_kind = s.kind and h.subject_id = s.id`,
      [source, evaluated.map((s) => s.kind), evaluated.map((s) => s.id)],
    );
  if (rows.length === 0) return;
  await db.query(
    `insert into enforcement_holds (subject_kind, subject_id, key, source, name, environment,
            project, threshold, observed, action, period_end, policy_hash, updated_at)
     select subject_kind, subject_id, key, source, name, environment, project, threshold,
            observed, action, period_end, policy_hash, now()
       from jsonb_to_recordset($1::jsonb) as x(subject_kind text, subject_id text, key text,
            source text, name text, environment text, project text, threshold numeric,
            observed numeric, action jsonb, period_end timestamptz, policy_hash text)
     on conflict (subject_kind, subject_id, key) do update set
            observed = excluded.observed, action = excluded.action,
            period_end = excluded.period_end, policy_hash = excluded.policy_hash,
            updated_at = now()`,
    [JSON.stringify(rows)],
  );
}

/** Every hold, for tests and `quotient explain`. */
export async function listHolds(store: Pick<Store, 'query'>): Promise<Hold[]> {
  const rows = await store.query<{
    subject_kind: SubjectRef['kind'];
    subject_id: string;
    key: string;
    source: Hold['source'];
    name: string;
    environment: string | null;
    project: string | null;
    threshold: string | null;
    observed: string | null;
    action: Hold['action'];
    period_end: Date;
    policy_hash: string;
  }>('select * from enforcement_holds order by key');
  return rows.map((r) => ({
    subject: { kind: r.subject_kind, id: r.subject_id },
    key: r.key,
    source: r.source,
    name: r.name,
    environment: r.environment,
    project: r.project,
    threshold: r.threshold === null ? null : Number(r.threshold),
    observed: r.observed === null ? null : Number(r.observed),
    action: r.action,
    periodEnd: new Date(r.period_end).toISOString(),
    policyHash: r.policy_hash,
  }));
}
