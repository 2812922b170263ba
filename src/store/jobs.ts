// Job leases (one sweeper among instances) and the queue of people touched by ingest.
import type { Queryable } from './sql-text.ts';

/**
 * Takes the named lease if it is free or expired: one conditional UPDATE, so of N
 * instances trying at once exactly one wins. Leases use the database clock.
 */
export async function tryLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  await db.query('insert into job_leases (name) values ($1) on conflict (name) do nothing', [name]);
  const rows = await db.query(
    `update job_leases set holder = $2,
            locked_until = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
      where name = $1 and (locked_until is null or locked_until < clock_timestamp() or holder = $2)
      returning name`,
    [name, holder, ttlMs],
  );
  return rows.length === 1;
}

export async function releaseLease(
  db: Queryable,
  name: string,
  holder: string,
  result: unknown,
): Promise<void> {
  await db.query(
    `update job_leases set locked_until = null, last_run_at = clock_timestamp(), last_result = $3
      where name = $1 and holder = $2`,
    [name, holder, JSON.stringify(result ?? null)],
  );
}

/** Takes up to `limit` people marked by ingest; concurrent workers take disjoint sets. */
export async function takeDirtyPeople(
  db: Queryable,
  limit: number,
  throughSeq?: string | null,
): Promise<string[]> {
  // The queue is append-only: a busy person is queued once per ingest batch that touched
  // them. One take removes up to QUEUE_ROWS_PER_PERSON rows per wanted person, so a backlog
  // of repeats collapses into one evaluation each; fewer than `limit` people back means
  // the queue is empty (up to `throughSeq`, when given).
  const rows = await db.query<{ person_id: string }>(
    `delete from enforcement_dirty where seq in (
       select seq from enforcement_dirty where $2::bigint is null or seq <= $2::bigint
        order by seq limit $1 for update skip locked)
     returning person_id`,
    [limit * QUEUE_ROWS_PER_PERSON, throughSeq ?? null],
  );
  return [...new Set(rows.map((r) => r.person_id))].sort();
}

/** The newest queue position, or null when the queue is empty: a drain round's end. */
export async function lastDirtySeq(db: Queryable): Promise<string | null> {
  const rows = await db.query<{ seq: string | null }>(
    'select max(seq)::text as seq from enforcement_dirty',
  );
  return rows[0]?.seq ?? null;
}

const QUEUE_ROWS_PER_PERSON = 20;

/** Puts people back (their evaluation failed); they are retried on the next drain. */
export async function markDirty(db: Queryable, people: readonly string[]): Promise<void> {
  if (people.length === 0) return;
  await db.query('insert into enforcement_dirty (person_id) select unnest($1::text[])', [
    [...people],
  ]);
}
