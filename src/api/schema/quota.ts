// `quota(person)`: a person's tier and where they stand in its period, evaluated over that
// person's rollups only. A member asks about themselves; governance and admin about anyone
// (audited). Exceptions approved for the person are listed and raise `effectiveLimit`.

import { ForbiddenError, NoActivePolicyError, NotFoundError } from '../../app/errors.ts';
import { seesNames } from '../../app/roles.ts';
import { evaluatePerson } from '../../engine/evaluation.ts';
import type { QuotaState, TierAssignment } from '../../policy/evaluate/types.ts';
import { type ExceptionRow, listExceptions } from '../../store/exceptions.ts';
import { builder } from '../builder.ts';
import { identityFor } from '../context.ts';
import { readService } from '../loaders.ts';
import { BandEnum } from './band.ts';
import { PersonRef } from './directory.ts';
import { ForecastRef, ThresholdRef } from './state.ts';

type QuotaShape = {
  personId: string;
  tier: TierAssignment;
  state: QuotaState;
  exceptions: ExceptionRow[];
};

const ActiveExceptionRef = builder.objectRef<ExceptionRow>('ActiveException').implement({
  description: 'An approved, unexpired exception that raises this quota.',
  fields: (t) => ({
    id: t.exposeString('id'),
    extraTokens: t.exposeFloat('extraTokens', { nullable: true }),
    expiresAt: t.exposeString('expiresAt'),
    justification: t.exposeString('justification'),
  }),
});

const QuotaRef = builder.objectRef<QuotaShape>('Quota').implement({
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
      resolve: (q) => q.state.limit + extraTokens(q.exceptions),
    }),
    used: t.float({ resolve: (q) => q.state.used }),
    remaining: t.float({
      resolve: (q) => q.state.limit + extraTokens(q.exceptions) - q.state.used,
    }),
    percent: t.float({ description: 'used ÷ limit × 100', resolve: (q) => q.state.percent }),
    band: t.field({ type: BandEnum, resolve: (q) => q.state.band }),
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
      resolve: (q) => q.exceptions,
    }),
  }),
});

function extraTokens(exceptions: readonly ExceptionRow[]): number {
  return exceptions.reduce((sum, e) => sum + (e.extraTokens ?? 0), 0);
}

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
      const personId = args.person ?? ctx.caller.person;
      if (!personId) throw new ForbiddenError('this key is bound to no person: pass `person`');
      if (personId !== ctx.caller.person && !seesNames(ctx.caller.role)) {
        throw new ForbiddenError(
          `role "${ctx.caller.role}" may read only its own quota; other people's need a governance key`,
        );
      }
      const service = readService(ctx);
      const active = await service.active();
      if (!active) throw new NoActivePolicyError();
      const now = service.now();
      const [evaluation, exceptions] = await Promise.all([
        evaluatePerson(service.reader, active.ruleSet, personId, now, { team: false }),
        listExceptions(ctx.store, { subjectId: personId, activeAt: now }, { limit: 100 }).then(
          (rows) => rows.filter((e) => e.subjectKind === 'person'),
        ),
      ]);
      if (!evaluation.known) throw new NotFoundError('person', personId);
      const { tier, quota } = evaluation.person;
      if (!tier || !quota) {
        throw new NotFoundError(
          'quota (no tier assigned by the active policy) for person',
          personId,
        );
      }
      if (personId !== ctx.caller.person) {
        await ctx.audit.record({ action: 'read.quota', subject: personId });
      }
      return { personId, tier, state: quota, exceptions };
    },
  }),
);
