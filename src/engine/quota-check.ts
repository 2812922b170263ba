// checkQuota without a full evaluation. The rule set is cut down to what a quota answer
// needs (tier assignment and the tier's period tokens); the store sums exactly those
// windows for one person in one indexed query, with the holds that re-evaluation keeps for
// budgets and rules; the pure evaluator then assigns the tier and measures the quota, and
// decideRequest weighs it with the holds. Same evaluator as
// everywhere else, so checkQuota and `quota(person)` can never disagree.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate, quotaStateOf } from '../policy/evaluate/index.ts';
import type { FactsByWindow, QuotaState, TierAssignment } from '../policy/evaluate/types.ts';
import { priceTable } from '../policy/ir.ts';
import { costPico, type PriceTable, picoToDecimal, resolveModel } from '../policy/price.ts';
import { decideRequest, type RequestDecision, type RequestDecisionInput } from './decision.ts';
import { factWindows, personAttributes, teamAttributes } from './facts.ts';
import type { HoldState } from './holds.ts';
import type { DirectoryPerson, DirectoryTeam, FactWindow } from './ports.ts';

/** What the store reads for one person in one round trip. */
export type QuotaSnapshot = {
  /** the active policy's hash, to notice a policy change */
  policyHash: string | null;
  person: DirectoryPerson | null;
  team: DirectoryTeam | null;
  facts: FactsByWindow;
  /** extra tokens of approved, unexpired exceptions */
  exceptionTokens: number;
  /** quota steps already justified or approved: threshold and period start */
  satisfied: { threshold: number; periodStart: string }[];
  /** budget and rule holds on the person, their team and the organisation */
  holds: HoldState[];
};

/**
 * A person's rows as the store read them, before `now` is applied: token exceptions with
 * their expiry and satisfied steps with their period end (epoch ms), unexpired when read.
 */
export type QuotaInputs = Omit<QuotaSnapshot, 'exceptionTokens' | 'satisfied' | 'holds'> & {
  exceptions: { extraTokens: number; expiresAt: number }[];
  satisfied: { threshold: number; periodStart: string; periodEnd: number }[];
};

/**
 * The snapshot of these rows at `now` (at or after they were read): what has expired since
 * is left out, exactly as the store's filters leave it out of a fresh read.
 */
export function snapshotAt(
  inputs: QuotaInputs,
  holds: readonly HoldState[],
  now: Date,
): QuotaSnapshot {
  const at = now.getTime();
  let exceptionTokens = 0;
  for (const e of inputs.exceptions) if (e.expiresAt > at) exceptionTokens += e.extraTokens;
  return {
    policyHash: inputs.policyHash,
    person: inputs.person,
    team: inputs.team,
    facts: inputs.facts,
    exceptionTokens,
    satisfied: inputs.satisfied
      .filter((s) => s.periodEnd > at)
      .map((s) => ({ threshold: s.threshold, periodStart: s.periodStart })),
    // in key order, whatever order they were read in
    holds: holds
      .filter((h) => Date.parse(h.periodEnd) > at)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

export type QuotaPlan = {
  ruleSet: RuleSet;
  /** windows to sum at `now` (whole local days; sub-day windows read raw events) */
  windows(now: Date): FactWindow[];
  /** relative price of each class: the cheapest model in it, input + output per 1M tokens */
  classPrices: Record<string, number>;
};

const plans = new WeakMap<RuleSet, QuotaPlan>();

/** The quota-only view of a rule set (cached per rule set). */
export function quotaPlan(rs: RuleSet): QuotaPlan {
  const cached = plans.get(rs);
  if (cached) return cached;
  const person = new Map<string, Set<string>>();
  const need = (window: string, fact: string) => {
    const set = person.get(window) ?? new Set<string>();
    set.add(fact);
    person.set(window, set);
  };
  for (const a of rs.assignments) for (const f of a.when?.facts ?? []) need(f.window, f.name);
  for (const t of Object.values(rs.tiers)) need(t.period, 'tokens');
  const ruleSet: RuleSet = {
    ...rs,
    boards: [],
    rules: [],
    budgets: [],
    metricReports: { person: [], team: [] },
    required: { person, team: new Map(), org: new Map() },
    requiredBy: {
      boards: { person: new Map(), team: new Map(), org: new Map() },
      escalations: { person, team: new Map(), org: new Map() },
    },
  };
  const classPrices: Record<string, number> = {};
  for (const m of Object.values(rs.ir.models)) {
    const price = m.input + m.output;
    if (classPrices[m.class] === undefined || price < classPrices[m.class])
      classPrices[m.class] = price;
  }
  // windows move only at local midnight, which falls on a whole minute in every zone
  let memo: { minute: number; windows: FactWindow[] } | null = null;
  const plan: QuotaPlan = {
    ruleSet,
    windows: (now) => {
      const minute = Math.floor(now.getTime() / 60_000);
      if (memo?.minute === minute) return memo.windows;
      const windows = factWindows(person, now, rs.ir.timezone);
      // sub-day windows end at `now` exactly: those are never reused
      memo = windows.every((w) => w.kind === 'days') ? { minute, windows } : null;
      return windows;
    },
    classPrices,
  };
  plans.set(rs, plan);
  return plan;
}

export type CheckQuotaRequest = {
  personId: string;
  /** null: the request names no model (no class check, no cost estimate) */
  model: string | null;
  /** input plus expected output tokens: what the quota counts */
  estimatedTokens: number;
  /** the request's input tokens: what request limits weigh (default: estimatedTokens) */
  inputTokens?: number | null;
  /** production or sandbox: environment-scoped budgets hold only their environment */
  environment?: string | null;
  /** the request's project: project budgets hold only their project */
  project?: string | null;
};

export type CheckQuotaResult = RequestDecision & {
  person: string;
  model: string | null;
  modelClass: string | null;
  estimatedTokens: number;
  inputTokens: number;
  /**
   * the request's cost at the model's list price, as an exact decimal in `currency` (input
   * tokens at the input rate, the rest of the estimate at the output rate); null without a
   * priced model
   */
  estimatedCost: string | null;
  currency: string;
  quota: QuotaState | null;
  exceptionTokens: number;
  policyHash: string;
};

/**
 * The tier the policy assigns the person from a snapshot taken with `plan.windows(now)`
 * (null: none): the costly part of a check, the same for every check over the same windows.
 */
export function tierOfSnapshot(
  rs: RuleSet,
  snapshot: QuotaSnapshot,
  personId: string,
  now: Date,
): TierAssignment | null {
  const plan = quotaPlan(rs);
  const person = snapshot.person;
  const subjects: Parameters<typeof evaluate>[1]['subjects'] = [
    {
      kind: 'person',
      id: personId,
      attributes: person ? personAttributes(person) : { opted_in: false, from_directory: false },
      facts: snapshot.facts,
    },
  ];
  if (snapshot.team)
    subjects.push({
      kind: 'team',
      id: snapshot.team.id,
      attributes: teamAttributes(snapshot.team),
      facts: {},
    });
  const result = evaluate(plan.ruleSet, { now, subjects });
  const subject = result.subjects.find((s) => s.kind === 'person');
  if (!subject) {
    const why = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new Error(`quota evaluation of ${personId} failed: ${why}`);
  }
  return subject.tier;
}

/**
 * The answer for one request, from a snapshot taken with `plan.windows(now)` and the tier
 * assigned from it (tierOfSnapshot, which a caller may have kept from an earlier check),
 * and the tier's quota state at `now` (quotaStateOf; a caller may have kept it too).
 */
export function checkQuotaWith(
  rs: RuleSet,
  snapshot: QuotaSnapshot,
  request: CheckQuotaRequest,
  now: Date,
  tier: TierAssignment | null = tierOfSnapshot(rs, snapshot, request.personId, now),
  quotaState?: QuotaState | null,
): CheckQuotaResult {
  const plan = quotaPlan(rs);
  // a provider's name (dated, prefixed) has the class of the declared model it matches
  const prices = priceTable(rs.ir);
  const declared = request.model === null ? null : resolveModel(prices, request.model);
  const modelClass = declared === null ? null : (rs.ir.models[declared]?.class ?? null);
  const quota =
    quotaState === undefined ? tier && quotaStateOf(rs, tier, snapshot.facts, now) : quotaState;
  const inputTokens = request.inputTokens ?? request.estimatedTokens;
  const satisfied =
    snapshot.satisfied.length === 0 || quota === null
      ? NONE_SATISFIED
      : new Set(
          snapshot.satisfied
            .filter(
              (s) => new Date(s.periodStart).getTime() === new Date(quota.periodStart).getTime(),
            )
            .map((s) => s.threshold),
        );
  const input: RequestDecisionInput = {
    quota: quota && {
      tier: quota.tier,
      limit: quota.limit,
      used: quota.used,
      allowedClasses: quota.allowedClasses,
    },
    ladder: rs.ladders.quota ?? null,
    exceptionTokens: snapshot.exceptionTokens,
    estimatedTokens: request.estimatedTokens,
    modelClass,
    classPrices: plan.classPrices,
    satisfied,
    holds:
      snapshot.holds.length === 0
        ? snapshot.holds
        : snapshot.holds.filter((h) => h.policyHash === rs.hash),
    environment: request.environment ?? null,
    project: request.project ?? null,
    noModel: request.model === null,
    requestLimits: rs.ir.requestLimits,
    inputTokens,
  };
  const d = decideRequest(input);
  // every field by name, not two spreads: one object shape per answer
  return {
    person: request.personId,
    model: request.model,
    modelClass,
    estimatedTokens: request.estimatedTokens,
    inputTokens,
    estimatedCost: costEstimate(prices, request.model, inputTokens, request.estimatedTokens),
    currency: rs.ir.currency,
    quota,
    exceptionTokens: snapshot.exceptionTokens,
    policyHash: rs.hash,
    decision: d.decision,
    reason: d.reason,
    band: d.band,
    effectiveLimit: d.effectiveLimit,
    percentAfter: d.percentAfter,
    remainingAfter: d.remainingAfter,
    step: d.step,
    notice: d.notice,
    approver: d.approver,
    cheaperClass: d.cheaperClass,
    classAllowed: d.classAllowed,
    binding: d.binding,
    constraints: d.constraints,
    next: d.next,
  };
}

/** No satisfied step: shared by checks (decideQuota only reads it). */
const NONE_SATISFIED: ReadonlySet<number> = new Set();

/** The list-price cost of a request, exact (pico-units to a decimal); null for no price. */
function costEstimate(
  prices: PriceTable,
  model: string | null,
  inputTokens: number,
  estimatedTokens: number,
): string | null {
  if (model === null) return null;
  const pico = costPico(prices, model, {
    inputTokens: Math.max(0, inputTokens),
    outputTokens: Math.max(0, estimatedTokens - inputTokens),
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    requests: 1,
  });
  return pico === null ? null : picoToDecimal(pico);
}
