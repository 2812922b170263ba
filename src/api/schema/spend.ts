// `spendReport(period, by, rollup)`: chargeback. Spend grouped by cost centre, team, model
// and the other usage dimensions, with roll-up rows up the team tree and an exact total. The
// rules (who may, what is suppressed below governance) are in src/app/spend.ts.
import { ForbiddenError, InvalidRequestError } from '../../app/errors.ts';
import {
  SPEND_DIMENSIONS,
  type SpendFigures,
  type SpendReport,
  type SpendRow,
  spendReportsFor,
} from '../../app/spend.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { MoneyRef } from './money.ts';

const SpendDimensionEnum = builder.enumType('SpendDimension', { values: SPEND_DIMENSIONS });

type Priced<T> = T & { currency: string };

const SpendTotalRef = builder.objectRef<Priced<SpendFigures>>('SpendTotal').implement({
  description: 'Spend added up exactly.',
  fields: (t) => ({
    people: t.exposeInt('people', {
      description: 'People counted in the rows added (a person counts once per row).',
    }),
    inputTokens: t.exposeFloat('inputTokens'),
    outputTokens: t.exposeFloat('outputTokens'),
    cacheReadTokens: t.exposeFloat('cacheReadTokens'),
    cacheWriteTokens: t.exposeFloat('cacheWriteTokens'),
    tokens: t.exposeFloat('tokens'),
    cost: t.field({
      type: MoneyRef,
      description: 'Exact, in the policy currency.',
      resolve: (r) => ({ amount: r.cost, currency: r.currency }),
    }),
    requests: t.exposeFloat('requests'),
    unpricedRequests: t.exposeFloat('unpricedRequests'),
  }),
});

const SpendRowRef = builder.objectRef<Priced<SpendRow>>('SpendRow').implement({
  description:
    'Spend of one group. Dimensions not asked for are null; a roll-up row adds up a parent team and its descendants.',
  fields: (t) => ({
    costCenter: t.string({
      nullable: true,
      description:
        "The cost centre of the people's current team, or of its nearest ancestor when the team has none.",
      resolve: (r) => r.group.cost_center ?? null,
    }),
    team: t.string({ nullable: true, resolve: (r) => r.group.team ?? null }),
    model: t.string({ nullable: true, resolve: (r) => r.group.model ?? null }),
    class: t.string({ nullable: true, resolve: (r) => r.group.class ?? null }),
    project: t.string({ nullable: true, resolve: (r) => r.group.project ?? null }),
    environment: t.string({ nullable: true, resolve: (r) => r.group.environment ?? null }),
    rollupOf: t.exposeInt('rollupOf', {
      nullable: true,
      description:
        "Null for a team's own usage; on a roll-up row, how many teams (the team and its descendants) it adds up.",
    }),
    figures: t.field({ type: SpendTotalRef, resolve: (r) => r }),
  }),
});

const SpendReportRef = builder.objectRef<SpendReport>('SpendReport').implement({
  description: 'A chargeback report over one period.',
  fields: (t) => ({
    period: t.exposeString('period', { description: 'Canonical name, e.g. 2026-11.' }),
    from: t.exposeString('from', { description: 'First local day (inclusive).' }),
    to: t.exposeString('to', { description: 'Last local day (exclusive).' }),
    by: t.field({ type: [SpendDimensionEnum], resolve: (r) => r.by }),
    currency: t.exposeString('currency'),
    timezone: t.exposeString('timezone'),
    rows: t.field({
      type: [SpendRowRef],
      resolve: (r) => r.rows.map((row) => ({ ...row, currency: r.currency })),
    }),
    total: t.field({
      type: SpendTotalRef,
      description:
        'The sum of the rows that are not roll-ups: equal to all usage of the period for governance; below governance, of the rows shown.',
      resolve: (r) => ({ ...r.total, currency: r.currency }),
    }),
    suppressedGroups: t.exposeInt('suppressedGroups', {
      description:
        'Groups left out below governance because they hold fewer than minGroupSize people.',
    }),
    minGroupSize: t.exposeInt('minGroupSize', { nullable: true }),
  }),
});

builder.queryField('spendReport', (t) =>
  t.field({
    type: SpendReportRef,
    authScopes: { readSpend: true },
    description:
      'Chargeback: spend over a period by cost centre, team, model, class, project or environment, with optional roll-up rows up the team tree. Below governance: visible teams only, by cost centre and team only, small groups suppressed.',
    args: {
      period: t.arg.string({
        required: false,
        description:
          'A month (2026-11), quarter (2026-Q4), ISO week, year, or last-/this-month …; default this month.',
      }),
      by: t.arg({ type: [SpendDimensionEnum], required: true }),
      rollup: t.arg.boolean({
        required: false,
        description: 'Add a row per parent team adding up its subtree (needs team in by).',
      }),
    },
    errors: { types: [InvalidRequestError, ForbiddenError] },
    resolve: (_root, args, ctx) =>
      spendReportsFor(ctx.store).report(sessionOf(ctx), {
        period: args.period,
        by: args.by,
        rollup: args.rollup ?? false,
      }),
  }),
);
