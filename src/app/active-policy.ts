// The active policy of one store, and the clock every use case reads: the single place that
// looks up which version is active. The rule set is rebuilt only when the active hash
// changes; tests move the clock instead of sleeping.
import { buildRuleSet, type RuleSet } from '../policy/compile/index.ts';
import type { RuleSetIR } from '../policy/ir.ts';
import type { Store } from '../store/db.ts';
import { activePolicyHead, policyIrById } from '../store/policies.ts';
import { NoActivePolicyError } from './errors.ts';
import { perStore } from './per-store.ts';

export type Clock = () => Date;

export type ActivePolicy = {
  ruleSet: RuleSet;
  version: string | null;
  hash: string;
  /** changes whenever anything the engine reads changes; caches key on it */
  watermark: string;
};

export type ActivePolicyService = {
  now(): Date;
  setClock(clock: Clock): void;
  /** The active policy as of now (one small statement), or null when none is active. */
  current(): Promise<ActivePolicy | null>;
  /** As current(), but a missing policy is the NO_ACTIVE_POLICY domain error. */
  require(): Promise<ActivePolicy>;
  /** The rule set last seen active, without a database read (the quota hot path checks its hash). */
  lastKnown(): RuleSet | null;
};

export const activePolicyFor = perStore(createActivePolicy);

const built = new Map<string, RuleSet>();

/** One compiled rule set per policy hash, shared by every store in the process. */
export function ruleSetFor(hash: string, ir: RuleSetIR): RuleSet {
  let rs = built.get(hash);
  if (!rs) {
    rs = buildRuleSet(ir);
    if (built.size > 16) built.clear();
    built.set(hash, rs);
  }
  return rs;
}

function createActivePolicy(
  store: Store,
  initialClock: Clock = () => new Date(),
): ActivePolicyService {
  let clock = initialClock;
  let known: { hash: string; version: string | null; ruleSet: RuleSet } | null = null;
  const service: ActivePolicyService = {
    now: () => clock(),
    setClock(next) {
      clock = next;
    },
    async current() {
      const head = await activePolicyHead(store);
      if (!head) {
        known = null;
        return null;
      }
      if (known?.hash !== head.hash) {
        const found = await policyIrById(store, head.id);
        if (!found) return null;
        known = {
          hash: head.hash,
          version: found.version,
          ruleSet: ruleSetFor(head.hash, found.ir),
        };
      }
      return { ...known, watermark: head.watermark };
    },
    async require() {
      const active = await service.current();
      if (!active) throw new NoActivePolicyError();
      return active;
    },
    lastKnown: () => known?.ruleSet ?? null,
  };
  return service;
}
