// `budgets`: every budget of the active policy with limit, spent, remaining, percent,
// forecast and band. Facts come from the cached org evaluation; states are re-evaluated
// at the exact clock (forecasts move with time). The rules are in src/app/budgets.ts; money
// travels as exact decimals with the currency.

import { resolveArrayConnection } from '@pothos/plugin-relay';
import { type BudgetRow, budgetsFor } from '../../app/budgets.ts';
import { NoActivePolicyError } from '../../app/errors.ts';
import { builder } from '../builder.ts';
import { connectionWith } from '../connections.ts';
import { sessionOf } from '../context.ts';
import { BandEnum } from './band.ts';
import { MoneyRef, moneyOf } from './money.ts';
import { ForecastRef, ThresholdRef } from './state.ts';

type BudgetShape = BudgetRow;

const TokenBudgetRef = builder.objectRef<BudgetRow['state']>('TokenBudget').implement({
  description: 'A token budget in tokens per period.',
  fields: (t) => ({
    limit: t.float({ resolve: (s) => s.limit }),
    spent: t.float({ resolve: (s) => s.spent }),
    remaining: t.float({
      description: 'limit − spent: negative once over.',
      resolve: (s) => s.limit - s.spent,
    }),
  }),
});

const money = (b: BudgetRow, amount: number) =>
  moneyOf(b.state.unit === 'money' ? amount : 0, b.currency);

const BudgetRef = builder.objectRef<BudgetShape>('Budget').implement({
  description:
    'A budget in its current period: money (the Money fields) or tokens (`unit` tokens: read `tokens`; the Money fields are then 0).',
  fields: (t) => ({
    key: t.string({
      description:
        'The budget as the policy names it: "each team", "team platform", "org", "project launch", "pool ml", "… (tokens)", "…@sandbox".',
      resolve: (b) => b.state.key,
    }),
    unit: t.string({
      description: '"money" or "tokens": what the budget counts.',
      resolve: (b) => b.state.unit,
    }),
    project: t.string({
      nullable: true,
      description: "A project budget's project (its usage across the organisation).",
      resolve: (b) => b.state.project,
    }),
    poolTeams: t.stringList({
      nullable: true,
      description:
        "A pool's teams, whose usage together counts against it (shown on each of them); null for other budgets.",
      resolve: (b) => b.state.poolTeams ?? null,
    }),
    tokens: t.field({
      type: TokenBudgetRef,
      nullable: true,
      description: 'Limit, spent and remaining tokens of a token budget; null for money.',
      resolve: (b) => (b.state.unit === 'tokens' ? b.state : null),
    }),
    subjectKind: t.string({
      description: '"org", "team" or "person"',
      resolve: (b) => b.subjectKind,
    }),
    subjectId: t.string({
      nullable: true,
      description: 'The team id, the person id (masked below governance), or null for the org.',
      resolve: (b) => b.shown?.id ?? null,
    }),
    environment: t.string({ nullable: true, resolve: (b) => b.state.environment }),
    currency: t.string({ resolve: (b) => b.currency }),
    period: t.string({ resolve: (b) => b.state.period }),
    periodStart: t.string({ resolve: (b) => b.state.periodStart }),
    periodEnd: t.string({ resolve: (b) => b.state.periodEnd }),
    limit: t.field({
      type: MoneyRef,
      description: 'Money per period, from the policy.',
      resolve: (b) => money(b, b.state.limit),
    }),
    exceptionMoney: t.field({
      type: MoneyRef,
      description: 'Extra money of approved, unexpired exceptions for this team or person.',
      resolve: (b) => moneyOf(b.extraMoney, b.currency),
    }),
    effectiveLimit: t.field({
      type: MoneyRef,
      description: 'The limit plus the extra money of active exceptions.',
      resolve: (b) => money(b, b.state.limit + b.extraMoney),
    }),
    spent: t.field({ type: MoneyRef, resolve: (b) => money(b, b.state.spent) }),
    remaining: t.field({
      type: MoneyRef,
      description: 'effectiveLimit − spent: negative once over.',
      resolve: (b) => money(b, b.state.limit + b.extraMoney - b.state.spent),
    }),
    percent: t.float({ description: 'spent ÷ limit × 100', resolve: (b) => b.state.percent }),
    band: t.field({ type: BandEnum, resolve: (b) => b.state.band }),
    bandReason: t.string({
      description: 'The band rule applied, e.g. "70% ≤ 76% < 90% (yellow from 70%, red from 90%)".',
      resolve: (b) => b.state.bandReason,
    }),
    forecast: t.field({ type: ForecastRef, resolve: (b) => b.state.forecast }),
    nextThreshold: t.field({
      type: ThresholdRef,
      nullable: true,
      resolve: (b) => b.state.nextThreshold,
    }),
  }),
});

const BudgetConnection = builder.connectionObject({
  type: BudgetRef,
  name: 'BudgetConnection',
  fields: (t) => ({
    suppressed: t.int({
      description:
        'Budgets left out for privacy: teams smaller than minGroupSize, or other people’s personal budgets.',
      resolve: (c) => (c as unknown as { suppressed: number }).suppressed,
    }),
    minGroupSize: t.int({
      resolve: (c) => (c as unknown as { minGroupSize: number }).minGroupSize,
    }),
    stale: t.boolean({
      description:
        'True while newer data is being evaluated (large organisations): spend is from the previous evaluation.',
      resolve: (c) => (c as unknown as { stale: boolean }).stale,
    }),
  }),
});

builder.queryField('budgets', (t) =>
  t.connection(
    {
      type: BudgetRef,
      authScopes: { readDirectory: true },
      description:
        'Budgets of the active policy: org first, then teams, then people. Small teams are suppressed below governance, and a team’s or the org’s spend, remaining, percent and forecast are rounded down to a tenth of the limit (docs/privacy.md, R13).',
      args: { team: t.arg.string({ required: false, description: 'Only this team’s budgets.' }) },
      errors: { types: [NoActivePolicyError], directResult: true },
      resolve: async (_root, args, ctx) => {
        const { rows, suppressed, minGroupSize, stale } = await budgetsFor(ctx.store).list(
          sessionOf(ctx),
          args,
        );
        const connection = resolveArrayConnection({ args, defaultSize: 50, maxSize: 500 }, rows);
        return connectionWith(connection, { suppressed, minGroupSize, stale });
      },
    },
    BudgetConnection,
  ),
);
