// Usage reads: token and cost aggregates from the daily rollups, grouped and bucketed, as
// this caller may see them. Governance sees everything (reads naming people audited); a
// member sees their own; below that, aggregates cover only visible teams (privacy.ts), are
// filtered and grouped by team and time only (no person, model, class, project or
// environment), count only closed days and team-days with at least min_group_size active
// people, and groups of fewer than min_group_size active people are left out.
import { suppressSmallGroups } from '../engine/privacy.ts';
import {
  localDate,
  resolveUsageRequest,
  type UsageQuery,
  type UsageRequest,
  UsageRequestError,
  type UsageRow,
} from '../engine/usage.ts';
import type { Store } from '../store/db.ts';
import type { Session } from './caller.ts';
import { ForbiddenError, InvalidRequestError } from './errors.ts';
import { perStore } from './per-store.ts';
import { type Identity, privacyFor } from './privacy.ts';
import { readServiceFor } from './reads.ts';

export type UsageGroup = UsageRow & {
  /** the person of a person group, as this caller may see them */
  shownPerson: Identity | null;
};

export type UsageResult = {
  query: UsageQuery;
  rows: UsageGroup[];
  currency: string;
  timezone: string;
  suppressed: number;
  minGroupSize: number | null;
};

/** Dimensions below governance may neither filter nor group by (a member's own usage aside). */
const TEAM_ONLY = [
  ['model', 'models'],
  ['class', 'classes'],
  ['project', 'projects'],
  ['environment', 'environments'],
] as const;

export type UsageReads = { usage(session: Session, request: UsageRequest): Promise<UsageResult> };

export const usageReadsFor = perStore(createUsageReads);

function createUsageReads(store: Store): UsageReads {
  const reads = readServiceFor(store);
  const privacy = privacyFor(store);
  return {
    async usage(session, request) {
      const { caller, audit } = session;
      const [active, view] = await Promise.all([reads.active(), privacy.view(session)]);
      const ir = active?.ruleSet.ir ?? null;
      const own = caller.role === 'member';
      if (own && !caller.person) throw new ForbiddenError('this member key is bound to no person');
      if (!view.named && !own) {
        if (request.people?.length)
          throw new ForbiddenError(
            'filtering usage by person needs a governance key: below governance usage is read by team and other groups',
          );
        if (request.groupBy?.includes('person'))
          throw new ForbiddenError(
            'grouping usage by person needs a governance key: below governance usage is read by team and other groups',
          );
        // A model, class, project or environment cell inside a visible team can hold one
        // person, and two such filters differ by one; below governance every figure is
        // therefore a visible team's (or their sum) over days (docs/privacy.md, R2)
        for (const [dimension, field] of TEAM_ONLY)
          if (request[field]?.length || request.groupBy?.includes(dimension))
            throw new ForbiddenError(
              `filtering or grouping usage by ${dimension} needs a governance key: below governance usage is read by team and time only`,
            );
      }
      let teams: readonly string[] | null | undefined = request.teams;
      if (!view.named && !own) {
        // only visible teams count, whatever the filter: hidden people are in no total
        const visible = new Set(view.visibleTeams ?? []);
        teams = (request.teams ?? [...visible]).filter((t) => visible.has(t));
      }
      let query: UsageQuery;
      try {
        query = resolveUsageRequest(
          {
            ...request,
            // a member's usage is their own, whatever the filter says
            people: own ? [caller.person as string] : view.named ? request.people : [],
            teams: own ? null : teams,
          },
          ir,
          reads.now(),
        );
      } catch (error) {
        if (error instanceof UsageRequestError)
          throw new InvalidRequestError([
            { field: `filter.${error.field}`, message: error.message },
          ]);
        throw error;
      }
      if (view.named && (query.groupBy.includes('person') || query.people)) {
        await audit.record({
          action: 'read.usage',
          subject: query.people?.length === 1 ? query.people[0] : null,
          detail: { groupBy: query.groupBy, people: query.people },
        });
      }
      const aggregate = !view.named && !own;
      if (aggregate) {
        // Time cannot difference (docs/privacy.md, R11): team-days with fewer than k active
        // people are in no figure, and only closed days are, so two reads never differ by
        // what someone did in between
        const today = localDate(reads.now(), ir?.timezone ?? 'UTC');
        query = {
          ...query,
          to: query.to < today ? query.to : today,
          teamDayFloor: view.minGroupSize > 1 ? view.minGroupSize : null,
        };
      }
      const empty = aggregate && (query.teams?.length === 0 || query.from >= query.to);
      const rows = empty ? [] : await reads.reader.usage(query);
      const kept = suppressSmallGroups(rows, view.minGroupSize, view.named || own);
      return {
        query,
        rows: kept.rows.map((r) => ({
          ...r,
          shownPerson: r.group.person ? view.identity(r.group.person, 'usage') : null,
        })),
        currency: ir?.currency ?? 'USD',
        timezone: ir?.timezone ?? 'UTC',
        suppressed: kept.suppressed,
        minGroupSize: kept.minGroupSize,
      };
    },
  };
}
