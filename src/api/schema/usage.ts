// `usage(filter, groupBy, bucket)`: token and cost aggregates from the daily rollups, by
// person, team, model, class, project, environment and cost centre, in day, week or month buckets of
// the policy timezone. The rules (members their own, privacy below governance, audit) are
// in src/app/usage.ts.
import { resolveArrayConnection } from '@pothos/plugin-relay';
import { ForbiddenError, InvalidRequestError } from '../../app/errors.ts';
import { type UsageGroup, usageReadsFor } from '../../app/usage.ts';
import {
  type CodingActivity,
  USAGE_BUCKETS,
  USAGE_DIMENSIONS,
  type UsageQuery,
} from '../../engine/usage.ts';
import { builder } from '../builder.ts';
import { connectionWith } from '../connections.ts';
import { sessionOf } from '../context.ts';
import { MoneyRef } from './money.ts';

const UsageDimensionEnum = builder.enumType('UsageDimension', { values: USAGE_DIMENSIONS });
export const UsageBucketEnum = builder.enumType('UsageBucket', { values: USAGE_BUCKETS });

const UsageFilter = builder.inputType('UsageFilter', {
  description: 'Which usage to sum. Dates are local dates (YYYY-MM-DD) in the policy timezone.',
  fields: (t) => ({
    from: t.string({
      required: false,
      description: 'First day (inclusive); default: start of this month.',
    }),
    to: t.string({ required: false, description: 'Last day (exclusive); default: tomorrow.' }),
    people: t.stringList({ required: false }),
    teams: t.stringList({ required: false }),
    models: t.stringList({ required: false }),
    classes: t.stringList({ required: false }),
    projects: t.stringList({ required: false }),
    environments: t.stringList({ required: false }),
    costCenters: t.stringList({
      required: false,
      description: "Cost centres of the people's current teams.",
    }),
  }),
});

const CodingActivityRef = builder.objectRef<CodingActivity>('CodingActivity').implement({
  description:
    'Claude Code activity from its analytics report (core_metrics): the latest figures the provider reported for each day.',
  fields: (t) => ({
    sessions: t.exposeFloat('sessions'),
    linesAdded: t.exposeFloat('linesAdded'),
    linesRemoved: t.exposeFloat('linesRemoved'),
    commits: t.exposeFloat('commits'),
    pullRequests: t.exposeFloat('pullRequests'),
  }),
});

const UsageGroupRef = builder.objectRef<UsageGroup & { currency: string }>('UsageGroup').implement({
  description: 'Usage summed over one group (and bucket). Dimensions not grouped by are null.',
  fields: (t) => ({
    bucket: t.exposeString('bucket', {
      nullable: true,
      description: 'First local day of the bucket, YYYY-MM-DD.',
    }),
    person: t.string({
      nullable: true,
      description: "Person id (governance, or a member's own).",
      resolve: (r) => r.shownPerson?.id ?? null,
    }),
    team: t.string({ nullable: true, resolve: (r) => r.group.team ?? null }),
    model: t.string({ nullable: true, resolve: (r) => r.group.model ?? null }),
    class: t.string({ nullable: true, resolve: (r) => r.group.class ?? null }),
    project: t.string({ nullable: true, resolve: (r) => r.group.project ?? null }),
    environment: t.string({ nullable: true, resolve: (r) => r.group.environment ?? null }),
    costCenter: t.string({
      nullable: true,
      description: "The cost centre of the people's current team (chargeback).",
      resolve: (r) => r.group.costCenter ?? null,
    }),
    people: t.exposeInt('people', { description: 'Distinct people in the group.' }),
    inputTokens: t.exposeFloat('inputTokens'),
    outputTokens: t.exposeFloat('outputTokens'),
    cacheReadTokens: t.exposeFloat('cacheReadTokens'),
    cacheWriteTokens: t.exposeFloat('cacheWriteTokens'),
    tokens: t.exposeFloat('tokens', { description: 'input + output + cache read + cache write' }),
    cost: t.field({
      type: MoneyRef,
      description: 'Exact, in the policy currency.',
      resolve: (r) => ({ amount: r.cost, currency: r.currency }),
    }),
    requests: t.exposeFloat('requests'),
    unpricedRequests: t.exposeFloat('unpricedRequests'),
    activity: t.field({
      type: CodingActivityRef,
      description:
        "Claude Code activity (core_metrics) of the group's people and days. It has no model, project or environment: zero when the query groups or filters by one of those.",
      resolve: (r) => r.activity,
    }),
  }),
});

type UsageConnectionExtra = {
  query: UsageQuery;
  currency: string;
  timezone: string;
  suppressed: number;
  minGroupSize: number | null;
};

const UsageConnection = builder.connectionObject({
  type: UsageGroupRef,
  name: 'UsageConnection',
  fields: (t) => {
    const extra = (c: unknown) => c as UsageConnectionExtra;
    return {
      from: t.string({ resolve: (c) => extra(c).query.from }),
      to: t.string({ resolve: (c) => extra(c).query.to }),
      groupBy: t.field({
        type: [UsageDimensionEnum],
        resolve: (c) => [...extra(c).query.groupBy],
      }),
      bucket: t.field({
        type: UsageBucketEnum,
        nullable: true,
        resolve: (c) => extra(c).query.bucket,
      }),
      currency: t.string({ resolve: (c) => extra(c).currency }),
      timezone: t.string({ resolve: (c) => extra(c).timezone }),
      suppressedGroups: t.int({
        description: 'Groups left out because they hold fewer than minGroupSize people.',
        resolve: (c) => extra(c).suppressed,
      }),
      minGroupSize: t.int({
        nullable: true,
        description: 'The k-anonymity threshold applied (null when none was).',
        resolve: (c) => extra(c).minGroupSize,
      }),
    };
  },
});

builder.queryField('usage', (t) =>
  t.connection(
    {
      type: UsageGroupRef,
      authScopes: { readDirectory: true },
      description:
        'Usage aggregates (tokens by kind, exact cost, requests) grouped and bucketed. Members see only their own; below governance only closed days count (`to` says where it stopped), and only team-days on which at least minGroupSize of the team were active (docs/privacy.md, R11).',
      args: {
        filter: t.arg({ type: UsageFilter, required: false }),
        groupBy: t.arg({ type: [UsageDimensionEnum], required: false }),
        bucket: t.arg({ type: UsageBucketEnum, required: false }),
      },
      errors: { types: [InvalidRequestError, ForbiddenError], directResult: true },
      resolve: async (_root, args, ctx) => {
        const result = await usageReadsFor(ctx.store).usage(sessionOf(ctx), {
          ...(args.filter ?? {}),
          groupBy: args.groupBy,
          bucket: args.bucket,
        });
        const rows = result.rows.map((r) => ({ ...r, currency: result.currency }));
        const connection = resolveArrayConnection({ args, defaultSize: 100, maxSize: 1000 }, rows);
        const extra: UsageConnectionExtra = {
          query: result.query,
          currency: result.currency,
          timezone: result.timezone,
          suppressed: result.suppressed,
          minGroupSize: result.minGroupSize,
        };
        return connectionWith(connection, extra);
      },
    },
    UsageConnection,
  ),
);
