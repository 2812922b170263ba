// Quota decisions: checkQuota (a gateway's question before each call) and quota(person).
// Both answer from src/app/quota.ts, the one decision; POST /v1/quota/check returns the
// same fields as QuotaCheck (quotaCheckJson).
import {
  ForbiddenError,
  InvalidRequestError,
  NoActivePolicyError,
  NotFoundError,
} from '../../app/errors.ts';
import { type CheckQuotaResult, type PersonQuota, quotaFor } from '../../app/quota.ts';
import { usageReadsFor } from '../../app/usage.ts';
import type { Constraint, Decision, NextStep } from '../../engine/decision.ts';
import type { ExceptionRow } from '../../store/exceptions.ts';
import { builder } from '../builder.ts';
import { identityFor, sessionOf } from '../context.ts';
import { BandEnum } from './band.ts';
import { PersonRef } from './directory.ts';
import { MoneyRef } from './money.ts';
import { DateTimeResolver } from './scalars.ts';
import { ForecastRef, ThresholdRef } from './state.ts';

const DecisionEnum = builder.enumType('QuotaDecision', {
  description: 'What a gateway should do with the request.',
  values: [
    'allow',
    'allow_with_notice',
    'require_justification',
    'require_approval',
    'block',
  ] as const satisfies readonly Decision[],
});

const SubjectRefType = builder
  .objectRef<{ kind: string; id: string }>('ConstraintSubject')
  .implement({
    fields: (t) => ({ kind: t.exposeString('kind'), id: t.exposeString('id') }),
  });

const ConstraintRef = builder.objectRef<Constraint>('QuotaConstraint').implement({
  description: 'One thing weighed for a request: the tier, the model class, a budget or a rule.',
  fields: (t) => ({
    kind: t.exposeString('kind', {
      description: '`tier`, `model_class`, `request` (a request limit), `budget` or `rule`.',
    }),
    name: t.exposeString('name', { description: 'The tier, class, budget key or rule name.' }),
    subject: t.field({
      type: SubjectRefType,
      nullable: true,
      description: 'Whose budget or rule: the person, their team, or the org.',
      resolve: (c) => c.subject,
    }),
    decision: t.field({ type: DecisionEnum, resolve: (c) => c.decision }),
    percent: t.exposeFloat('percent', { nullable: true }),
    threshold: t.exposeFloat('threshold', { nullable: true }),
    reason: t.exposeString('reason'),
    approver: t.exposeString('approver', { nullable: true }),
    escalationId: t.exposeString('escalationId', { nullable: true }),
  }),
});

const NextStepRef = builder.objectRef<NextStep>('QuotaNextStep').implement({
  description: 'What the person can do about the binding constraint, and through which call.',
  fields: (t) => ({
    action: t.exposeString('action', {
      description:
        '`none`, `justify`, `request_approval`, `request_exception`, `switch_model`, `reduce_input` or `wait`.',
    }),
    approver: t.exposeString('approver', { nullable: true }),
    escalationId: t.exposeString('escalationId', { nullable: true }),
    message: t.exposeString('message'),
  }),
});

const QuotaCheckRef = builder.objectRef<CheckQuotaResult>('QuotaCheck').implement({
  description:
    'The answer for one request: the strongest of the tier quota (usage after this request against the limit raised by approved exceptions) and every budget or rule hold on the person, their team and the organisation.',
  fields: (t) => ({
    decision: t.field({ type: DecisionEnum, resolve: (q) => q.decision }),
    reason: t.exposeString('reason'),
    band: t.field({
      type: BandEnum,
      description: 'The band before this request.',
      resolve: (q) => q.band,
    }),
    tier: t.string({ nullable: true, resolve: (q) => q.quota?.tier ?? null }),
    period: t.string({ nullable: true, resolve: (q) => q.quota?.period ?? null }),
    periodStart: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (q) => q.quota?.periodStart ?? null,
    }),
    limit: t.float({
      description: 'The tier limit in tokens.',
      resolve: (q) => q.quota?.limit ?? 0,
    }),
    exceptionTokens: t.float({
      description: 'Tokens added by approved, unexpired exceptions.',
      resolve: (q) => q.exceptionTokens,
    }),
    effectiveLimit: t.exposeFloat('effectiveLimit'),
    used: t.float({
      description: 'Tokens used this period before the request.',
      resolve: (q) => q.quota?.used ?? 0,
    }),
    estimatedTokens: t.exposeInt('estimatedTokens'),
    percentAfter: t.exposeFloat('percentAfter'),
    remainingAfter: t.exposeFloat('remainingAfter', {
      description: 'Tokens left after this request; negative once over the limit.',
    }),
    threshold: t.float({
      nullable: true,
      description: 'The percent of the step that decided.',
      resolve: (q) => q.step?.threshold ?? null,
    }),
    notice: t.exposeString('notice', { nullable: true }),
    approver: t.exposeString('approver', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    inputTokens: t.exposeInt('inputTokens', {
      description: 'The input tokens weighed by request limits.',
    }),
    estimatedCost: t.field({
      type: MoneyRef,
      nullable: true,
      description:
        "The request's cost at the model's list price: inputTokens at the input rate, the rest of estimatedTokens at the output rate (no cache or batch discounts). Null without a priced model.",
      resolve: (q) =>
        q.estimatedCost === null ? null : { amount: q.estimatedCost, currency: q.currency },
    }),
    modelClass: t.exposeString('modelClass', { nullable: true }),
    allowedClasses: t.stringList({
      description: '["any"] when the tier allows every class.',
      resolve: (q) =>
        q.quota ? (q.quota.allowedClasses === 'any' ? ['any'] : [...q.quota.allowedClasses]) : [],
    }),
    cheaperClass: t.exposeString('cheaperClass', {
      nullable: true,
      description: 'A cheaper model class the tier allows, when one exists.',
    }),
    policyHash: t.exposeString('policyHash'),
    binding: t.field({
      type: ConstraintRef,
      nullable: true,
      description: 'The constraint that decided: the tier, the model class, a budget or a rule.',
      resolve: (q) => q.binding,
    }),
    constraints: t.field({
      type: [ConstraintRef],
      description: 'Every constraint weighed, strongest first.',
      resolve: (q) => q.constraints,
    }),
    next: t.field({
      type: NextStepRef,
      description: 'What the person can do about the binding constraint.',
      resolve: (q) => q.next,
    }),
  }),
});

/** The QuotaCheck type's fields as plain JSON (POST /v1/quota/check answers with this). */
export function quotaCheckJson(q: CheckQuotaResult) {
  return {
    decision: q.decision,
    reason: q.reason,
    band: q.band,
    tier: q.quota?.tier ?? null,
    period: q.quota?.period ?? null,
    periodStart: q.quota?.periodStart ?? null,
    limit: q.quota?.limit ?? 0,
    exceptionTokens: q.exceptionTokens,
    effectiveLimit: q.effectiveLimit,
    used: q.quota?.used ?? 0,
    estimatedTokens: q.estimatedTokens,
    percentAfter: q.percentAfter,
    remainingAfter: q.remainingAfter,
    threshold: q.step?.threshold ?? null,
    notice: q.notice,
    approver: q.approver,
    model: q.model,
    inputTokens: q.inputTokens,
    estimatedCost:
      q.estimatedCost === null ? null : { amount: q.estimatedCost, currency: q.currency },
    modelClass: q.modelClass,
    allowedClasses: q.quota
      ? q.quota.allowedClasses === 'any'
        ? ['any']
        : [...q.quota.allowedClasses]
      : [],
    cheaperClass: q.cheaperClass,
    policyHash: q.policyHash,
    binding: q.binding,
    constraints: q.constraints,
    next: q.next,
  };
}

builder.queryField('checkQuota', (t) =>
  t.field({
    type: QuotaCheckRef,
    description:
      'May this person send this request? Asked by gateways before each call: one indexed read, no full evaluation.',
    authScopes: { $any: { writeEvents: true, self: true } },
    args: {
      person: t.arg.string({ required: true }),
      model: t.arg.string({
        required: false,
        description:
          'The model asked for. Without it no model class is checked, only `request any` limits apply and no cost is estimated.',
      }),
      estimatedTokens: t.arg.int({
        required: false,
        description:
          'Input plus expected output tokens: what the quota counts. Defaults to inputTokens; give one or both.',
      }),
      inputTokens: t.arg.int({
        required: false,
        description:
          "The request's input tokens: what the policy's request limits weigh. Defaults to estimatedTokens.",
      }),
      environment: t.arg.string({
        required: false,
        description: 'production or sandbox: environment-scoped budgets hold only their own.',
      }),
      project: t.arg.string({
        required: false,
        description: 'The project the request is for: project budgets hold only their own.',
      }),
    },
    errors: {
      types: [InvalidRequestError, ForbiddenError, NoActivePolicyError],
      directResult: true,
    },
    resolve: (_root, args, ctx) =>
      quotaFor(ctx.store).check(ctx.caller, {
        person: args.person,
        model: args.model ?? null,
        estimatedTokens: args.estimatedTokens ?? null,
        inputTokens: args.inputTokens ?? null,
        environment: args.environment ?? null,
        project: args.project ?? null,
      }),
  }),
);

const ActiveExceptionRef = builder.objectRef<ExceptionRow>('ActiveException').implement({
  description: 'An approved, unexpired exception that raises this quota.',
  fields: (t) => ({
    id: t.exposeString('id'),
    extraTokens: t.exposeFloat('extraTokens', { nullable: true }),
    expiresAt: t.exposeString('expiresAt'),
    justification: t.exposeString('justification'),
  }),
});

const QuotaDayRef = builder.objectRef<{ day: string; tokens: number }>('QuotaDay').implement({
  description: 'Tokens one person used on one day of a quota period.',
  fields: (t) => ({
    day: t.exposeString('day', { description: 'The local date (YYYY-MM-DD), policy time zone.' }),
    tokens: t.exposeFloat('tokens'),
  }),
});

const QuotaRef = builder.objectRef<PersonQuota>('Quota').implement({
  description: "A person's token quota in the current period of their tier.",
  fields: (t) => ({
    personId: t.string({
      description:
        'The person id (a pseudonym only if masked; quotas are read by the person or governance).',
      resolve: (q, _args, ctx) => identityFor(ctx, q.personId).id,
    }),
    person: t.field({ type: PersonRef, resolve: (q) => q.personId }),
    tier: t.string({ resolve: (q) => q.tier.tier }),
    tierLabel: t.string({ nullable: true, resolve: (q) => q.tier.label }),
    assignedBy: t.string({
      description: 'The assign rule that chose the tier ("otherwise" for the fallback).',
      resolve: (q) => (q.tier.rule.otherwise ? 'otherwise' : (q.tier.rule.when ?? 'otherwise')),
    }),
    period: t.string({ resolve: (q) => q.state.period }),
    periodStart: t.string({ resolve: (q) => q.state.periodStart }),
    periodEnd: t.string({ resolve: (q) => q.state.periodEnd }),
    limit: t.float({
      description: 'Tokens per period, from the tier.',
      resolve: (q) => q.state.limit,
    }),
    effectiveLimit: t.float({
      description: 'The limit plus the extra tokens of active exceptions.',
      resolve: (q) => q.effectiveLimit,
    }),
    used: t.float({ resolve: (q) => q.state.used }),
    remaining: t.float({
      resolve: (q) => q.effectiveLimit - q.state.used,
    }),
    percent: t.float({ description: 'used ÷ limit × 100', resolve: (q) => q.state.percent }),
    band: t.field({
      type: BandEnum,
      description: 'Over the exception-raised limit: the band checkQuota and Person.band give.',
      resolve: (q) => q.band,
    }),
    bandReason: t.string({
      description: 'The band rule applied, e.g. "70% ≤ 76% < 90% (yellow from 70%, red from 90%)".',
      resolve: (q) => q.state.bandReason,
    }),
    forecast: t.field({ type: ForecastRef, resolve: (q) => q.state.forecast }),
    nextThreshold: t.field({
      type: ThresholdRef,
      nullable: true,
      resolve: (q) => q.state.nextThreshold,
    }),
    allModels: t.boolean({
      description: 'True when the tier allows every model class.',
      resolve: (q) => q.state.allowedClasses === 'any',
    }),
    allowedClasses: t.stringList({
      description: 'Model classes the tier allows (every declared class when allModels).',
      resolve: (q, _args, _ctx) =>
        q.state.allowedClasses === 'any' ? [] : [...q.state.allowedClasses],
    }),
    activeExceptions: t.field({
      type: [ActiveExceptionRef],
      resolve: (q) => q.exceptions(),
    }),
    daily: t.field({
      type: [QuotaDayRef],
      description:
        "Tokens used on each day of this period so far, for a burn-down (days without usage left out): the same figures, and the same rules, as `usage(filter: {people: [person], from: the period's first day}, bucket: day)`, in the quota's request.",
      resolve: async (q, _args, ctx) => {
        const result = await usageReadsFor(ctx.store).usage(sessionOf(ctx), {
          people: [q.personId],
          from: q.state.periodStart.slice(0, 10),
          bucket: 'day',
        });
        return result.rows.map((r) => ({ day: r.bucket ?? '', tokens: r.tokens }));
      },
    }),
  }),
});

builder.queryField('quota', (t) =>
  t.field({
    type: QuotaRef,
    authScopes: { readDirectory: true },
    description:
      "A person's quota: tier, limit, used, percent, band, forecast, next threshold, allowed classes and active exceptions. Members ask about themselves (the default); governance about anyone (audited).",
    args: {
      person: t.arg.string({ required: false, description: "Defaults to the key's own person." }),
    },
    errors: { types: [NotFoundError, ForbiddenError, NoActivePolicyError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const quota = await quotaFor(ctx.store).personQuota(ctx.caller, args.person ?? null);
      if (quota.named) await ctx.audit.record({ action: 'read.quota', subject: quota.personId });
      return quota;
    },
  }),
);
