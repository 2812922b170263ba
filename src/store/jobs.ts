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

/**
 * Takes up to `limit` people marked by ingest, each with every row queued for them up to
 * `throughSeq` (all, when null); of concurrent takes, each row goes to one. A busy person is
 * queued once per ingest batch: a round takes them once however long its backlog, where a
 * take by queue rows evaluated them once per few thousand rows. Fewer than `limit` people
 * back means the queue is empty (up to `throughSeq`).
 */
export async function takeDirtyPeople(
  db: Queryable,
  limit: number,
  throughSeq?: string | null,
): Promise<string[]> {
  const rows = await db.query<{ person_id: string }>(
    `with taken as (
       delete from enforcement_dirty
        where ($2::bigint is null or seq <= $2::bigint)
          and person_id = any(array(
            select distinct person_id from enforcement_dirty
             where $2::bigint is null or seq <= $2::bigint
             order by person_id limit $1))
       returning person_id)
     select distinct person_id from taken order by person_id`,
    [limit, throughSeq ?? null],
  );
  return rows.map((r) => r.person_id);
}

/**
 * Vacuums the queues that ingest appends to and the workers empty (people to re-evaluate,
 * cost deltas). Every row in them is dead within seconds, and a take or fold reads the dead
 * rows too until a vacuum frees them: autovacuum runs a minute apart at best, and not at
 * all where it is off, so under sustained ingest each budget pass read millions of them.
 */
export async function vacuumQueues(db: Queryable): Promise<void> {
  await db.query('vacuum (analyze, truncate false) enforcement_dirty, enforcement_cost_deltas');
}

/** The newest queue position, or null when the queue is empty: a drain round's end. */
export async function lastDirtySeq(db: Queryable): Promise<string | null> {
  const rows = await db.query<{ seq: string | null }>(
    'select max(seq)::text as seq from enforcement_dirty',
  );
  return rows[0]?.seq ?? null;
}

/** Puts people back (their evaluation failed); they are retried on the next drain. */
export async function markDirty(db: Queryable, people: readonly string[]): Promise<void> {
  if (people.length === 0) return;
  await db.query('insert into enforcement_dirty (person_id) select unnest($1::text[])', [
    [...people],
  ]);
}
