// Monthly range partitions of usage_events: created on demand for every month an import
// touches, and dropped whole by retention.
import type { Store } from './db.ts';

const known = new WeakMap<Store, Set<string>>();

/** "2026_10" for a UTC timestamp in October 2026. */
export function monthKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const DAY_MS = 86_400_000;

/** The distinct month keys of many instants (one Date per distinct day, not per instant). */
export function monthKeysOf(instants: Iterable<number>): string[] {
  const days = new Set<number>();
  for (const ms of instants) days.add(Math.floor(ms / DAY_MS));
  return [...new Set([...days].map((day) => monthKey(day * DAY_MS)))];
}

function monthBounds(key: string): { from: string; to: string } {
  const [year, month] = key.split('_').map(Number);
  const from = new Date(Date.UTC(year, month - 1, 1)).toISOString();
  const to = new Date(Date.UTC(year, month, 1)).toISOString();
  return { from, to };
}

export type UsagePartition = { name: string; from: Date; to: Date };

/** The usage_events partitions that exist, oldest first. */
export async function listUsagePartitions(store: Store): Promise<UsagePartition[]> {
  const rows = await store.query<{ name: string; bound: string }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
       from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       join pg_class p on p.oid = i.inhparent
      where p.relname = 'usage_events' and p.relnamespace = current_schema()::regnamespace
      order by c.relname`,
  );
  return rows.map((row) => {
    const [from, to] = [...row.bound.matchAll(/'([^']+)'/g)].map((m) => new Date(m[1]));
    return { name: row.name, from, to };
  });
}

/**
 * Creates the partitions for the given month keys if missing. Runs in its own short
 * transaction (call it outside any open transaction); an advisory lock serialises
 * concurrent importers.
 */
export async function ensureMonthPartitions(store: Store, months: Iterable<string>): Promise<void> {
  let cache = known.get(store);
  if (!cache) {
    cache = new Set(
      (await listUsagePartitions(store)).map((p) => p.name.replace('usage_events_', '')),
    );
    known.set(store, cache);
  }
  const missing = [...new Set(months)].filter((m) => !cache.has(m)).sort();
  if (missing.length === 0) return;
  await store.transaction(async (client) => {
    await client.query(
      "select pg_advisory_xact_lock(hashtext('quotient.usage_events.partitions'))",
    );
    for (const key of missing) {
      if (!/^\d{4}_\d{2}$/.test(key)) throw new Error(`bad partition key ${key}`);
      const { from, to } = monthBounds(key);
      await client.query(
        `create table if not exists usage_events_${key} partition of usage_events
           for values from ('${from}') to ('${to}')`,
      );
    }
  });
  for (const key of missing) cache.add(key);
}

/** Forget cached partition names (after retention drops some). */
export function forgetPartitions(store: Store): void {
  known.delete(store);
}

/** Parses "13mo", "90d", "2y", "6w" into a cut-off instant before `now`. */
export function cutoffFor(keep: string, now: Date = new Date()): Date {
  const match = /^(\d+)\s*(mo|d|w|y)$/.exec(keep.trim());
  if (!match)
    throw new RangeError(`--keep expects a duration like 13mo, 90d, 6w or 2y, got "${keep}"`);
  const n = Number(match[1]);
  const cut = new Date(now);
  if (match[2] === 'mo') cut.setUTCMonth(cut.getUTCMonth() - n);
  else if (match[2] === 'y') cut.setUTCFullYear(cut.getUTCFullYear() - n);
  else cut.setUTCDate(cut.getUTCDate() - n * (match[2] === 'w' ? 7 : 1));
  return cut;
}

/**
 * Drops every usage partition whose whole month ends on or before the cut-off. Rollups
 * and the id ledger stay, so the dropped months still count and cannot be re-imported
 * twice.
 */
export async function dropUsagePartitionsBefore(
  store: Store,
  cutoff: Date,
  options: { dryRun?: boolean } = {},
): Promise<UsagePartition[]> {
  const old = (await listUsagePartitions(store)).filter((p) => p.to.getTime() <= cutoff.getTime());
  if (!options.dryRun && old.length > 0) {
    await store.transaction(async (client) => {
      for (const partition of old) await client.query(`drop table ${partition.name}`);
    });
    forgetPartitions(store);
  }
  return old;
}
