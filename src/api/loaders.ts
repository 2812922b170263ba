// The read side's services for one store: the usage reader, the org evaluation cache, and
// the active rule set (rebuilt only when the active policy's hash changes). Reads start
// with one small statement that returns both the active hash and the change watermark, so
// a cached leaderboard costs one round trip.
import { OrgEvaluationCache } from '../engine/cache.ts';
import { previousClock } from '../engine/leaderboard.ts';
import type { UsageReader } from '../engine/ports.ts';
import { buildRuleSet, type RuleSet } from '../policy/compile/index.ts';
import type { RuleSetIR } from '../policy/ir.ts';
import type { Store } from '../store/db.ts';
import { usageReader } from '../store/usage-reader.ts';
import type { Context } from './context.ts';
import { enforcementFor } from './enforcement.ts';

export type ActivePolicy = { ruleSet: RuleSet; version: string | null; watermark: string };

export type ReadService = {
  reader: UsageReader;
  cache: OrgEvaluationCache;
  /** The active rule set and the current watermark, or null when no policy is active. */
  active(): Promise<ActivePolicy | null>;
  /** The server clock (shared with enforcement, so tests can move time). */
  now(): Date;
};

const services = new WeakMap<Store, ReadService>();

export function readServiceFor(store: Store): ReadService {
  let service = services.get(store);
  if (!service) {
    service = createReadService(store);
    services.set(store, service);
  }
  return service;
}

export function readService(ctx: Context): ReadService {
  return readServiceFor(ctx.store);
}

function createReadService(store: Store): ReadService {
  const reader = usageReader(store);
  const cache = new OrgEvaluationCache(reader);
  let current: { hash: string; version: string | null; ruleSet: RuleSet } | null = null;
  return {
    reader,
    cache,
    now: () => enforcementFor(store).now(),
    async active() {
      const rows = await store.query<{ id: number; hash: string | null; watermark: string }>(
        `select v.id, v.hash, (select coalesce(sum(n), 0)::text from engine_change_counters) as watermark
           from (select 1) one left join policy_versions v on v.status = 'active'`,
      );
      const row = rows[0];
      if (!row?.hash) return null;
      if (current?.hash !== row.hash) {
        const found = await store.query<{ version: string; ir: RuleSetIR }>(
          'select version, ir from policy_versions where id = $1',
          [row.id],
        );
        if (!found[0]) return null;
        current = { hash: row.hash, version: found[0].version, ruleSet: buildRuleSet(found[0].ir) };
      }
      return { ruleSet: current.ruleSet, version: current.version, watermark: row.watermark };
    },
  };
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
