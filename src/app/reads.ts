// The read side's services for one store: the usage reader, the org evaluation cache, and
// the active policy (src/app/active-policy.ts), whose one small statement returns both the
// active hash and the change watermark, so a cached leaderboard costs one round trip.

import { OrgEvaluationCache } from '../engine/cache.ts';
import { previousClock } from '../engine/leaderboard.ts';
import type { UsageReader } from '../engine/ports.ts';
import type { Store } from '../store/db.ts';
import { usageReader } from '../store/usage-reader.ts';
import { type ActivePolicy, activePolicyFor } from './active-policy.ts';
import { perStore } from './per-store.ts';

export type ReadService = {
  reader: UsageReader;
  cache: OrgEvaluationCache;
  /** The active rule set and the current watermark, or null when no policy is active. */
  active(): Promise<ActivePolicy | null>;
  /** The server clock (shared with enforcement, so tests can move time). */
  now(): Date;
};

export const readServiceFor = perStore(createReadService);

function createReadService(store: Store): ReadService {
  const reader = usageReader(store);
  const cache = new OrgEvaluationCache(reader);
  const policy = activePolicyFor(store);
  return { reader, cache, now: () => policy.now(), active: () => policy.current() };
}

/**
 * Evaluates the active policy's boards, at now and at each board's previous window, into
 * the cache: on a large organisation the first board after a start otherwise waits seconds
 * for these. A request made meanwhile joins the same load. Returns the boards warmed.
 */
export async function warmLeaderboards(store: Store): Promise<number> {
  const service = readServiceFor(store);
  const active = await service.active();
  if (!active) return 0;
  const { ruleSet, watermark } = active;
  const boards = Object.keys(ruleSet.ir.leaderboards);
  const now = service.now();
  const clocks = new Map([[now.getTime(), now]]);
  for (const board of boards) {
    const previous = previousClock(ruleSet, board, now);
    clocks.set(previous.getTime(), previous);
  }
  await Promise.all(
    [...clocks.values()].map((clock) => service.cache.current(ruleSet, clock, watermark, 'boards')),
  );
  return boards.length;
}
