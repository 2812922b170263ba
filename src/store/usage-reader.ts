// The engine's UsageReader over PostgreSQL: set-based SQL over daily_rollups (whose `day`
// is the local date in the policy timezone), people and teams. Every read is one
// statement per source, whatever the number of windows or subjects: sums per window are
// FILTER clauses over one hash aggregate by person; team and org totals are added exactly
// from those person rows (BigInt for money), and distinct active days come from one more.
import type {
  DataMarks,
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
import { FACT_NAMES } from '../engine/ports.ts';
import type { UsageDimension, UsageQuery, UsageRow } from '../engine/usage.ts';
import { addDays, UNCLASSIFIED } from '../engine/usage.ts';
import { decimalToPico, picoToDecimal } from '../policy/price.ts';
import { teamBudgetCosts } from './budget-spend.ts';
import { CLIENT_TIMEOUT_SLACK_MS, type Store } from './db.ts';
import { type MeasureQuery, splitMeasures, sumMeasures } from './measure-reader.ts';

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
  sessions: 'x.sessions',
  lines_added: 'x.lines_added',
  lines_removed: 'x.lines_removed',
  commits: 'x.commits',
  pull_requests: 'x.pull_requests',
};

/** Claude Code activity has a day, no time: sub-day windows read it as zero. */
const NO_ACTIVITY =
  '0::bigint as sessions, 0::bigint as lines_added, 0::bigint as lines_removed, 0::bigint as commits, 0::bigint as pull_requests';

/** Raw events shaped like rollup rows, for sub-day windows ($1 start, $2 end). */
const RAW_EVENTS = `(
  select person_id, ts, environment, project, input_tokens, output_tokens, cache_read_tokens,
         cache_write_tokens, coalesce(cost, 0) as cost, requests::bigint as requests,
         0::bigint as tasks, 0::bigint as accepted, 0::bigint as rejected, 0::bigint as reworked,
         0::bigint as completed, 0::numeric as minutes_saved, 0::bigint as redaction_failures,
         0::bigint as sensitive_flags, 0::bigint as policy_exceptions, ${NO_ACTIVITY}
    from usage_events where ts > $1 and ts <= $2
  union all
  select person_id, ts, '', coalesce(project, ''), 0, 0, 0, 0, 0, 0, 1, (outcome = 'accepted')::int, (outcome = 'rejected')::int,
         (outcome = 'reworked')::int, (outcome = 'completed')::int, minutes_saved, 0, 0, 0, 0, 0, 0, 0, 0
    from outcome_events where ts > $1 and ts <= $2
  union all
  select person_id, ts, '', '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (flag = 'redaction_failure')::int,
         (flag = 'sensitive_data')::int, (flag = 'policy_exception')::int, 0, 0, 0, 0, 0
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
  // A semi-join, not `= any(<array of every member>)`: PostgreSQL compares a row against a
  // computed array element by element, and 20,000 members made one re-evaluation run for
  // over ten minutes. As a subquery it is hashed, or probes the primary key when small.
  return `${column} in (select unnest(${people}) union all select id from people where team_id = any(${teams}))`;
}

/** Facts kept as exact decimals (numeric columns); team and org totals add them as BigInt. */
const DECIMAL_FACTS = new Set(['cost', 'minutes_saved']);

type Column = { window: string; fact: string; alias: string };
type PersonRow = { person_id: string; team_id: string | null } & Record<string, unknown>;

/**
 * Per-person sums with one FILTER column per (window, fact): a single hash aggregate over
 * the union of the windows' rows (no sort), joined to people for the current team.
 * `active_days` is computed here only for raw-event windows (0 or 1 per person).
 */
function perPersonStatement(
  source: string,
  windows: readonly FactWindow[],
  scope: PersonScope | undefined,
  params: Params,
  windowCondition: (w: FactWindow) => string,
  rangeCondition: string,
  withTeam: boolean,
) {
  const columns: Column[] = [];
  const selects: string[] = [];
  windows.forEach((w, wi) => {
    let cond = windowCondition(w);
    if (w.environment) cond += ` and x.environment = ${params.add(w.environment)}`;
    if (w.project) cond += ` and x.project = ${params.add(w.project)}`;
    w.facts.forEach((fact, fi) => {
      const alias = `c${wi}_${fi}`;
      if (fact === 'active_days') {
        if (w.kind === 'days') return; // activeDaysStatement
        columns.push({ window: w.key, fact, alias });
        selects.push(`least(count(*) filter (where ${cond} and x.requests > 0), 1) as ${alias}`);
        return;
      }
      const expr = FACT_SQL[fact];
      if (!expr) throw new RangeError(`unknown fact: ${fact}`);
      columns.push({ window: w.key, fact, alias });
      selects.push(`coalesce(sum(${expr}) filter (where ${cond}), 0)::text as ${alias}`);
    });
  });
  const inner = `
      select x.person_id${selects.length ? `,\n             ${selects.join(',\n             ')}` : ''}
        from ${source} x
       where ${rangeCondition} and ${scopeSql(scope, params, 'x.person_id')}
       group by x.person_id`;
  // the current team is needed only for team totals
  const sql = withTeam
    ? `select a.*, p.team_id from (${inner}) a join people p on p.id = a.person_id`
    : `select a.*, null as team_id from (${inner}) a`;
  return { sql, columns };
}

/**
 * Distinct active days (a day with at least one request) per person, team and org for
 * day windows, from the distinct (person, day) pairs: one statement, hash aggregates only.
 */
function activeDaysStatement(
  windows: readonly FactWindow[],
  environment: string | null,
  groupings: readonly FactGrouping[],
  scope: PersonScope | undefined,
  params: Params,
) {
  const days = windows.filter((w) => w.kind === 'days') as (FactWindow & { kind: 'days' })[];
  const from = days.map((w) => w.from).sort()[0];
  const to = days
    .map((w) => w.to)
    .sort()
    .at(-1) as string;
  const env = environment ? ` and x.environment = ${params.add(environment)}` : '';
  const counts = days.map((w, i) => {
    const cond = `d.day >= ${params.add(w.from, '::date')} and d.day < ${params.add(w.to, '::date')}`;
    return { window: w.key, alias: `a${i}`, sql: `count(*) filter (where ${cond}) as a${i}` };
  });
  const list = counts.map((c) => c.sql).join(', ');
  const parts: string[] = [];
  if (groupings.includes('person')) {
    parts.push(`select 'person' as g, d.person_id as id, ${list} from pd d group by d.person_id`);
  }
  if (groupings.includes('team')) {
    parts.push(`select 'team' as g, d.team_id as id, ${list}
                  from (select p.team_id, pd.day from pd join people p on p.id = pd.person_id
                         where p.team_id is not null group by 1, 2) d
                 group by d.team_id`);
  }
  if (groupings.includes('org')) {
    parts.push(`select 'org' as g, 'org' as id, ${list} from (select day from pd group by day) d`);
  }
  const sql = `
    with pd as (
      select x.person_id, x.day from daily_rollups x
       where x.day >= ${params.add(from, '::date')} and x.day < ${params.add(to, '::date')}
         and x.requests > 0${env} and ${scopeSql(scope, params, 'x.person_id')}
       group by 1, 2)
    ${parts.join('\n    union all\n    ')}`;
  return { sql, counts };
}

/** The first day of the month of an ISO date, and of the month after. */
const monthOf = (day: string) => `${day.slice(0, 7)}-01`;
const monthAfter = (day: string) => addDays(`${day.slice(0, 7)}-28`, 7).replace(/-\d\d$/, '-01');

/** How a day window is read: whole months from person_months, the other days from daily_rollups. */
type MonthPlan = { months: string[]; ranges: [string, string][] };

/**
 * Splits each day window into whole months (person_months) and leftover day ranges
 * (daily_rollups). A window that ends inside a month (a period to date) reads that month's
 * row when no rollup lies between its end and the month's end: true of the current period
 * unless a clock in the past or future-dated data say otherwise, which is checked.
 */
async function monthPlans(
  store: Store,
  windows: readonly (FactWindow & { kind: 'days' })[],
): Promise<MonthPlan[]> {
  const tails = new Map<string, [string, string]>();
  const shapes = windows.map((w) => {
    const parts: { month: string; tail: string | null; range: [string, string] }[] = [];
    for (let m = monthOf(w.from); m < w.to; m = monthAfter(m)) {
      const end = monthAfter(m);
      const from = w.from > m ? w.from : m;
      const to = w.to < end ? w.to : end;
      const tail = from === m && to < end ? `${to}|${end}` : null;
      if (tail) tails.set(tail, [to, end]);
      parts.push({ month: m, tail, range: [from, to] });
    }
    return parts;
  });
  const keys = [...tails.keys()];
  const empty = new Set<string>();
  if (keys.length > 0) {
    const params = new Params();
    const checks = keys.map((k) => {
      const [to, end] = tails.get(k) as [string, string];
      return `not exists (select 1 from daily_rollups where day >= ${params.add(to, '::date')} and day < ${params.add(end, '::date')}) as t${keys.indexOf(k)}`;
    });
    const [row] = await store.query<Record<string, boolean>>(
      `select ${checks.join(', ')}`,
      params.values,
    );
    keys.forEach((k, i) => {
      if (row[`t${i}`]) empty.add(k);
    });
  }
  return shapes.map((parts) => {
    const plan: MonthPlan = { months: [], ranges: [] };
    for (const p of parts) {
      const whole = p.range[0] === p.month && p.range[1] === monthAfter(p.month);
      if (whole || (p.tail && empty.has(p.tail))) plan.months.push(p.month);
      else plan.ranges.push(p.range);
    }
    return plan;
  });
}

/** The summed columns both tables share: every fact but the two derived from others. */
const MONTHLY_COLUMNS = FACT_NAMES.filter((f) => f !== 'tokens' && f !== 'active_days').join(', ');

/** Rows of person_months and daily_rollups, shaped alike, that the planned windows read. */
function monthlySource(plans: readonly MonthPlan[], params: Params): string {
  const columns = MONTHLY_COLUMNS;
  const months = [...new Set(plans.flatMap((p) => p.months))].sort();
  const ranges = plans.flatMap((p) => p.ranges);
  const parts = [
    `select person_id, month as day, environment, ${columns}, active_mask, true as monthly
       from person_months where month = any(${params.add(months, '::date[]')})`,
  ];
  if (ranges.length > 0) {
    const where = ranges
      .map(([a, b]) => `(day >= ${params.add(a, '::date')} and day < ${params.add(b, '::date')})`)
      .join(' or ');
    parts.push(`select person_id, day, environment, ${columns},
              case when requests > 0 then 1 << (extract(day from day)::int - 1) else 0 end, false
         from daily_rollups where ${where}`);
  }
  return `(${parts.join('\n union all\n')})`;
}

/** Whether a row of monthlySource belongs to a window, by its plan. */
function monthlyCondition(plan: MonthPlan, params: Params): string {
  const parts = [`(x.monthly and x.day = any(${params.add(plan.months, '::date[]')}))`];
  for (const [a, b] of plan.ranges) {
    parts.push(
      `(not x.monthly and x.day >= ${params.add(a, '::date')} and x.day < ${params.add(b, '::date')})`,
    );
  }
  return `(${parts.join(' or ')})`;
}

/**
 * Distinct active days per person, team and org from month bit masks (bit d-1: day d had a
 * request): per month, OR the masks of the window's rows (a team's members, the whole org),
 * count the bits, and add the months up.
 */
function activeDaysFromMonths(
  windows: readonly (FactWindow & { kind: 'days' })[],
  plans: readonly MonthPlan[],
  environment: string | null,
  groupings: readonly FactGrouping[],
  params: Params,
) {
  const source = monthlySource(plans, params);
  const env = environment ? `where x.environment = ${params.add(environment)}` : '';
  const counts = windows.map((w, i) => ({ window: w.key, alias: `a${i}` }));
  const masks = windows
    .map(
      (_w, i) =>
        `bit_or(x.active_mask) filter (where ${monthlyCondition(plans[i], params)}) as a${i}`,
    )
    .join(', ');
  const ored = counts.map((c) => `bit_or(${c.alias}) as ${c.alias}`).join(', ');
  const bits = counts
    .map((c) => `coalesce(sum(bit_count(coalesce(${c.alias}, 0)::bit(32))), 0)::int as ${c.alias}`)
    .join(', ');
  const parts: string[] = [];
  if (groupings.includes('person')) {
    parts.push(`select 'person' as g, pm.person_id as id, ${bits} from pm group by pm.person_id`);
  }
  if (groupings.includes('team')) {
    parts.push(`select 'team' as g, t.team_id as id, ${bits}
                  from (select p.team_id, pm.m, ${ored} from pm join people p on p.id = pm.person_id
                         where p.team_id is not null group by 1, 2) t
                 group by t.team_id`);
  }
  if (groupings.includes('org')) {
    parts.push(
      `select 'org' as g, 'org' as id, ${bits} from (select pm.m, ${ored} from pm group by pm.m) o`,
    );
  }
  const sql = `
    with pm as (
      select x.person_id, date_trunc('month', x.day)::date as m, ${masks}
        from ${source} x ${env}
       group by 1, 2)
    ${parts.join('\n    union all\n    ')}`;
  return { sql, counts };
}

function put(sums: FactSums, window: string, id: string, fact: string, value: number) {
  let byId = sums.get(window);
  if (!byId) {
    byId = new Map();
    sums.set(window, byId);
  }
  let values = byId.get(id);
  if (!values) {
    values = {};
    byId.set(id, values);
  }
  values[fact] = value;
}

/**
 * Person rows → person, team and org sums. Integers add as numbers (exact below 2^53);
 * decimals add as BigInt pico-units, so team and org money totals are exact; active days
 * of sub-day windows (0 or 1) combine by max.
 */
function assemble(
  rows: PersonRow[],
  columns: Column[],
  groupings: readonly FactGrouping[],
  out: GroupedFactSums,
) {
  const wantPerson = groupings.includes('person');
  const totals = new Map<string, Map<string, number | bigint>>(); // "team|id" / "org" → alias → sum
  const add = (key: string, alias: string, fact: string, text: unknown) => {
    let t = totals.get(key);
    if (!t) {
      t = new Map();
      totals.set(key, t);
    }
    const prev = t.get(alias);
    if (DECIMAL_FACTS.has(fact)) {
      t.set(alias, ((prev as bigint | undefined) ?? 0n) + decimalToPico(String(text)));
    } else if (fact === 'active_days') {
      t.set(alias, Math.max((prev as number | undefined) ?? 0, Number(text)));
    } else t.set(alias, ((prev as number | undefined) ?? 0) + Number(text));
  };
  const person: FactSums = out.person ?? new Map();
  for (const row of rows) {
    for (const c of columns) {
      const text = row[c.alias];
      if (wantPerson) put(person, c.window, row.person_id, c.fact, Number(text));
      if (groupings.includes('team') && row.team_id !== null) {
        add(`team|${row.team_id}`, c.alias, c.fact, text);
      }
      if (groupings.includes('org')) add('org', c.alias, c.fact, text);
    }
  }
  if (wantPerson) out.person = person;
  for (const [key, values] of totals) {
    const [grouping, id] = key === 'org' ? ['org', 'org'] : ['team', key.slice(5)];
    const sums: FactSums = out[grouping as FactGrouping] ?? new Map();
    out[grouping as FactGrouping] = sums;
    for (const c of columns) {
      const v = values.get(c.alias);
      if (v === undefined) continue;
      put(sums, c.window, id, c.fact, typeof v === 'bigint' ? Number(picoToDecimal(v)) : v);
    }
  }
  // groupings asked for but with no rows still get (empty) maps
  for (const g of groupings) out[g] ??= new Map();
}

const DIMENSION_SQL: Record<UsageDimension, string> = {
  person: 'x.person_id',
  team: 'p.team_id',
  model: 'x.model',
  class: `coalesce(c.class, '${UNCLASSIFIED}')`,
  project: 'x.project',
  environment: 'x.environment',
  // by the person's current team, as team grouping is, inherited up the team tree
  costCenter: 'cc.cost_center',
};

/**
 * Each team's cost centre for chargeback: its own, or else its nearest ancestor's (a team
 * without one is charged where its parent is). `cc(team, cost_center)`; a parent cycle stops
 * at 64 levels.
 */
const EFFECTIVE_COST_CENTERS = `recursive chain(team, up, cost_center, depth) as (
    select id, parent_id, cost_center, 0 from teams
    union all
    select c.team, t.parent_id, t.cost_center, c.depth + 1
      from chain c join teams t on t.id = c.up
     where c.cost_center is null and c.depth < 64),
  cc as (select team, max(cost_center) as cost_center from chain group by team)`;

export function usageReader(store: Store): UsageReader & Required<Pick<UsageReader, 'marks'>> {
  return {
    async directory(scope) {
      const params = new Params();
      const peopleWhere = scope ? scopeSql(scope, params, 'id') : 'true';
      const teamParams = new Params();
      const teamWhere = scope
        ? `id in (select team_id from people where ${scopeSql(scope, teamParams, 'id')})`
        : 'true';
      // two independent statements, in parallel on a pool
      const [people, teams] = await Promise.all([
        store.query<{
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
        ),
        store.query<{
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
        ),
      ]);
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

    async sumFacts(allWindows, groupings, scope) {
      // Org-wide sums scan millions of rows once: JIT compilation would cost more than it
      // saves (seconds of LLVM work measured), and hash aggregates need room not to spill.
      // A scoped read (a few people, or their teams) runs on one core: parallel workers
      // would let re-evaluation after ingest take both cores of a small server from ingest.
      // An org-wide read runs in the background (the sweep, a board's load) and may outlast
      // a request's statement timeout on a busy server: it gets the evaluation's own.
      const longest = Math.max(store.timeouts.evaluationMs, store.timeouts.statementMs);
      const settings = scope
        ? 'set local max_parallel_workers_per_gather = 0'
        : `set local jit = off; set local work_mem = '64MB'; set local statement_timeout = ${longest}`;
      const read = <Row extends Record<string, unknown>>(sql: string, values: unknown[]) =>
        store.transaction(async (client) => {
          await client.query(settings);
          const timeout = scope ? {} : { query_timeout: longest + CLIENT_TIMEOUT_SLACK_MS };
          return (await client.query<Row>({ text: sql, values, ...timeout })).rows;
        });
      const out: GroupedFactSums = {};
      if (groupings.length === 0) return out;
      // declared outcome measures come from measure_rollups, beside the built-in facts
      const { facts: windows, measures } = splitMeasures(allWindows);
      const days = windows.filter((w): w is FactWindow & { kind: 'days' } => w.kind === 'days');
      const spans = windows.filter((w) => w.kind === 'span');
      const rows: { rows: PersonRow[]; columns: Column[] }[] = [];
      const active: {
        rows: Record<string, string>[];
        counts: { window: string; alias: string }[];
      }[] = [];
      const work: Promise<void>[] = [];
      // org-wide: whole months from person_months, leftover days from the rollups; a
      // project's window (person_months has no project) and scoped reads from the rollups
      const fromMonths = scope ? [] : days.filter((w) => !w.project);
      const fromRollups = scope ? days : days.filter((w) => w.project);
      if (fromMonths.length > 0) {
        const plans = await monthPlans(store, fromMonths);
        const planOf = new Map<FactWindow, MonthPlan>(fromMonths.map((w, i) => [w, plans[i]]));
        const params = new Params();
        const source = monthlySource(plans, params);
        const { sql, columns } = perPersonStatement(
          source,
          fromMonths,
          scope,
          params,
          (w) => monthlyCondition(planOf.get(w) as MonthPlan, params),
          'true',
          groupings.includes('team'),
        );
        work.push(
          read<PersonRow>(sql, params.values).then((r) => {
            rows.push({ rows: r, columns });
          }),
        );
        const wantsActive = fromMonths.filter((w) => w.facts.includes('active_days'));
        for (const environment of new Set(wantsActive.map((w) => w.environment))) {
          const group = wantsActive.filter((w) => w.environment === environment);
          const activeParams = new Params();
          const statement = activeDaysFromMonths(
            group,
            group.map((w) => planOf.get(w) as MonthPlan),
            environment,
            groupings,
            activeParams,
          );
          work.push(
            read<Record<string, string>>(statement.sql, activeParams.values).then((r) => {
              active.push({ rows: r, counts: statement.counts });
            }),
          );
        }
      }
      if (fromRollups.length > 0) {
        const params = new Params();
        // ISO dates sort as text
        const from = fromRollups.map((w) => w.from).sort()[0];
        const to = fromRollups
          .map((w) => w.to)
          .sort()
          .at(-1) as string;
        const range = `x.day >= ${params.add(from, '::date')} and x.day < ${params.add(to, '::date')}`;
        const { sql, columns } = perPersonStatement(
          'daily_rollups',
          fromRollups,
          scope,
          params,
          (w) =>
            w.kind === 'days'
              ? `x.day >= ${params.add(w.from, '::date')} and x.day < ${params.add(w.to, '::date')}`
              : 'false',
          range,
          groupings.includes('team'),
        );
        work.push(
          read<PersonRow>(sql, params.values).then((r) => {
            rows.push({ rows: r, columns });
          }),
        );
        const wantsActive = fromRollups.filter((w) => w.facts.includes('active_days'));
        for (const environment of new Set(wantsActive.map((w) => w.environment))) {
          const group = wantsActive.filter((w) => w.environment === environment);
          const activeParams = new Params();
          const statement = activeDaysStatement(group, environment, groupings, scope, activeParams);
          work.push(
            read<Record<string, string>>(statement.sql, activeParams.values).then((r) => {
              active.push({ rows: r, counts: statement.counts });
            }),
          );
        }
      }
      if (spans.length > 0) {
        const params = new Params();
        params.add(new Date(Math.min(...spans.map((w) => w.start.getTime()))).toISOString());
        params.add(new Date(Math.max(...spans.map((w) => w.end.getTime()))).toISOString());
        const { sql, columns } = perPersonStatement(
          RAW_EVENTS,
          spans,
          scope,
          params,
          (w) =>
            w.kind === 'span'
              ? `x.ts > ${params.add(w.start.toISOString(), '::timestamptz')} and x.ts <= ${params.add(w.end.toISOString(), '::timestamptz')}`
              : 'false',
          'true',
          groupings.includes('team'),
        );
        work.push(
          read<PersonRow>(sql, params.values).then((r) => {
            rows.push({ rows: r, columns });
          }),
        );
      }
      if (measures.length > 0) {
        const query: MeasureQuery = {
          read: (sql, values) => read(sql, values),
          scopeWhere: (s, values, column) => {
            const params = new Params();
            params.values.push(...values);
            const sql = scopeSql(s, params, column);
            values.push(...params.values.slice(values.length));
            return sql;
          },
        };
        // writes beside the facts assemble() adds below, whichever finishes first
        work.push(sumMeasures(query, measures, groupings, scope, out));
      }
      await Promise.all(work);
      for (const r of rows) assemble(r.rows, r.columns, groupings, out);
      for (const a of active) {
        for (const row of a.rows) {
          const grouping = row.g as FactGrouping;
          const sums: FactSums = out[grouping] ?? new Map();
          out[grouping] = sums;
          for (const c of a.counts)
            put(sums, c.window, row.id, 'active_days', Number(row[c.alias]));
        }
      }
      return out;
    },

    teamBudgetCosts(periods, teams) {
      return teamBudgetCosts(store, periods, teams);
    },

    async teamDayFacts(request) {
      const facts = request.facts.filter((f) => f !== 'active_days');
      if (request.teams.length === 0) return [];
      const params = new Params();
      const k = params.add(request.floor, '::int');
      // usage facts live in rows with a model, outcome, compliance and activity facts in the
      // person's model-less row: each part of a team-day counts only with k people of its own
      const sums = facts.map((f, i) => {
        const expr = FACT_SQL[f];
        if (!expr) throw new RangeError(`unknown fact: ${f}`);
        return `(case when d.users >= ${k} then d.u${i} else 0 end + case when d.reporters >= ${k} then d.o${i} else 0 end)::text as c${i}`;
      });
      const parts = facts.flatMap((f, i) => [
        `coalesce(sum(${FACT_SQL[f]}) filter (where x.model <> ''), 0) as u${i}`,
        `coalesce(sum(${FACT_SQL[f]}) filter (where x.model = ''), 0) as o${i}`,
      ]);
      let scoped = '';
      if (request.environment) scoped += ` and x.environment = ${params.add(request.environment)}`;
      if (request.project) scoped += ` and x.project = ${params.add(request.project)}`;
      const rows = await store.query<Record<string, string>>(
        `select d.team, d.day, greatest(d.users, d.reporters) as people${sums.length ? `, ${sums.join(', ')}` : ''}
           from (select p.team_id as team, to_char(x.day, 'YYYY-MM-DD') as day,
                        count(distinct x.person_id) filter (where x.model <> '')::int as users,
                        count(distinct x.person_id) filter (where x.model = '')::int as reporters${parts.length ? `, ${parts.join(', ')}` : ''}
                   from daily_rollups x join people p on p.id = x.person_id
                  where x.day >= ${params.add(request.from, '::date')} and x.day < ${params.add(request.to, '::date')}
                    and p.team_id = any(${params.add([...request.teams], '::text[]')})${scoped}
                  group by 1, 2) d
          where d.users >= ${k} or d.reporters >= ${k}
          order by 1, 2`,
        params.values,
      );
      return rows.map((r) => ({
        team: r.team,
        day: r.day,
        people: Number(r.people),
        values: Object.fromEntries(facts.map((f, i) => [f, Number(r[`c${i}`])])),
      }));
    },

    async watermark() {
      const rows = await store.query<{ n: string }>(
        'select coalesce(sum(n), 0)::text as n from engine_change_counters',
      );
      return rows[0]?.n ?? '0';
    },

    marks: () => readDataMarks(store),

    async requestSizes(start, end, thresholds, scope) {
      const params = new Params();
      const size = 'x.input_tokens + x.cache_read_tokens + x.cache_write_tokens';
      // an event covering several requests counts each at its average input
      const above = thresholds.map(
        (t, i) =>
          `coalesce(sum(x.requests) filter (where ${size} > ${params.add(t, '::bigint')} * greatest(x.requests, 1)), 0)::text as a${i}`,
      );
      const where = [
        `x.ts >= ${params.add(start.toISOString(), '::timestamptz')}`,
        `x.ts < ${params.add(end.toISOString(), '::timestamptz')}`,
      ];
      if (scope) where.push(scopeSql(scope, params, 'x.person_id'));
      const rows = await store.query<Record<string, string>>(
        `select x.model, sum(x.requests)::text as requests${above.map((a) => `, ${a}`).join('')}
           from usage_events x where ${where.join(' and ')}
          group by x.model order by x.model`,
        params.values,
      );
      return rows.map((r) => ({
        model: r.model,
        requests: Number(r.requests),
        above: thresholds.map((_t, i) => Number(r[`a${i}`])),
      }));
    },

    async usage(query: UsageQuery): Promise<UsageRow[]> {
      const params = new Params();
      const from = params.add(query.from, '::date');
      const to = params.add(query.to, '::date');
      const where = [`x.day >= ${from}`, `x.day < ${to}`];
      // outcome and compliance facts sit in rows with no model: they are not usage. Claude
      // Code activity sits there too, and counts when no model-level dimension is asked for
      const modelLevel =
        query.models ||
        query.classes ||
        query.projects ||
        query.environments ||
        query.groupBy.some((d) => d !== 'person' && d !== 'team');
      const coding =
        'x.sessions + x.lines_added + x.lines_removed + x.commits + x.pull_requests > 0';
      where.push(modelLevel ? `x.model <> ''` : `(x.model <> '' or ${coding})`);
      // the privacy floor: a team-day's usage counts only with enough people using tokens
      // that day, its coding activity only with enough people coding; the rest is in no
      // figure, so no window, bucket or total differs from another by a small team-day
      const floor = query.teamDayFloor ?? 0;
      let floorJoin = '';
      if (floor > 1) {
        const k = params.add(floor, '::int');
        const teams = query.teams
          ? ` and p.team_id = any(${params.add([...query.teams], '::text[]')})`
          : '';
        floorJoin = `join (select p.team_id, x.day,
                                  count(distinct x.person_id) filter (where x.model <> '') as using_tokens,
                                  count(distinct x.person_id) filter (where x.model = '' and ${coding}) as coding
                             from daily_rollups x
                             join people p on p.id = x.person_id
                            where x.day >= ${from} and x.day < ${to} and p.team_id is not null${teams}
                            group by 1, 2) a on a.team_id = p.team_id and a.day = x.day`;
        where.push(
          `((x.model <> '' and a.using_tokens >= ${k}) or (x.model = '' and ${coding} and a.coding >= ${k}))`,
        );
      }
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
      filter(DIMENSION_SQL.costCenter, query.costCenters);
      const byCostCenter = query.costCenters !== null || query.groupBy.includes('costCenter');
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
        `${byCostCenter ? `with ${EFFECTIVE_COST_CENTERS}` : ''}
         select ${bucket} as bucket${dims.length ? `, ${dims.join(', ')}` : ''},
                count(distinct x.person_id)::text as people,
                sum(x.input_tokens)::text as input_tokens, sum(x.output_tokens)::text as output_tokens,
                sum(x.cache_read_tokens)::text as cache_read_tokens,
                sum(x.cache_write_tokens)::text as cache_write_tokens,
                sum(x.cost)::text as cost, sum(x.requests)::text as requests,
                sum(x.unpriced_requests)::text as unpriced_requests,
                sum(x.sessions)::text as sessions, sum(x.lines_added)::text as lines_added,
                sum(x.lines_removed)::text as lines_removed, sum(x.commits)::text as commits,
                sum(x.pull_requests)::text as pull_requests
           from daily_rollups x
           join people p on p.id = x.person_id
           ${byCostCenter ? 'left join cc on cc.team = p.team_id' : ''}
           ${floorJoin}
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
          activity: {
            sessions: Number(r.sessions),
            linesAdded: Number(r.lines_added),
            linesRemoved: Number(r.lines_removed),
            commits: Number(r.commits),
            pullRequests: Number(r.pull_requests),
          },
        };
      });
    },
  };
}

/** The watermark and its counts per period (migration 20261207060000), in one statement. */
export async function readDataMarks(store: Pick<Store, 'query'>): Promise<DataMarks> {
  const rows = await store.query<{ total: string; periods: [string, string][] | null }>(
    `select (select coalesce(sum(n), 0)::text from engine_change_counters) as total,
            (select json_agg(json_build_array(period, n::text))
               from (select period, sum(n) as n from engine_period_counters group by period) p) as periods`,
  );
  const row = rows[0];
  return {
    total: row?.total ?? '0',
    periods: new Map((row?.periods ?? []).map(([period, n]) => [period, BigInt(n)])),
  };
}

/** The same reader as a class, for callers that prefer `new StoreUsageReader(store)`. */
export class StoreUsageReader implements UsageReader {
  readonly directory: UsageReader['directory'];
  readonly sumFacts: UsageReader['sumFacts'];
  readonly watermark: UsageReader['watermark'];
  readonly marks: () => Promise<DataMarks>;
  readonly usage: UsageReader['usage'];
  readonly teamBudgetCosts: UsageReader['teamBudgetCosts'];
  readonly requestSizes: UsageReader['requestSizes'];
  readonly teamDayFacts: UsageReader['teamDayFacts'];
  constructor(store: Store) {
    const reader = usageReader(store);
    this.directory = reader.directory;
    this.sumFacts = reader.sumFacts;
    this.watermark = reader.watermark;
    this.marks = reader.marks;
    this.usage = reader.usage;
    this.teamBudgetCosts = reader.teamBudgetCosts;
    this.requestSizes = reader.requestSizes;
    this.teamDayFacts = reader.teamDayFacts;
  }
}
