// One pull of a source at a time, so two pulls (`quotient pull` twice, or the schedule in
// `quotient serve` and a command) never interleave their pages and cursor moves.
//
// On a PostgreSQL server: a session advisory lock per source, taken with
// pg_try_advisory_lock on a connection held for the pull and released after it (or by the
// server when the process dies). The embedded PGlite database is one session shared by
// every connection, so an advisory lock there is re-entrant and excludes nothing (checked:
// a second pg_try_advisory_lock in it returns true); but only one process may open an
// embedded data directory, so a lock inside the process is enough there.
import type { Store } from '../db.ts';
import { PullError } from './http.ts';

/** The first key of the two-key advisory lock: pulls, apart from other advisory locks. */
const PULL_LOCK_CLASS = 0x7075_6c6c; // "pull"

export class PullBusyError extends PullError {}

const runningHere = new WeakMap<Store, Set<string>>();

function busy(source: string): PullBusyError {
  return new PullBusyError(
    `a pull of ${source} is already running (another quotient pull, or the schedule in quotient serve); this one did nothing: run it again when that one has finished`,
  );
}

/** Runs `work` holding the pull lock of `source`; throws PullBusyError at once when it is held. */
export async function withPullLock<T>(
  store: Store,
  source: string,
  work: () => Promise<T>,
): Promise<T> {
  let here = runningHere.get(store);
  if (!here) {
    here = new Set();
    runningHere.set(store, here);
  }
  if (here.has(source)) throw busy(source);
  here.add(source);
  try {
    if (store.embedded) return await work();
    const client = await store.pool.connect();
    let broken: Error | undefined;
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'select pg_try_advisory_lock($1, hashtext($2)) as locked',
        [PULL_LOCK_CLASS, source],
      );
      if (!rows[0].locked) throw busy(source);
      try {
        return await work();
      } finally {
        await client
          .query('select pg_advisory_unlock($1, hashtext($2))', [PULL_LOCK_CLASS, source])
          .catch((error: Error) => {
            // a connection that cannot unlock is closed, which frees the lock
            broken = error;
          });
      }
    } finally {
      client.release(broken);
    }
  } finally {
    here.delete(source);
  }
}
