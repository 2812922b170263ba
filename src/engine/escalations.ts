// From evaluation results to escalation records. Pure. Each crossed ladder step and each
// fired rule yields one record whose key is (step or rule, subject, period): evaluating the
// same subject again in the same period yields the same keys, so the store's
// `on conflict (key) do nothing` makes sweeps idempotent.
//
// Periods: ladder steps belong to the period of the quota or budget they measure; rules
// (which read trailing windows) belong to the calendar month in the policy timezone.
// Both reset on calendar boundaries in that timezone (src/policy/windows.ts).
//
// Forecast steps use the evaluator's projection: used ÷ elapsed fraction of the period,
// a straight line from the period start through now to the period end.

import { AUDIENCES } from '../policy/check/vocabulary.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import type {
  BudgetState,
  EvaluateResult,
  FiredRule,
  QuotaState,
  SubjectResult,
  TriggeredStep,
} from '../policy/evaluate/types.ts';
import type { IrAction, Period } from '../policy/ir.ts';
import { periodBounds } from '../policy/windows.ts';

/** Audiences a webhook can subscribe to: every audience a policy may name, or `all`. */
export const WEBHOOK_AUDIENCES: readonly string[] = [...AUDIENCES, 'all'];

/** The calendar period a rule's escalations belong to. */
export const RULE_PERIOD: Period = 'month';

export type SubjectRef = { kind: 'person' | 'team' | 'org'; id: string };

export type EscalationDraft = {
  key: string;
  source: 'ladder' | 'rule';
  ladder: string | null;
  rule: string | null;
  /** tier name (quota) or budget key (budget) */
  of: string | null;
  trigger: 'at' | 'forecast' | null;
  threshold: number | null;
  action: IrAction;
  severity: string | null;
  subject: SubjectRef;
  periodStart: string;
  periodEnd: string;
  policyVersion: string | null;
  policyHash: string;
  /** the facts that triggered it */
  facts: Record<string, unknown>;
};

export function escalationKey(what: string, subject: SubjectRef, periodStart: string): string {
  return `${what}|${subject.kind}:${subject.id}|${periodStart}`;
}

function stepName(s: TriggeredStep): string {
  return `${s.ladder}:${s.of}:${s.trigger}:${s.threshold}`;
}

function quotaFacts(q: QuotaState, s: TriggeredStep) {
  return {
    observedPercent: s.observed,
    used: q.used,
    limit: q.limit,
    percent: q.percent,
    forecast: q.forecast,
    tier: q.tier,
  };
}

function budgetFacts(b: BudgetState, s: TriggeredStep) {
  return {
    observedPercent: s.observed,
    spent: b.spent,
    limit: b.limit,
    percent: b.percent,
    forecast: b.forecast,
    budget: b.key,
    environment: b.environment,
    // project budgets hold only their project's requests; token budgets are raised by tokens
    ...(b.project === null ? {} : { project: b.project }),
    ...(b.unit === 'tokens' ? { unit: 'tokens' } : {}),
  };
}

function fromSteps(
  steps: readonly TriggeredStep[],
  subject: SubjectRef,
  quota: QuotaState | null,
  budgets: readonly BudgetState[],
  policy: EvaluateResult['policy'],
): EscalationDraft[] {
  const out: EscalationDraft[] = [];
  for (const s of steps) {
    let periodStart: string;
    let periodEnd: string;
    let facts: Record<string, unknown>;
    if (s.ladder === 'quota' && quota) {
      periodStart = quota.periodStart;
      periodEnd = quota.periodEnd;
      facts = quotaFacts(quota, s);
    } else {
      const b = budgets.find((x) => x.key === s.of);
      if (!b) continue;
      periodStart = b.periodStart;
      periodEnd = b.periodEnd;
      facts = budgetFacts(b, s);
    }
    out.push({
      key: escalationKey(stepName(s), subject, periodStart),
      source: 'ladder',
      ladder: s.ladder,
      rule: null,
      of: s.of,
      trigger: s.trigger,
      threshold: s.threshold,
      action: s.action,
      severity: null,
      subject,
      periodStart,
      periodEnd,
      policyVersion: policy.version,
      policyHash: policy.hash,
      facts,
    });
  }
  return out;
}

function fromRules(
  rules: readonly FiredRule[],
  subject: SubjectRef,
  now: string,
  timezone: string,
  policy: EvaluateResult['policy'],
): EscalationDraft[] {
  if (rules.length === 0) return [];
  const bounds = periodBounds(RULE_PERIOD, now, timezone);
  const periodStart = bounds.start.toISOString();
  return rules.map((r) => ({
    key: escalationKey(`rule:${r.rule}`, subject, periodStart),
    source: 'rule',
    ladder: null,
    rule: r.rule,
    of: null,
    trigger: null,
    threshold: null,
    action: r.action,
    severity: r.severity,
    subject,
    periodStart,
    periodEnd: bounds.end.toISOString(),
    policyVersion: policy.version,
    policyHash: policy.hash,
    facts: {
      label: r.label,
      formula: r.explanation.formula,
      facts: r.explanation.facts,
      metrics: r.explanation.metrics,
      ...(r.detector ? { detector: r.detector } : {}),
    },
  }));
}

/** Escalations for one evaluated subject. */
export function escalationsForSubject(
  result: SubjectResult,
  evaluation: Pick<EvaluateResult, 'policy' | 'now' | 'timezone'>,
): EscalationDraft[] {
  const subject: SubjectRef = { kind: result.kind, id: result.id };
  return [
    ...fromSteps(result.escalations, subject, result.quota, result.budgets, evaluation.policy),
    ...fromRules(result.rules, subject, evaluation.now, evaluation.timezone, evaluation.policy),
  ];
}

/** Every escalation an evaluation implies: subjects, then organisation budgets. */
export function escalationsFrom(evaluation: EvaluateResult): EscalationDraft[] {
  const out = evaluation.subjects.flatMap((s) => escalationsForSubject(s, evaluation));
  if (evaluation.org) {
    out.push(
      ...fromSteps(
        evaluation.org.escalations,
        { kind: 'org', id: 'org' },
        null,
        evaluation.org.budgets,
        evaluation.policy,
      ),
    );
  }
  return out;
}

/** Extra allowances of approved, unexpired exceptions, keyed `person:<id>` / `team:<id>`. */
export type ActiveExtras = {
  tokens: ReadonlyMap<string, number>;
  money: ReadonlyMap<string, number>;
};

/**
 * Approved exceptions raise effective limits: extra tokens the person's quota, extra money
 * the budgets of their subject (a person's own budgets, or a team's). A step counts as
 * crossed only when the usage, spend or forecast reaches its threshold of the raised limit;
 * once the exception expires the next evaluation crosses it, under the same key.
 */
export function withExceptions(
  drafts: readonly EscalationDraft[],
  extras: ActiveExtras,
): EscalationDraft[] {
  return drafts.filter((d) => {
    if (d.source !== 'ladder' || d.threshold === null) return true;
    const key = `${d.subject.kind}:${d.subject.id}`;
    const quota = d.ladder === 'quota';
    // extra tokens raise the quota and token budgets, extra money the money budgets
    const inTokens = quota || (d.facts as { unit?: string }).unit === 'tokens';
    const extra = (inTokens ? extras.tokens : extras.money).get(key) ?? 0;
    if (extra <= 0) return true;
    const f = d.facts as {
      used?: number;
      spent?: number;
      limit: number;
      forecast?: { value: number };
    };
    const actual = (quota ? f.used : f.spent) ?? 0;
    const value = d.trigger === 'forecast' ? (f.forecast?.value ?? actual) : actual;
    return (value / (f.limit + extra)) * 100 >= d.threshold;
  });
}

/**
 * Who hears about an escalation: the audiences of a notify action; for friction steps the
 * person concerned (and the approver, for approvals; the manager, for blocks).
 */
export function audiencesOf(action: IrAction): string[] {
  switch (action.kind) {
    case 'notify':
      return [...action.audiences];
    case 'require_justification':
      return ['person'];
    case 'require_approval':
      return ['person', action.approver];
    case 'block':
      return ['person', 'manager'];
  }
}

/** Who is "the approver" of the quota ladder: the first `require approval by` step's. */
export function ladderApprover(rs: RuleSet, ladder: string): string | null {
  const steps = rs.ladders[ladder]?.at ?? [];
  for (const s of steps) if (s.action.kind === 'require_approval') return s.action.approver;
  return null;
}
