// The read side's services for one store: the usage reader, the org evaluation cache, and
// the active policy (src/app/active-policy.ts), whose one small statement returns both the
// active hash and the change watermark, so a cached leaderboard costs one round trip.

import { OrgEvaluationCache } from '../engine/cache.ts';
import type { DataMarks, UsageReader } from '../engine/ports.ts';
import type { Store } from '../store/db.ts';
import { usageReader } from '../store/usage-reader.ts';
import { type ActivePolicy, activePolicyFor } from './active-policy.ts';
import { boardSnapshotsFor } from './board-snapshots.ts';
import { perStore } from './per-store.ts';

export type ReadService = {
  reader: UsageReader;
  cache: OrgEvaluationCache;
  /** The active rule set and the current watermark, or null when no policy is active. */
  active(): Promise<ActivePolicy | null>;
  /**
   * The watermark's parts per period as of `active.watermark` or later: what boards
   * evaluations key on (OrgEvaluationCache.keyOf). Read again only when the watermark moved.
   */
  marks(active: ActivePolicy): Promise<DataMarks>;
  /** The server clock (shared with enforcement, so tests can move time). */
  now(): Date;
};

export const readServiceFor = perStore(createReadService);

function createReadService(store: Store): ReadService {
  const reader = usageReader(store);
  const snapshots = boardSnapshotsFor(store);
  const cache = new OrgEvaluationCache(reader, {
    onEvaluated: (loaded) => snapshots.evaluated(loaded),
  });
  const policy = activePolicyFor(store);
  // every change to a period moves the whole watermark: the same whole, the same parts
  let last: DataMarks | null = null;
  const marks = async (active: ActivePolicy) => {
    if (last && BigInt(last.total) >= BigInt(active.watermark)) return last;
    const read = await reader.marks();
    if (!last || BigInt(read.total) >= BigInt(last.total)) last = read;
    return read;
  };
  // a newly active version: the old one's evaluations go before the new one's loads
  let activeHash: string | null = null;
  const active = async () => {
    const found = await policy.current();
    if (found && found.hash !== activeHash) {
      if (activeHash !== null) cache.retainPolicy(found.hash);
      activeHash = found.hash;
    }
    return found;
  };
  return { reader, cache, now: () => policy.now(), active, marks };
}
