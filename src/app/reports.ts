// The manager view: a person with the readReports capability sees the people who name them
// as manager in the directory (privacy.ts, reportsOf), named, with their quota band and
// use, this month's metrics and a weekly trend. Every report read is audited
// (`read.reports`, batched with the other named reads).
import { bucketStart, type MetricPoint, metricSeries } from '../engine/metric-series.ts';
import { addDays, localDate } from '../engine/usage.ts';
import { periodBounds } from '../policy/windows.ts';
import type { Store } from '../store/db.ts';
import { reportsOf as directReports, type PersonRow } from '../store/directory.ts';
import type { Session } from './caller.ts';
import { ForbiddenError, InvalidRequestError } from './errors.ts';
import { perStore } from './per-store.ts';
import { reportsOf } from './privacy.ts';
import { type BandInfo, quotaFor } from './quota.ts';
import { readServiceFor } from './reads.ts';
import { can } from './roles.ts';

export type DirectReport = {
  person: PersonRow;
  /** quota band and use this period (null without a policy or a tier) */
  quota: BandInfo | null;
  /** this month to date, every declared metric */
  month: MetricPoint | null;
  /** one point per ISO week, oldest first, the current week last */
  trend: MetricPoint[];
};

export type ReportsResult = {
  manager: string;
  metrics: string[];
  /** first local day of this month and of the first trend week; local day after today */
  monthFrom: string;
  trendFrom: string;
  to: string;
  reports: DirectReport[];
};

/** Most weeks a trend may cover. */
export const MAX_TREND_WEEKS = 26;

export type ReportsReads = {
  myReports(session: Session, options?: { weeks?: number | null }): Promise<ReportsResult>;
};

export const reportsReadsFor = perStore(createReportsReads);

function createReportsReads(store: Store): ReportsReads {
  const reads = readServiceFor(store);
  const quota = quotaFor(store);
  return {
    async myReports({ caller, audit }, options = {}) {
      if (!can(caller.role, 'readReports'))
        throw new ForbiddenError(`role "${caller.role}" may not read reports`);
      if (!caller.person)
        throw new ForbiddenError(
          'this key is bound to no person: a manager view is a person’s own',
        );
      const weeks = options.weeks ?? 8;
      if (!Number.isInteger(weeks) || weeks < 1 || weeks > MAX_TREND_WEEKS)
        throw new InvalidRequestError([
          { field: 'weeks', message: `must be a whole number from 1 to ${MAX_TREND_WEEKS}` },
        ]);
      const [active, candidates] = await Promise.all([
        reads.active(),
        directReports(store, caller.person),
      ]);
      const people = reportsOf(caller, candidates);
      const ids = people.map((p) => p.id);
      const now = reads.now();
      const tz = active?.ruleSet.ir.timezone ?? 'UTC';
      const today = localDate(now, tz);
      const to = addDays(today, 1);
      const monthFrom = localDate(periodBounds('month', now, tz).start, tz);
      const trendFrom = addDays(bucketStart(today, 'week'), -7 * (weeks - 1));
      const empty: ReportsResult = {
        manager: caller.person,
        metrics: active?.ruleSet.ir.metricOrder ?? [],
        monthFrom,
        trendFrom,
        to,
        reports: [],
      };
      if (ids.length === 0) return empty;
      // the reads of named people: audited before the data leaves
      await Promise.all(
        ids.map((id) =>
          audit.record({ action: 'read.reports', subject: id, detail: { manager: caller.person } }),
        ),
      );
      if (!active)
        return {
          ...empty,
          reports: people.map((person) => ({ person, quota: null, month: null, trend: [] })),
        };
      const request = { metrics: null, subject: 'person' as const, ids, to };
      const [bands, month, trend] = await Promise.all([
        quota.personBands(ids),
        metricSeries(reads.reader, active.ruleSet, {
          ...request,
          from: monthFrom,
          bucket: 'month',
        }),
        metricSeries(reads.reader, active.ruleSet, { ...request, from: trendFrom, bucket: 'week' }),
      ]);
      return {
        ...empty,
        metrics: month.metrics,
        reports: people.map((person, i) => ({
          person,
          quota: bands[i],
          month: month.points.find((p) => p.subject === person.id) ?? null,
          trend: trend.points.filter((p) => p.subject === person.id),
        })),
      };
    },
  };
}
