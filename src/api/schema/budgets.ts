// `budgets`: every budget of the active policy with limit, spent, remaining, percent,
// forecast and band. Facts come from the cached org evaluation; states are re-evaluated
// at the exact clock (forecasts move with time). Below governance, team budgets of teams
// smaller than the policy's min_group_size are suppressed (k-anonymity) and person budgets
// are shown only to that person.

import { resolveArrayConnection } from '@pothos/plugin-relay';
import { NoActivePolicyError } from '../../app/errors.ts';
import { seesNames } from '../../app/roles.ts';
import { evaluateAt } from '../../engine/cache.ts';
import { groupVisible } from '../../engine/privacy.ts';
import type { BudgetState } from '../../policy/evaluate/types.ts';
import { activeExtras } from '../../store/exceptions.ts';
import { builder } from '../builder.ts';
import { connectionWith } from '../connections.ts';
import { type Context, identityFor } from '../context.ts';
import { readService } from '../loaders.ts';
import { BandEnum } from './band.ts';
import { ForecastRef, ThresholdRef } from './state.ts';

type BudgetShape = {
  subjectKind: 'org' | 'team' | 'person';
  subjectId: string | null;
  currency: string;
  /** people in the team (team budgets) */
  people: number | null;
  state: BudgetState;
  /** extra money of approved, unexpired exceptions for this subject */
  extraMoney: number;
};

const BudgetRef = builder.objectRef<BudgetShape>('Budget').implement({
  description: 'A money budget in its current period.',
  fields: (t) => ({
    key: t.string({
      description:
        'The budget as the policy names it: "each team", "team platform", "org", "…@sandbox".',
      resolve: (b) => b.state.key,
    }),
    subjectKind: t.string({
      description: '"org", "team" or "person"',
      resolve: (b) => b.subjectKind,
    }),
    subjectId: t.string({
      nullable: true,
      description: 'The team id, the person id (masked below governance), or null for the org.',
      resolve: (b, _args, ctx) =>
        b.subjectKind === 'person' && b.subjectId ? identityFor(ctx, b.subjectId).id : b.subjectId,
    }),
    environment: t.string({ nullable: true, resolve: (b) => b.state.environment }),
    currency: t.string({ resolve: (b) => b.currency }),
    period: t.string({ resolve: (b) => b.state.period }),
    periodStart: t.string({ resolve: (b) => b.state.periodStart }),
    periodEnd: t.string({ resolve: (b) => b.state.periodEnd }),
    limit: t.float({
      description: 'Money per period, from the policy.',
      resolve: (b) => b.state.limit,
    }),
    exceptionMoney: t.float({
      description: 'Extra money of approved, unexpired exceptions for this team or person.',
      resolve: (b) => b.extraMoney,
    }),
    effectiveLimit: t.float({
      description: 'The limit plus the extra money of active exceptions.',
      resolve: (b) => b.state.limit + b.extraMoney,
    }),
    spent: t.float({ resolve: (b) => b.state.spent }),
    remaining: t.float({
      description: 'effectiveLimit − spent: negative once over.',
      resolve: (b) => b.state.limit + b.extraMoney - b.state.spent,
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

async function loadBudgets(
  ctx: Context,
  filter: { team?: string | null },
): Promise<{ rows: BudgetShape[]; suppressed: number; minGroupSize: number; stale: boolean }> {
  const service = readService(ctx);
  const active = await service.active();
  if (!active) throw new NoActivePolicyError();
  const { ruleSet, watermark } = active;
  const now = service.now();
  const { evaluation, stale } = await service.cache.current(ruleSet, now, watermark);
  const personBudgets = new Set(
    ruleSet.budgets.filter((b) => b.subject === 'person' && b.id).map((b) => b.id as string),
  );
  const result = evaluateAt(
    ruleSet,
    evaluation,
    now,
    (s) => s.kind === 'team' || personBudgets.has(s.id),
    true,
  );
  const named = seesNames(ctx.caller.role);
  const k = ruleSet.ir.privacy.minGroupSize;
  const sizes = new Map<string, number>();
  for (const p of evaluation.directory.people) {
    if (p.team) sizes.set(p.team, (sizes.get(p.team) ?? 0) + 1);
  }
  const currency = ruleSet.ir.currency;
  const rows: BudgetShape[] = [];
  let suppressed = 0;
  if (!filter.team) {
    for (const state of result.org?.budgets ?? []) {
      rows.push({
        subjectKind: 'org',
        subjectId: null,
        currency,
        people: null,
        state,
        extraMoney: 0,
      });
    }
  }
  const subjects = [...result.subjects].sort((a, b) =>
    a.kind === b.kind ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.kind === 'team' ? -1 : 1,
  );
  for (const s of subjects) {
    if (filter.team && !(s.kind === 'team' && s.id === filter.team)) continue;
    for (const state of s.budgets) {
      if (s.kind === 'person') {
        if (!named && s.id !== ctx.caller.person) {
          suppressed++;
          continue;
        }
        rows.push({
          subjectKind: 'person',
          subjectId: s.id,
          currency,
          people: 1,
          state,
          extraMoney: 0,
        });
        continue;
      }
      const people = sizes.get(s.id) ?? 0;
      if (!groupVisible(people, k, named)) {
        suppressed++;
        continue;
      }
      rows.push({ subjectKind: 'team', subjectId: s.id, currency, people, state, extraMoney: 0 });
    }
  }
  // approved money exceptions raise the limit until they expire, as they do for escalations
  const extras = await activeExtras(ctx.store, now, {
    people: rows.filter((r) => r.subjectKind === 'person').map((r) => r.subjectId as string),
    teams: rows.filter((r) => r.subjectKind === 'team').map((r) => r.subjectId as string),
  });
  for (const r of rows)
    if (r.subjectKind !== 'org')
      r.extraMoney = extras.money.get(`${r.subjectKind}:${r.subjectId}`) ?? 0;
  if (named && rows.some((r) => r.subjectKind === 'person')) {
    for (const r of rows)
      if (r.subjectKind === 'person' && r.subjectId && r.subjectId !== ctx.caller.person)
        await ctx.audit.record({ action: 'read.budget', subject: r.subjectId });
  }
  return { rows, suppressed, minGroupSize: k, stale };
}

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
        'Budgets of the active policy: org first, then teams, then people. Small teams are suppressed below governance.',
      args: { team: t.arg.string({ required: false, description: 'Only this team’s budgets.' }) },
      errors: { types: [NoActivePolicyError], directResult: true },
      resolve: async (_root, args, ctx) => {
        const { rows, suppressed, minGroupSize, stale } = await loadBudgets(ctx, args);
        const connection = resolveArrayConnection({ args, defaultSize: 50, maxSize: 500 }, rows);
        return connectionWith(connection, { suppressed, minGroupSize, stale });
      },
    },
    BudgetConnection,
  ),
);
