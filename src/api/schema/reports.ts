// `myReports(weeks)`: the manager view. The people who name the caller's person as their
// manager, named, with quota band and use, this month's metrics and a weekly trend. The
// rules (the readReports capability, direct reports only, every read audited) are in
// src/app/reports.ts and privacy.ts.
import { ForbiddenError, InvalidRequestError } from '../../app/errors.ts';
import type { MetricsPoint } from '../../app/metrics.ts';
import { type DirectReport, type ReportsResult, reportsReadsFor } from '../../app/reports.ts';
import type { MetricPoint } from '../../engine/metric-series.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { BandEnum } from './band.ts';
import { MetricPointRef } from './metrics.ts';

const named = (p: MetricPoint): MetricsPoint => ({
  ...p,
  shownPerson: { id: p.subject, masked: false },
});

const DirectReportRef = builder.objectRef<DirectReport>('DirectReport').implement({
  description: 'One of the people who name the caller as their manager.',
  fields: (t) => ({
    id: t.string({ resolve: (r) => r.person.id }),
    name: t.string({ nullable: true, resolve: (r) => r.person.name }),
    team: t.string({ nullable: true, resolve: (r) => r.person.teamId }),
    role: t.string({ nullable: true, resolve: (r) => r.person.role }),
    band: t.field({
      type: BandEnum,
      nullable: true,
      description: 'Quota band over the exception-raised limit (the band checkQuota gives).',
      resolve: (r) => r.quota?.band ?? null,
    }),
    quotaPercent: t.float({ nullable: true, resolve: (r) => r.quota?.percent ?? null }),
    quotaUsed: t.float({
      nullable: true,
      description: 'Tokens used this quota period.',
      resolve: (r) => r.quota?.used ?? null,
    }),
    quotaLimit: t.float({
      nullable: true,
      description: 'The exception-raised limit.',
      resolve: (r) => r.quota?.limit ?? null,
    }),
    month: t.field({
      type: MetricPointRef,
      nullable: true,
      description: 'This month to date: every declared metric of the active policy.',
      resolve: (r) => (r.month ? named(r.month) : null),
    }),
    trend: t.field({
      type: [MetricPointRef],
      description: 'One point per ISO week, oldest first; the current week last.',
      resolve: (r) => r.trend.map(named),
    }),
  }),
});

const ReportsRef = builder.objectRef<ReportsResult>('MyReports').implement({
  description: "A manager's view of their direct reports.",
  fields: (t) => ({
    manager: t.exposeString('manager'),
    metrics: t.exposeStringList('metrics'),
    monthFrom: t.exposeString('monthFrom'),
    trendFrom: t.exposeString('trendFrom'),
    to: t.exposeString('to', { description: 'The local day after today (exclusive).' }),
    reports: t.field({ type: [DirectReportRef], resolve: (r) => r.reports }),
  }),
});

builder.queryField('myReports', (t) =>
  t.field({
    type: ReportsRef,
    authScopes: { readReports: true },
    description:
      "The people who name the caller's person as their manager in the directory, named, with quota band and use, this month's metrics and a weekly trend. Needs a key bound to a person; every report read is audited (read.reports).",
    args: {
      weeks: t.arg.int({ required: false, description: 'Weeks of trend, 1 to 26; default 8.' }),
    },
    errors: { types: [ForbiddenError, InvalidRequestError] },
    resolve: (_root, args, ctx) =>
      reportsReadsFor(ctx.store).myReports(sessionOf(ctx), { weeks: args.weeks }),
  }),
);
