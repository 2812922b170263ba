// The quota decision a gateway asks for before each request. Pure: the caller supplies the
// usage so far, the ladder, active exceptions and the price of each class. The answer is
// the strongest `at` step that the usage *after* this request would reach, measured
// against the limit raised by approved exceptions.
import type { Ladder } from '../policy/compile/ruleset.ts';
import { requestVerdict, requestVerdictText } from '../policy/evaluate/request-limits.ts';
import type { Band } from '../policy/evaluate/types.ts';
import type { IrStep, RuleSetIR } from '../policy/ir.ts';
import type { SubjectRef } from './escalations.ts';
import type { HoldState } from './holds.ts';

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
  /** the request names no model: its class is not checked (and only `request any` applies) */
  noModel?: boolean;
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
  /** false when the tier does not allow the requested model's class (then it blocks) */
  classAllowed: boolean;
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
  // for...in, not Object.entries: no pair arrays on every check
  for (const name in classPrices) {
    const price = classPrices[name];
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
  const classAllowed =
    quota.allowedClasses === 'any' ||
    (input.modelClass !== null && quota.allowedClasses.includes(input.modelClass)) ||
    input.noModel === true;
  const band = bandFor(ladder, percentNow);
  const remainingAfter = effectiveLimit - after;

  // every answer by this one builder: one object shape, the step's notice and approver
  const answer = (decision: Decision, reason: string, step: IrStep | null): QuotaDecision => ({
    classAllowed,
    band,
    effectiveLimit,
    percentAfter,
    remainingAfter,
    cheaperClass: cheaper,
    decision,
    reason,
    step,
    notice: step?.action.kind === 'notify' ? step.action.message : null,
    approver: step?.action.kind === 'require_approval' ? step.action.approver : null,
  });
  const blocked = (reason: string) => answer('block', reason, null);
  if (!classAllowed) {
    const allowed = quota.allowedClasses === 'any' ? 'any' : quota.allowedClasses.join(', ');
    return blocked(
      input.modelClass === null
        ? `the model has no price or class in the active policy; tier ${quota.tier} allows ${allowed}`
        : `model class ${input.modelClass} is not allowed in tier ${quota.tier} (allowed: ${allowed})`,
    );
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
  if (!ladder && percentAfter > 100)
    return blocked(
      `${pct(percentAfter)} of the ${quota.tier} limit after this request; the policy has no quota ladder, so the limit is hard`,
    );
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
  return answer(decision, reason, chosen);
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

/** One thing that bears on a request: the tier, the model's class, a budget or a rule. */
export type Constraint = {
  kind: 'tier' | 'model_class' | 'request' | 'budget' | 'rule';
  /** the tier, the class, the request limit (its class or "any"), the budget key or the rule name */
  name: string;
  /** whose budget or rule (null for the person's own tier) */
  subject: SubjectRef | null;
  decision: Decision;
  percent: number | null;
  threshold: number | null;
  reason: string;
  approver: string | null;
  /** the escalation to justify or decide, when one is recorded */
  escalationId: string | null;
};

export type NextAction =
  | 'none'
  | 'justify'
  | 'request_approval'
  | 'request_exception'
  | 'switch_model'
  | 'reduce_input'
  | 'wait';

/** What the person can do about the binding constraint. */
export type NextStep = {
  action: NextAction;
  approver: string | null;
  escalationId: string | null;
  message: string;
};

export type RequestDecision = QuotaDecision & {
  /** the constraint that decided (null when nothing but the tier applies and it allows) */
  binding: Constraint | null;
  /** every constraint weighed, strongest first */
  constraints: Constraint[];
  next: NextStep;
};

export type RequestDecisionInput = Omit<DecisionInput, 'quota'> & {
  /** null when no tier applies to the person: only holds can then stand in the way */
  quota: QuotaUsage | null;
  holds: readonly HoldState[];
  /** the request's environment; environment-scoped budgets hold only matching requests */
  environment: string | null;
  /** the request's project; project budgets hold only that project's requests */
  project?: string | null;
  /** the policy's per-request input limits, and the request's input tokens they weigh */
  requestLimits?: RuleSetIR['requestLimits'];
  inputTokens?: number;
};

/** The request limit's verdict as a constraint (null when no limit applies or it allows). */
function requestConstraint(input: RequestDecisionInput): Constraint | null {
  if (!input.requestLimits) return null;
  const inputTokens = input.inputTokens ?? input.estimatedTokens;
  const verdict = requestVerdict(
    input,
    input.noModel ? null : input.modelClass,
    Math.max(0, inputTokens),
  );
  if (verdict.outcome === 'allow' || verdict.limit === null) return null;
  return {
    kind: 'request',
    name: verdict.limit,
    subject: null,
    decision: verdict.outcome === 'block' ? 'block' : 'allow_with_notice',
    percent: null,
    threshold: null,
    reason: requestVerdictText(verdict, inputTokens),
    approver: null,
    escalationId: null,
  };
}

function holdConstraint(h: HoldState): Constraint {
  const decided = decisionOf({ threshold: h.threshold ?? 0, action: h.action } as IrStep);
  const status = h.escalationStatus;
  const satisfied =
    (h.action.kind === 'require_justification' &&
      (status === 'justified' || status === 'approved')) ||
    (h.action.kind === 'require_approval' && status === 'approved');
  const decision: Decision = satisfied ? 'allow_with_notice' : decided;
  const whose =
    h.subject.kind === 'org'
      ? 'the organisation'
      : h.subject.kind === 'team'
        ? `team ${h.subject.id}`
        : 'your own';
  // a shared budget's percent is a team's or the organisation's spend: it stays in
  // `percent`, which the use case shows only to roles that may see group figures
  const level = h.subject.kind === 'person' ? `at ${pct(h.observed ?? 0)}` : 'past a step';
  const what =
    h.source === 'budget'
      ? `budget "${h.name}" (${whose}) ${level}: the ${h.threshold}% step says ${describeAction({ threshold: h.threshold ?? 0, action: h.action } as IrStep)}`
      : `rule "${h.name}" fired for ${h.subject.kind === 'person' ? 'you' : whose}: ${describeAction({ threshold: 0, action: h.action } as IrStep)}`;
  return {
    kind: h.source,
    name: h.name,
    subject: h.subject,
    decision,
    percent: h.observed,
    threshold: h.threshold,
    reason: satisfied ? `${what}, already ${status} this period` : what,
    approver: h.action.kind === 'require_approval' ? h.action.approver : null,
    escalationId: h.escalationId,
  };
}

function nextStep(binding: Constraint | null, decision: QuotaDecision): NextStep {
  if (!binding || binding.decision === 'allow' || binding.decision === 'allow_with_notice')
    return { action: 'none', approver: null, escalationId: null, message: 'nothing to do' };
  const escalationId = binding.escalationId;
  switch (binding.decision) {
    case 'require_justification':
      return {
        action: 'justify',
        approver: null,
        escalationId,
        message: 'say why the usage is needed (acknowledgeEscalation with a justification)',
      };
    case 'require_approval':
      if (binding.kind === 'rule')
        return {
          action: 'request_approval',
          approver: binding.approver,
          escalationId,
          message: `ask ${binding.approver} to approve escalation ${escalationId ?? '(being recorded)'} (decideEscalation)`,
        };
      return {
        action: 'request_exception',
        approver: binding.approver,
        escalationId,
        message: `request an exception; ${binding.approver} approves it (requestException)`,
      };
    default:
      if (binding.kind === 'request')
        return {
          action: 'reduce_input',
          approver: null,
          escalationId: null,
          message:
            'send less input (split or summarise the context), or a model class whose request limit allows it',
        };
      if (binding.kind === 'model_class')
        return {
          action: 'switch_model',
          approver: null,
          escalationId: null,
          message: decision.cheaperClass
            ? `use a model of class ${decision.cheaperClass}, which the tier allows`
            : 'use a model class the tier allows',
        };
      if (binding.kind === 'rule' || binding.subject?.kind === 'org')
        return {
          action: 'wait',
          approver: null,
          escalationId,
          message:
            binding.kind === 'rule'
              ? 'blocked by a compliance rule until it no longer applies; contact governance'
              : 'the organisation budget is exhausted until the period ends or governance raises it',
        };
      return {
        action: 'request_exception',
        approver: null,
        escalationId,
        message:
          binding.kind === 'tier'
            ? 'request an exception for extra tokens (requestException with extraTokens)'
            : `request an exception for extra money on ${binding.subject?.kind === 'team' ? `team ${binding.subject.id}` : 'your'} budget (requestException with extraMoney)`,
      };
  }
}

const NO_TIER: QuotaDecision = {
  decision: 'allow',
  reason: 'no quota tier applies to this person',
  band: 'green',
  effectiveLimit: 0,
  percentAfter: 0,
  remainingAfter: 0,
  step: null,
  notice: null,
  approver: null,
  cheaperClass: null,
  classAllowed: true,
};

/**
 * The one decision every path answers from (checkQuota, POST /v1/quota/check, quota bands):
 * the tier's quota for this request, then every hold on the person, their team and the
 * organisation. The strongest wins; on a tie the tier, then holds in key order.
 */
export function decideRequest(input: RequestDecisionInput): RequestDecision {
  const tier = input.quota ? decideQuota({ ...input, quota: input.quota }) : NO_TIER;
  const tierConstraint: Constraint = {
    kind: tier.classAllowed ? 'tier' : 'model_class',
    name: tier.classAllowed ? (input.quota?.tier ?? 'none') : (input.modelClass ?? 'unpriced'),
    subject: null,
    decision: tier.decision,
    percent: tier.percentAfter,
    threshold: tier.step?.threshold ?? null,
    reason: tier.reason,
    approver: tier.approver,
    escalationId: null,
  };
  // ties go to holds in key order, whatever order the store returned them in
  const holds =
    input.holds.length === 0
      ? []
      : [...input.holds]
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
          .filter(
            (h) =>
              (h.environment === null || h.environment === input.environment) &&
              (h.project == null || h.project === (input.project ?? null)),
          )
          .map(holdConstraint);
  // the request's own size: weighed after the tier, before holds, on a tie
  const request = requestConstraint(input);
  const others = request ? [request, ...holds] : holds;
  const constraints = input.quota ? [tierConstraint, ...others] : others;
  let binding = tierConstraint;
  for (const c of others) if (RANK[c.decision] > RANK[binding.decision]) binding = c;
  // a fresh array, built above: sorted in place (stable, as before)
  const ordered =
    constraints.length > 1
      ? constraints.sort((a, b) => RANK[b.decision] - RANK[a.decision])
      : constraints;
  // the tier's fields by name, not spread: one object shape per answer, no copy of a copy
  if (binding === tierConstraint)
    return {
      decision: tier.decision,
      reason: tier.reason,
      band: tier.band,
      effectiveLimit: tier.effectiveLimit,
      percentAfter: tier.percentAfter,
      remainingAfter: tier.remainingAfter,
      step: tier.step,
      notice: tier.notice,
      approver: tier.approver,
      cheaperClass: tier.cheaperClass,
      classAllowed: tier.classAllowed,
      binding: input.quota ? tierConstraint : null,
      constraints: ordered,
      next: nextStep(input.quota ? binding : null, tier),
    };
  return {
    band: tier.band,
    effectiveLimit: tier.effectiveLimit,
    percentAfter: tier.percentAfter,
    remainingAfter: tier.remainingAfter,
    cheaperClass: tier.cheaperClass,
    classAllowed: tier.classAllowed,
    decision: binding.decision,
    reason: binding.reason,
    step: null,
    // a request limit's warning is the notice a gateway shows
    notice:
      binding.kind === 'request' && binding.decision === 'allow_with_notice'
        ? binding.reason
        : null,
    approver: binding.approver,
    binding,
    constraints: ordered,
    next: nextStep(binding, tier),
  };
}
