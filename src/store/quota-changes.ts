// The quota change log (migration 20261207035000): which people, teams and whether the org
// or the active policy changed since a reader's previous read. The quota cache reads it.
import type { Queryable } from './sql-text.ts';

export type QuotaChanges = {
  /** the snapshot this read saw: pass it to the next read */
  snapshot: string;
  /** people whose rollups, directory entry, exceptions or own escalations changed */
  people: Set<string>;
  /** teams whose directory entry changed (their members are to be read again) */
  teams: Set<string>;
  /** subjects whose holds or escalations changed (their holds are to be read again) */
  holders: { kind: 'person' | 'team' | 'org'; id: string }[];
  /** a policy version was published, activated or retired */
  policy: boolean;
};

type ChangeRow = {
  source: string;
  people: string[] | null;
  teams: string[] | null;
  org: boolean;
  policy: boolean;
};

/** Sources whose subjects' holds (or the escalations the holds show) changed. */
const HOLD_SOURCES = new Set(['enforcement_holds', 'escalations']);

/**
 * Every change committed after the snapshot `since` was taken and before this read (all
 * of them as changed when `since` is null: the caller starts afresh). A transaction that
 * began before `since` and committed after it is not visible in `since`, so it is read now.
 */
export async function readQuotaChanges(db: Queryable, since: string | null): Promise<QuotaChanges> {
  const [row] = await db.query<{ snapshot: string; changes: ChangeRow[] | null }>(
    `select pg_current_snapshot()::text as snapshot,
            (select json_agg(json_build_object('source', source, 'people', people,
                      'teams', teams, 'org', org, 'policy', policy))
               from quota_changes
              where $1::pg_snapshot is not null
                and tx >= pg_snapshot_xmin($1::pg_snapshot)
                and not pg_visible_in_snapshot(tx, $1::pg_snapshot)) as changes`,
    [since],
  );
  const changes: QuotaChanges = {
    snapshot: row.snapshot,
    people: new Set(),
    teams: new Set(),
    holders: [],
    policy: false,
  };
  const holders = new Set<string>();
  for (const c of row.changes ?? []) {
    if (c.policy) changes.policy = true;
    // a person's own escalations hold their satisfied quota steps too
    if (c.source !== 'enforcement_holds') for (const id of c.people ?? []) changes.people.add(id);
    if (!HOLD_SOURCES.has(c.source)) {
      for (const id of c.teams ?? []) changes.teams.add(id);
      continue;
    }
    for (const id of c.people ?? []) holders.add(`person\u0000${id}`);
    for (const id of c.teams ?? []) holders.add(`team\u0000${id}`);
    if (c.org) holders.add('org\u0000org');
  }
  for (const key of holders) {
    const [kind, id] = key.split('\u0000') as ['person' | 'team' | 'org', string];
    changes.holders.push({ kind, id });
  }
  return changes;
}

/** Drops log rows older than `olderThanMs` (every reader reads far more often than that). */
export async function pruneQuotaChanges(db: Queryable, olderThanMs: number): Promise<void> {
  await db.query(
    `delete from quota_changes where at < clock_timestamp() - $1::int * interval '1 millisecond'`,
    [olderThanMs],
  );
}
