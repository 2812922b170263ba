// The engine's UsageReader over PostgreSQL: set-based SQL over daily_rollups (whose `day`
// is the local date in the policy timezone), people and teams. Every read is one
// statement per source, whatever the number of windows or subjects: sums per window are
// FILTER clauses over one scan, and person/team/org totals come from GROUPING SETS.
import type {
  Directory,
  DirectoryPerson,
  DirectoryTeam,
  FactGrouping,
  FactSums,
  FactWindow,
  GroupedFactSums,
  PersonScope,
  UsageReader,
} from '../engine/ports.ts';
import type { UsageDimension, UsageQuery, UsageRow } from '../engine/usage.ts';
import { UNCLASSIFIED } from '../engine/usage.ts';
import type { Store } from './db.ts';

/** SQL for each fact over a row of daily_rollups (or the raw-event union below). */
const FACT_SQL: Record<string, string> = {
  tokens: 'x.input_tokens + x.output_tokens + x.cache_read_tokens + x.cache_write_tokens',
  input_tokens: 'x.input_tokens',
  output_tokens: 'x.output_tokens',
  cache_read_tokens: 'x.cache_read_tokens',
  cache_write_tokens: 'x.cache_write_tokens',
  cost: 'x.cost',
  requests: 'x.requests',
  tasks: 'x.tasks',
  accepted: 'x.accepted',
  rejected: 'x.rejected',
  reworked: 'x.reworked',
  completed: 'x.completed',
  minutes_saved: 'x.minutes_saved',
  redaction_failures: 'x.redaction_failures',
  sensitive_flags: 'x.sensitive_flags',
  policy_exceptions: 'x.policy_exceptions',
};

/** Raw events shaped like rollup rows, for sub-day windows ($1 start, $2 end). */
const RAW_EVENTS = `(
  select person_id, ts, environment, input_tokens, output_tokens, cache_read_tokens,
         cache_write_tokens, coalesce(cost, 0) as cost, requests::bigint as requests,
         0::bigint as tasks, 0::bigint as accepted, 0::bigint as rejected, 0::bigint as reworked,
         0::bigint as completed, 0::numeric as minutes_saved, 0::bigint as redaction_failures,
         0::bigint as sensitive_flags, 0::bigint as policy_exceptions
    from usage_events where ts > $1 and ts <= $2
  union all
  select person_id, ts, '', 0, 0, 0, 0, 0, 0, 1, (outcome = 'accepted')::int, (outcome = 'rejected')::int,
         (outcome = 'reworked')::int, (outcome = 'completed')::int, minutes_saved, 0, 0, 0
    from outcome_events where ts > $1 and ts <= $2
  union all
  select person_id, ts, '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (flag = 'redaction_failure')::int,
         (flag = 'sensitive_data')::int, (flag = 'policy_exception')::int
    from compliance_events where ts > $1 and ts <= $2
)`;

class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

function scopeSql(scope: PersonScope | undefined, params: Params, column: string): string {
  if (!scope) return 'true';
  const people = params.add([...(scope.people ?? [])], '::text[]');
  if (!scope.teams?.length) return `${column} = any(${people})`;
  const teams = params.add([...scope.teams], '::text[]');
  // one array, computed once, so the person-first primary key still serves the scan
  return `${column} = any(${people} || array(select id from people where team_id = any(${teams})))`;
}

const GROUPING_SQL: Record<FactGrouping, string> = {
  person: '(x.person_id)',
  team: '(p.team_id)',
  org: '()',
};

type SumRow = { gp: number; gt: number; person_id: string | null; team_id: string | null } & Record<
  string,
  unknown
>;

/** One aggregate statement over `source` with a FILTER column per (window, fact). */
function sumStatement(
  source: string,
  windows: readonly FactWindow[],
  groupings: readonly FactGrouping[],
  scope: PersonScope | undefined,
  params: Params,
  windowCondition: (w: FactWindow) => string,
  activeDays: (cond: string) => string,
  rangeCondition: string,
) {
  const columns: { window: string; fact: string; alias: string }[] = [];
  const selects: string[] = [];
  windows.forEach((w, wi) => {
    let cond = windowCondition(w);
    if (w.environment) cond += ` and x.environment = ${params.add(w.environment)}`;
    w.facts.forEach((fact, fi) => {
      const alias = `c${wi}_${fi}`;
      columns.push({ window: w.key, fact, alias });
      if (fact === 'active_days') selects.push(`${activeDays(cond)} as ${alias}`);
      else {
        const expr = FACT_SQL[fact];
        if (!expr) throw new RangeError(`unknown fact: ${fact}`);
        selects.push(`coalesce(sum(${expr}) filter (where ${cond}), 0)::text as ${alias}`);
      }
    });
  });
  const where = `${rangeCondition} and ${scopeSql(scope, params, 'x.person_id')}`;
  // GROUPING() accepts only expressions that some grouping set uses
  const has = (g: FactGrouping) => groupings.includes(g);
  const sql = `
    select ${has('person') ? 'grouping(x.person_id)' : '1'} as gp,
           ${has('team') ? 'grouping(p.team_id)' : '1'} as gt,
           ${has('person') ? 'x.person_id' : 'null'} as person_id,
           ${has('team') ? 'p.team_id' : 'null'} as team_id,
           ${selects.join(',\n           ')}
      from ${source} x join people p on p.id = x.person_id
     where ${where}
     group by grouping sets (${groupings.map((g) => GROUPING_SQL[g]).join(', ')})`;
  return { sql, columns };
}

function collect(
  rows: SumRow[],
  columns: { window: string; fact: string; alias: string }[],
  out: GroupedFactSums,
) {
  for (const row of rows) {
    let grouping: FactGrouping;
    let id: string | null;
    if (Number(row.gp) === 0) [grouping, id] = ['person', row.person_id];
    else if (Number(row.gt) === 0) [grouping, id] = ['team', row.team_id];
    else [grouping, id] = ['org', 'org'];
    if (id === null) continue; // people without a team have no team total
    let sums = out[grouping];
    if (!sums) {
      sums = new Map();
      out[grouping] = sums;
    }
    for (const c of columns) {
      let byId = (sums as FactSums).get(c.window);
      if (!byId) {
        byId = new Map();
        (sums as FactSums).set(c.window, byId);
      }
      let values = byId.get(id);
      if (!values) {
        values = {};
        byId.set(id, values);
      }
      values[c.fact] = Number(row[c.alias]);
    }
  }
}

const DIMENSION_SQL: Record<UsageDimension, string> = {
  person: 'x.person_id',
  team: 'p.team_id',
  model: 'x.model',
  class: `coalesce(c.class, '${UNCLASSIFIED}')`,
  project: 'x.project',
  environment: 'x.environment',
};

export function usageReader(store: Store): UsageReader {
  return {
    async directory(scope) {
      const params = new Params();
      const peopleWhere = scope ? scopeSql(scope, params, 'id') : 'true';
      const people = await store.query<{
        id: string;
        name: string | null;
        team_id: string | null;
        role: string | null;
        manager_id: string | null;
        opted_in: boolean;
        from_directory: boolean;
        attributes: Record<string, unknown> | null;
      }>(
        `select id, name, team_id, role, manager_id, opted_in, from_directory, attributes
           from people where ${peopleWhere} order by id`,
        params.values,
      );
      const teamParams = new Params();
      const teamWhere = scope
        ? `id = any(${teamParams.add([...new Set(people.map((p) => p.team_id).filter((t) => t !== null))], '::text[]')})`
        : 'true';
      const teams = await store.query<{
        id: string;
        name: string;
        parent_id: string | null;
        cost_center: string | null;
        sensitivity: string;
        owner: string | null;
        from_directory: boolean;
      }>(
        `select id, name, parent_id, cost_center, sensitivity, owner, from_directory
           from teams where ${teamWhere} order by id`,
        teamParams.values,
      );
      return {
        people: people.map(
          (p): DirectoryPerson => ({
            id: p.id,
            name: p.name,
            team: p.team_id,
            role: p.role,
            manager: p.manager_id,
            optedIn: p.opted_in,
            fromDirectory: p.from_directory,
            attributes: p.attributes ?? {},
          }),
        ),
        teams: teams.map(
          (t): DirectoryTeam => ({
            id: t.id,
            name: t.name,
            parent: t.parent_id,
            costCenter: t.cost_center,
            sensitivity: t.sensitivity,
            owner: t.owner,
            fromDirectory: t.from_directory,
          }),
        ),
      } satisfies Directory;
    },

    async sumFacts(windows, groupings, scope) {
      const out: GroupedFactSums = {};
      if (groupings.length === 0) return out;
      const days = windows.filter((w) => w.kind === 'days');
      const spans = windows.filter((w) => w.kind === 'span');
      const work: Promise<void>[] = [];
      if (days.length > 0) {
        const params = new Params();
        // ISO dates sort as text
        const from = days.map((w) => w.from).sort()[0];
        const to = days
          .map((w) => w.to)
          .sort()
          .at(-1) as string;
        const range = `x.day >= ${params.add(from, '::date')} and x.day < ${params.add(to, '::date')}`;
        const { sql, columns } = sumStatement(
          'daily_rollups',
          days,
          groupings,
          scope,
          params,
          (w) =>
            w.kind === 'days'
              ? `x.day >= ${params.add(w.from, '::date')} and x.day < ${params.add(w.to, '::date')}`
              : 'false',
          (cond) => `count(distinct x.day) filter (where ${cond} and x.requests > 0)`,
          range,
        );
        work.push(
          store.query<SumRow>(sql, params.values).then((rows) => collect(rows, columns, out)),
        );
      }
      if (spans.length > 0) {
        const params = new Params();
        params.add(new Date(Math.min(...spans.map((w) => w.start.getTime()))).toISOString());
        params.add(new Date(Math.max(...spans.map((w) => w.end.getTime()))).toISOString());
        const { sql, columns } = sumStatement(
          RAW_EVENTS,
          spans,
          groupings,
          scope,
          params,
          (w) =>
            w.kind === 'span'
              ? `x.ts > ${params.add(w.start.toISOString(), '::timestamptz')} and x.ts <= ${params.add(w.end.toISOString(), '::timestamptz')}`
              : 'false',
          // a sub-day window holds at most one active day (two across midnight: counted as one)
          (cond) => `least(count(*) filter (where ${cond} and x.requests > 0), 1)`,
          'true',
        );
        work.push(
          store.query<SumRow>(sql, params.values).then((rows) => collect(rows, columns, out)),
        );
      }
      await Promise.all(work);
      return out;
    },

    async watermark() {
      const rows = await store.query<{ n: string }>(
        'select coalesce(sum(n), 0)::text as n from engine_change_counters',
      );
      return rows[0]?.n ?? '0';
    },

    async usage(query: UsageQuery): Promise<UsageRow[]> {
      const params = new Params();
      const where = [
        `x.day >= ${params.add(query.from, '::date')}`,
        `x.day < ${params.add(query.to, '::date')}`,
        // outcome and compliance facts sit in rows with no model: they are not usage
        `x.model <> ''`,
      ];
      const filter = (column: string, values: readonly string[] | null) => {
        if (values) where.push(`${column} = any(${params.add([...values], '::text[]')})`);
      };
      if (query.people || query.teams) {
        const people = params.add([...(query.people ?? [])], '::text[]');
        const teams = params.add([...(query.teams ?? [])], '::text[]');
        where.push(`(x.person_id = any(${people}) or p.team_id = any(${teams}))`);
      }
      filter('x.model', query.models);
      filter(DIMENSION_SQL.class, query.classes);
      filter('x.project', query.projects);
      filter('x.environment', query.environments);
      const models = Object.keys(query.classOf).sort();
      const classModels = params.add(models, '::text[]');
      const classNames = params.add(
        models.map((m) => query.classOf[m]),
        '::text[]',
      );
      const bucket =
        query.bucket === null
          ? 'null::text'
          : query.bucket === 'day'
            ? `to_char(x.day, 'YYYY-MM-DD')`
            : `to_char(date_trunc('${query.bucket}', x.day)::date, 'YYYY-MM-DD')`;
      const dims = query.groupBy.map((d, i) => `${DIMENSION_SQL[d]} as d${i}`);
      const groupKeys = ['1', ...query.groupBy.map((_d, i) => String(i + 2))];
      const rows = await store.query<Record<string, string | null>>(
        `select ${bucket} as bucket${dims.length ? `, ${dims.join(', ')}` : ''},
                count(distinct x.person_id)::text as people,
                sum(x.input_tokens)::text as input_tokens, sum(x.output_tokens)::text as output_tokens,
                sum(x.cache_read_tokens)::text as cache_read_tokens,
                sum(x.cache_write_tokens)::text as cache_write_tokens,
                sum(x.cost)::text as cost, sum(x.requests)::text as requests,
                sum(x.unpriced_requests)::text as unpriced_requests
           from daily_rollups x
           join people p on p.id = x.person_id
           left join unnest(${classModels}, ${classNames}) as c(model, class) on c.model = x.model
          where ${where.join(' and ')}
          group by ${groupKeys.join(', ')}
          order by ${groupKeys.join(', ')}`,
        params.values,
      );
      return rows.map((r) => {
        const group: UsageRow['group'] = {};
        query.groupBy.forEach((d, i) => {
          group[d] = r[`d${i}`] ?? null;
        });
        const input = Number(r.input_tokens);
        const output = Number(r.output_tokens);
        const cacheRead = Number(r.cache_read_tokens);
        const cacheWrite = Number(r.cache_write_tokens);
        return {
          bucket: r.bucket ?? null,
          group,
          people: Number(r.people),
          inputTokens: input,
          outputTokens: output,
          cacheReadTokens: cacheRead,
          cacheWriteTokens: cacheWrite,
          tokens: input + output + cacheRead + cacheWrite,
          cost: r.cost ?? '0',
          requests: Number(r.requests),
          unpricedRequests: Number(r.unpriced_requests),
        };
      });
    },
  };
}

/** The same reader as a class, for callers that prefer `new StoreUsageReader(store)`. */
export class StoreUsageReader implements UsageReader {
  readonly directory: UsageReader['directory'];
  readonly sumFacts: UsageReader['sumFacts'];
  readonly watermark: UsageReader['watermark'];
  readonly usage: UsageReader['usage'];
  constructor(store: Store) {
    const reader = usageReader(store);
    this.directory = reader.directory;
    this.sumFacts = reader.sumFacts;
    this.watermark = reader.watermark;
    this.usage = reader.usage;
  }
}
