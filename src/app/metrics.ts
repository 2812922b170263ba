// Metric series as this caller may see them (privacy.ts): governance and admin read any
// person, team or the org, named, each person read audited; a member reads their own
// person series; below governance team and org series are made of closed team-days of
// visible teams on which at least min_group_size of the team took part (privacy R11), so
// two windows, buckets or reads differ only by whole such team-days; a point made of none
// is left out.
import {
  type MetricPoint,
  MetricSeriesError,
  metricSeries,
  type SeriesSubjectKind,
} from '../engine/metric-series.ts';
import {
  localDate,
  resolveUsageRequest,
  type UsageBucket,
  UsageRequestError,
} from '../engine/usage.ts';
import type { Store } from '../store/db.ts';
import type { Session } from './caller.ts';
import { ForbiddenError, InvalidRequestError, NoActivePolicyError } from './errors.ts';
import { perStore } from './per-store.ts';
import { type Identity, privacyFor } from './privacy.ts';
import { readServiceFor } from './reads.ts';

export type MetricsRequest = {
  metrics?: readonly string[] | null;
  subject: SeriesSubjectKind;
  /** people or teams; default: every one the caller may see (a member: themselves) */
  ids?: readonly string[] | null;
  /** local dates [from, to); default this month to date */
  from?: string | null;
  to?: string | null;
  bucket?: UsageBucket | null;
};

export type MetricsPoint = MetricPoint & {
  /** the person of a person series as this caller may see them; null otherwise */
  shownPerson: Identity | null;
};

export type MetricsResult = {
  metrics: string[];
  subject: SeriesSubjectKind;
  bucket: UsageBucket;
  from: string;
  to: string;
  timezone: string;
  points: MetricsPoint[];
  suppressed: number;
  minGroupSize: number | null;
};

export type MetricsReads = {
  series(session: Session, request: MetricsRequest): Promise<MetricsResult>;
};

export const metricsReadsFor = perStore(createMetricsReads);

function createMetricsReads(store: Store): MetricsReads {
  const reads = readServiceFor(store);
  const privacy = privacyFor(store);
  return {
    async series(session, request) {
      const { caller, audit } = session;
      const [active, view] = await Promise.all([reads.active(), privacy.view(session)]);
      if (!active) throw new NoActivePolicyError();
      const ruleSet = active.ruleSet;
      let range: { from: string; to: string };
      try {
        const { from, to } = resolveUsageRequest(
          { from: request.from, to: request.to },
          ruleSet.ir,
          reads.now(),
        );
        range = { from, to };
      } catch (error) {
        if (error instanceof UsageRequestError)
          throw new InvalidRequestError([{ field: error.field, message: error.message }]);
        throw error;
      }
      const bucket = request.bucket ?? 'week';
      let ids = request.ids ? [...new Set(request.ids)] : null;
      let teamDays: { teams: readonly string[]; floor: number } | undefined;
      const k = view.minGroupSize;
      if (request.subject === 'person' && !view.named) {
        if (caller.role !== 'member' || !caller.person)
          throw new ForbiddenError(
            'person metric series need a governance key (a member reads their own; a manager their reports through myReports)',
          );
        if (ids?.some((id) => id !== caller.person))
          throw new ForbiddenError('a member may read only their own metric series');
        ids = [caller.person];
      }
      if (request.subject !== 'person' && !view.named) {
        const visible = view.visibleTeams ?? [];
        // team-days of at least k people, closed days only: no two reads differ by less (R11)
        teamDays = { teams: visible, floor: k };
        if (request.subject === 'team') ids = (ids ?? visible).filter((t) => view.teamVisible(t));
        const today = localDate(reads.now(), ruleSet.ir.timezone);
        if (range.to > today) range = { from: range.from, to: today };
        if (visible.length === 0 || ids?.length === 0 || range.from >= range.to)
          return empty(request.subject, bucket, range, ruleSet.ir.timezone, k);
      }
      let result: Awaited<ReturnType<typeof metricSeries>>;
      try {
        result = await metricSeries(
          reads.reader,
          ruleSet,
          { metrics: request.metrics ?? null, subject: request.subject, ids, bucket, ...range },
          { teamDays },
        );
      } catch (error) {
        if (error instanceof MetricSeriesError)
          throw new InvalidRequestError([{ field: error.field, message: error.message }]);
        throw error;
      }
      const suppress = !view.named && request.subject !== 'person';
      const kept = suppress ? result.points.filter((p) => p.people >= k) : result.points;
      if (request.subject === 'person' && view.named) {
        const named = [...new Set(kept.map((p) => p.subject))].filter((id) => id !== caller.person);
        await Promise.all(
          named.map((id) =>
            audit.record({ action: 'read.metrics', subject: id, detail: { bucket, ...range } }),
          ),
        );
      }
      return {
        metrics: result.metrics,
        subject: request.subject,
        bucket,
        ...range,
        timezone: ruleSet.ir.timezone,
        points: kept.map((p) => ({
          ...p,
          shownPerson: request.subject === 'person' ? view.identity(p.subject) : null,
        })),
        suppressed: result.points.length - kept.length,
        minGroupSize: suppress ? k : null,
      };
    },
  };
}

function empty(
  subject: SeriesSubjectKind,
  bucket: UsageBucket,
  range: { from: string; to: string },
  timezone: string,
  k: number,
): MetricsResult {
  return {
    metrics: [],
    subject,
    bucket,
    ...range,
    timezone,
    points: [],
    suppressed: 0,
    minGroupSize: k,
  };
}
