// `metrics(subject, ids, metrics, from, to, bucket)`: the policy's declared metrics per
// person, team or the org over day, week or month buckets, for KPI dashboards. Who sees
// what (a member their own, lower roles visible teams with small points left out,
// governance everything, person reads audited) is in src/app/metrics.ts.
import { ForbiddenError, InvalidRequestError, NoActivePolicyError } from '../../app/errors.ts';
import { type MetricsPoint, type MetricsResult, metricsReadsFor } from '../../app/metrics.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { UsageBucketEnum } from './usage.ts';

export const MetricSubjectEnum = builder.enumType('MetricSubject', {
  values: ['person', 'team', 'org'] as const,
});

const MetricValueRef = builder
  .objectRef<{ metric: string; value: number }>('MetricValue')
  .implement({
    description: 'One metric in one bucket.',
    fields: (t) => ({ metric: t.exposeString('metric'), value: t.exposeFloat('value') }),
  });

export const MetricPointRef = builder.objectRef<MetricsPoint>('MetricPoint').implement({
  description: "A subject's metrics in one bucket.",
  fields: (t) => ({
    bucket: t.exposeString('bucket', { description: 'First local day of the bucket, YYYY-MM-DD.' }),
    subject: t.string({
      description: 'The person as the caller may see them, the team id, or "org".',
      resolve: (p) => p.shownPerson?.id ?? p.subject,
    }),
    masked: t.boolean({ resolve: (p) => p.shownPerson?.masked ?? false }),
    people: t.exposeInt('people', {
      description:
        'People taking part in the bucket (any usage, outcome or fact the metrics read).',
    }),
    values: t.field({
      type: [MetricValueRef],
      description: 'The metrics asked for, in that order.',
      resolve: (p) => Object.entries(p.values).map(([metric, value]) => ({ metric, value })),
    }),
  }),
});

const MetricSeriesRef = builder.objectRef<MetricsResult>('MetricSeries').implement({
  description: 'Declared metrics of the active policy over time buckets.',
  fields: (t) => ({
    metrics: t.exposeStringList('metrics'),
    subject: t.field({ type: MetricSubjectEnum, resolve: (r) => r.subject }),
    bucket: t.field({ type: UsageBucketEnum, resolve: (r) => r.bucket }),
    from: t.exposeString('from', { description: 'First local day (inclusive).' }),
    to: t.exposeString('to', { description: 'Last local day (exclusive).' }),
    timezone: t.exposeString('timezone'),
    points: t.field({ type: [MetricPointRef], resolve: (r) => r.points }),
    suppressedPoints: t.int({
      description: 'Points left out below governance: fewer than minGroupSize people took part.',
      resolve: (r) => r.suppressed,
    }),
    minGroupSize: t.exposeInt('minGroupSize', { nullable: true }),
  }),
});

builder.queryField('metrics', (t) =>
  t.field({
    type: MetricSeriesRef,
    authScopes: { readDirectory: true },
    description:
      "The active policy's declared metrics (acceptance, tokens per task, cost per accepted, any other) per person, team or the org over day, week or month buckets, computed by the policy's own formulas. Person series: governance (audited) or a member's own; below governance team and org series cover visible teams and leave out points with fewer than min_group_size people.",
    args: {
      subject: t.arg({ type: MetricSubjectEnum, required: true }),
      ids: t.arg.stringList({
        required: false,
        description: 'People or teams; default every one the caller may see.',
      }),
      metrics: t.arg.stringList({
        required: false,
        description: 'Metric names; default every declared metric.',
      }),
      from: t.arg.string({
        required: false,
        description: 'First local day (YYYY-MM-DD); default the start of this month.',
      }),
      to: t.arg.string({
        required: false,
        description: 'Last local day, exclusive; default tomorrow.',
      }),
      bucket: t.arg({ type: UsageBucketEnum, required: false, description: 'Default week.' }),
    },
    errors: { types: [InvalidRequestError, ForbiddenError, NoActivePolicyError] },
    resolve: (_root, args, ctx) =>
      metricsReadsFor(ctx.store).series(sessionOf(ctx), {
        subject: args.subject,
        ids: args.ids,
        metrics: args.metrics,
        from: args.from,
        to: args.to,
        bucket: args.bucket,
      }),
  }),
);
