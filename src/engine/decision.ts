// The quota decision a gateway asks for before each request. Pure: the caller supplies the
// usage so far, the ladder, active exceptions and the price of each class. The answer is
// the strongest `at` step that the usage *after* this request would reach, measured
// against the limit raised by approved exceptions.
import type { Ladder } from '../policy/compile/ruleset.ts';
import type { Band } from '../policy/evaluate/types.ts';
import type { IrStep } from '../policy/ir.ts';

export type Decision =
  | 'allow'
  | 'allow_with_notice'
  | 'require_justification'
  | 'require_approval'
  | 'block';

export type QuotaUsage = {
  tier: string;
  /** tier limit in tokens per period */
  limit: number;
  /** tokens used so far in the period */
  used: number;
  allowedClasses: readonly string[] | 'any';
};

export type DecisionInput = {
  quota: QuotaUsage;
  /** the quota ladder; null when the policy has none (then only 100% blocks) */
  ladder: Ladder | null;
  /** extra tokens from approved, unexpired exceptions (summed) */
  exceptionTokens: number;
  estimatedTokens: number;
  /** the requested model's class; null for a model the policy does not price */
  modelClass: string | null;
  /** relative price per class (e.g. micro-units per 1M tokens of the cheapest model in it) */
  classPrices: Readonly<Record<string, number>>;
  /** thresholds (percent) whose step was already satisfied this period (justified or approved) */
  satisfied?: ReadonlySet<number>;
};

export type QuotaDecision = {
  decision: Decision;
  reason: string;
  band: Band;
  /** the limit after exceptions */
  effectiveLimit: number;
  /** percent of the effective limit used once this request is counted */
  percentAfter: number;
  /** tokens left after this request (negative once over) */
  remainingAfter: number;
  /** the step that decided, if any */
  step: IrStep | null;
  /** the message the policy attaches to a notify step */
  notice: string | null;
  approver: string | null;
  /** a cheaper class the tier allows, when the requested one is not the cheapest */
  cheaperClass: string | null;
};

const RANK: Record<Decision, number> = {
  allow: 0,
  allow_with_notice: 1,
  require_justification: 2,
  require_approval: 3,
  block: 4,
};

function decisionOf(step: IrStep): Decision {
  switch (step.action.kind) {
    case 'notify':
      return 'allow_with_notice';
    case 'require_justification':
      return 'require_justification';
    case 'require_approval':
      return 'require_approval';
    case 'block':
      return 'block';
  }
}

/** Band rule of the README ("Policy meaning"), over the effective limit. */
export function bandFor(ladder: Ladder | null, percent: number): Band {
  const redFrom = ladder?.redFrom ?? 100;
  const yellowFrom = ladder?.yellowFrom ?? redFrom;
  return percent >= redFrom ? 'red' : percent >= yellowFrom ? 'yellow' : 'green';
}

/** The cheapest allowed class strictly cheaper than `current` (any class when current is unknown). */
export function cheaperClass(
  current: string | null,
  allowed: readonly string[] | 'any',
  classPrices: Readonly<Record<string, number>>,
): string | null {
  const currentPrice = current === null ? Number.POSITIVE_INFINITY : classPrices[current];
  if (currentPrice === undefined) return null;
  let best: string | null = null;
  for (const [name, price] of Object.entries(classPrices)) {
    if (allowed !== 'any' && !allowed.includes(name)) continue;
    if (price >= currentPrice) continue;
    if (best === null || price < classPrices[best] || (price === classPrices[best] && name < best))
      best = name;
  }
  return best;
}

const pct = (x: number) => `${Math.round(x * 10) / 10}%`;

export function decideQuota(input: DecisionInput): QuotaDecision {
  const { quota, ladder } = input;
  const effectiveLimit = quota.limit + Math.max(0, input.exceptionTokens);
  const after = quota.used + Math.max(0, input.estimatedTokens);
  const percentNow = effectiveLimit > 0 ? (quota.used / effectiveLimit) * 100 : 100;
  const percentAfter = effectiveLimit > 0 ? (after / effectiveLimit) * 100 : 100;
  const cheaper = cheaperClass(input.modelClass, quota.allowedClasses, input.classPrices);
  const base = {
    band: bandFor(ladder, percentNow),
    effectiveLimit,
    percentAfter,
    remainingAfter: effectiveLimit - after,
    cheaperClass: cheaper,
  };

  const classAllowed =
    quota.allowedClasses === 'any' ||
    (input.modelClass !== null && quota.allowedClasses.includes(input.modelClass));
  if (!classAllowed) {
    const allowed = quota.allowedClasses === 'any' ? 'any' : quota.allowedClasses.join(', ');
    return {
      ...base,
      decision: 'block',
      reason:
        input.modelClass === null
          ? `the model has no price or class in the active policy; tier ${quota.tier} allows ${allowed}`
          : `model class ${input.modelClass} is not allowed in tier ${quota.tier} (allowed: ${allowed})`,
      step: null,
      notice: null,
      approver: null,
    };
  }

  // the strongest step reached after this request; a satisfied step falls back to a notice
  let chosen: IrStep | null = null;
  let decision: Decision = 'allow';
  const steps = ladder?.at ?? [];
  for (const step of steps) {
    if (percentAfter < step.threshold) continue;
    let d = decisionOf(step);
    if (d !== 'block' && d !== 'allow_with_notice' && input.satisfied?.has(step.threshold))
      d = 'allow_with_notice';
    if (RANK[d] >= RANK[decision]) {
      decision = d;
      chosen = step;
    }
  }
  if (!ladder && percentAfter > 100) {
    return {
      ...base,
      decision: 'block',
      reason: `${pct(percentAfter)} of the ${quota.tier} limit after this request; the policy has no quota ladder, so the limit is hard`,
      step: null,
      notice: null,
      approver: null,
    };
  }
  const exceptionNote =
    input.exceptionTokens > 0
      ? ` (limit ${quota.limit} + ${input.exceptionTokens} from approved exceptions)`
      : '';
  const where = `${pct(percentAfter)} of the ${quota.tier} limit of ${effectiveLimit} tokens after this request${exceptionNote}`;
  let reason: string;
  if (!chosen) reason = `${where}: below every step`;
  else {
    const satisfied = decisionOf(chosen) !== decision && decision === 'allow_with_notice';
    reason = `${where}: reached the ${chosen.threshold}% step (${describeAction(chosen)})${satisfied ? ', already satisfied this period' : ''}`;
  }
  return {
    ...base,
    decision,
    reason,
    step: chosen,
    notice: chosen?.action.kind === 'notify' ? chosen.action.message : null,
    approver: chosen?.action.kind === 'require_approval' ? chosen.action.approver : null,
  };
}

export function describeAction(step: IrStep): string {
  const a = step.action;
  switch (a.kind) {
    case 'notify':
      return `notify ${a.audiences.join(', ')}`;
    case 'require_justification':
      return 'require justification';
    case 'require_approval':
      return `require approval by ${a.approver}`;
    case 'block':
      return 'block';
  }
}
