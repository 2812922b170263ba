// Budget spend per person and period (enforcement_person_costs), kept current by folding
// the cost deltas that triggers on daily_rollups append with every change
// (Migration20261206002000_cost_deltas). Team and org totals are then sums over one row per
// person, and a fold's work grows with what ingest changed since the last fold, not with
// the size of the organisation. The same fold moves each team's total and everyone's
// (enforcement_team_costs, team '' for everyone), so a pass reads a team's spend from one
// row instead of summing its members; a team's total follows its members' current team,
// summed again whenever the directory changed.
//
// Why this stays exact: a delta is appended in the transaction that changes the rollup, and
// a fold deletes the deltas it applies in the transaction that applies them, so each is
// applied once. A period is filled once from the rollups while holding a lock that no
// delta-writing transaction can hold at the same time; the deltas pending at that moment
// are folded (into the periods already filled) in the same transaction, and every later
// delta is a change the fill did not see. Folds, fills and the teams' re-summing write
// totals under one lock (FOLD_LOCK), taken after any lock on the delta table, so a re-sum
// never misses a fold in flight and no two of them wait on each other in a cycle.
import type { BudgetPeriod, FactSums } from '../engine/ports.ts';
import type { Store } from './db.ts';
import type { Queryable } from './sql-text.ts';

type Client = Queryable;

/** Budget holds are written by one pass at a time, each from totals read under the lock. */
const BUDGET_HOLDS_LOCK = 7_101_202_612;
/** Totals (per person, team and everyone) are moved by one fold, fill or re-sum at a time. */
const FOLD_LOCK = 7_101_202_613;

/**
 * Applies every pending cost delta to the filled periods it falls in (per person, per team
 * and for everyone), and returns the people whose rows changed (sorted).
 */
export async function foldCostDeltas(store: Store): Promise<string[]> {
  return store.transaction(async (client) => {
    // the delta table's lock first, as a fill takes it (see the header)
    await client.query(
      `lock table enforcement_cost_deltas in row exclusive mode;
       select pg_advisory_xact_lock(${FOLD_LOCK})`,
    );
    return foldLocked({ query: async (t, p) => (await client.query(t, p)).rows });
  });
}

async function foldLocked(db: Client): Promise<string[]> {
  const rows = await db.query<{ person_id: string }>(
    `with taken as (
       delete from enforcement_cost_deltas
       returning person_id, day, environment, project, cost, tokens
     ), hit as (
       select t.person_id, t.cost, t.tokens, p.window_key, p.period_from, p.per_person
         from taken t join enforcement_cost_periods p
           on t.day >= p.period_from and t.day < p.period_until
          and (p.environment is null or p.environment = t.environment)
          and (p.project is null or p.project = t.project)
     ), applied as (
       insert into enforcement_person_costs (window_key, period_from, person_id, cost, tokens)
       select window_key, period_from, case when per_person then person_id else '' end,
              sum(cost), sum(tokens)
         from hit group by 1, 2, 3 order by 1, 2, 3
       on conflict (window_key, period_from, person_id)
       do update set cost = enforcement_person_costs.cost + excluded.cost,
                     tokens = enforcement_person_costs.tokens + excluded.tokens
     ), grouped as (
       insert into enforcement_team_costs (window_key, period_from, team_id, cost, tokens)
       select r.window_key, r.period_from, ${IN_GROUPS('hit')} and r.per_person
        group by 1, 2, 3 order by 1, 2, 3
       on conflict (window_key, period_from, team_id)
       do update set cost = enforcement_team_costs.cost + excluded.cost,
                     tokens = enforcement_team_costs.tokens + excluded.tokens
     )
     select distinct person_id from hit order by person_id`,
  );
  return rows.map((r) => r.person_id);
}

/**
 * The group sums of the person rows of `rows` (person_id, cost, tokens), from the select
 * list's tail on: a person's spend counts in their current team's total and in everyone's
 * (team ''). The caller adds its conditions (`and …`) and groups by the first three columns.
 */
const IN_GROUPS = (rows: string) => `g.team_id, sum(r.cost), sum(r.tokens)
    from ${rows} r
    left join people p on p.id = r.person_id
    cross join lateral (values (p.team_id), ('')) as g(team_id)
   where g.team_id is not null`;

/** Team and everyone's totals of the filled per-person periods, from the per-person rows. */
const GROUP_TOTALS = `
  select r.window_key, r.period_from, ${IN_GROUPS('enforcement_person_costs')}
    and exists (select 1 from enforcement_cost_periods w where w.window_key = r.window_key
                   and w.period_from = r.period_from and w.per_person)`;

/**
 * Sums the team totals again when the directory changed since they were last summed (a
 * person's team decides which team's total their spend is in).
 */
async function followDirectory(store: Store): Promise<void> {
  const [version] = await store.query<{ now: string; summed: string | null }>(
    `select (select coalesce(sum(n), 0) from engine_period_counters
              where period = 'directory')::text as now,
            (select directory from enforcement_team_costs_version)::text as summed`,
  );
  if (version.now === version.summed) return;
  await store.transaction(async (client) => {
    await client.query(`select pg_advisory_xact_lock(${FOLD_LOCK})`);
    await client.query('delete from enforcement_team_costs');
    await client.query(
      `insert into enforcement_team_costs (window_key, period_from, team_id, cost, tokens)
       ${GROUP_TOTALS} group by 1, 2, 3 order by 1, 2, 3`,
    );
    // the version read before the sum: a change committed since moves it again
    await client.query(
      `insert into enforcement_team_costs_version (singleton, directory) values (true, $1)
       on conflict (singleton) do update set directory = excluded.directory`,
      [version.now],
    );
  });
}

/**
 * Fills each period that is not filled yet (once per period; see the header), and sums the
 * team totals again if the directory changed.
 */
export async function fillBudgetPeriods(
  store: Store,
  periods: readonly BudgetPeriod[],
): Promise<void> {
  for (const period of periods) await ensureFilled(store, period);
  if (periods.length > 0) await followDirectory(store);
}

async function ensureFilled(store: Store, period: BudgetPeriod): Promise<void> {
  // a per-person fill serves org-wide reads too; an org-wide one is refilled per person
  // when a person or team budget comes to read the same window
  const isFilled = async (db: Client) =>
    (
      await db.query(
        `select 1 from enforcement_cost_periods
          where window_key = $1 and period_from = $2::date and (per_person or not $3::boolean)`,
        [period.key, period.from, period.perPerson],
      )
    ).length > 0;
  if (await isFilled(store)) return;
  await store.transaction(async (client) => {
    const db: Client = { query: async (t, p) => (await client.query(t, p)).rows };
    // no transaction that appends deltas can commit while the fill reads the rollups
    await client.query(
      `lock table enforcement_cost_deltas in share row exclusive mode;
       select pg_advisory_xact_lock(${FOLD_LOCK})`,
    );
    if (await isFilled(db)) return;
    await foldLocked(db);
    // one scan of the period's rollups: no JIT, and room for the hash aggregate
    await client.query("set local jit = off; set local work_mem = '64MB'");
    const params: unknown[] = [period.key, period.from, period.until];
    let scope = '';
    if (period.environment !== null) {
      params.push(period.environment);
      scope += ` and x.environment = $${params.length}`;
    }
    if (period.project !== null) {
      params.push(period.project);
      scope += ` and x.project = $${params.length}`;
    }
    // an org-wide period filled before is replaced by the per-person fill
    await client.query(
      'delete from enforcement_person_costs where window_key = $1 and period_from = $2::date',
      [period.key, period.from],
    );
    await client.query(
      `insert into enforcement_person_costs (window_key, period_from, person_id, cost, tokens)
       select $1, $2::date, ${period.perPerson ? 'x.person_id' : "''"}, sum(x.cost),
              sum(x.input_tokens + x.output_tokens + x.cache_read_tokens + x.cache_write_tokens)
         from daily_rollups x
        where x.day >= $2::date and x.day < $3::date ${scope}
        group by 3 order by 3`,
      params,
    );
    await client.query(
      `insert into enforcement_cost_periods
              (window_key, period_from, period_until, environment, project, per_person)
       values ($1, $2::date, $3::date, $4, $5, $6)
       on conflict (window_key, period_from) do update set per_person = excluded.per_person`,
      [period.key, period.from, period.until, period.environment, period.project, period.perPerson],
    );
    // earlier periods of this window are over; this one's group totals are summed anew
    for (const table of ['enforcement_person_costs', 'enforcement_cost_periods'])
      await client.query(`delete from ${table} where window_key = $1 and period_from < $2::date`, [
        period.key,
        period.from,
      ]);
    await client.query(
      'delete from enforcement_team_costs where window_key = $1 and period_from <= $2::date',
      [period.key, period.from],
    );
    if (period.perPerson)
      await client.query(
        `insert into enforcement_team_costs (window_key, period_from, team_id, cost, tokens)
         ${GROUP_TOTALS} and r.window_key = $1 and r.period_from = $2::date group by 1, 2, 3`,
        [period.key, period.from],
      );
  });
}

/**
 * Cost and tokens per team for each budget period, after folding the pending deltas. Teams
 * with no cost in a period are absent.
 */
export async function teamBudgetCosts(
  store: Store,
  periods: readonly BudgetPeriod[],
  teams: readonly string[],
): Promise<FactSums> {
  await fillBudgetPeriods(store, periods);
  if (periods.length > 0) await foldCostDeltas(store);
  return (await budgetSpend(store, periods, { people: [], teams, org: false })).team;
}

export type SpendScope = {
  /** people whose own spend is wanted; 'all': everyone with spend */
  people: readonly string[] | 'all';
  /** teams whose members' spend is summed; 'all': every team */
  teams: readonly string[] | 'all';
  org: boolean;
};

export type BudgetSpend = { person: FactSums; team: FactSums; org: FactSums };

/** One subject's spend in a period: money (cost) and tokens, for both kinds of budget. */
type Spent = { key: string; id: string; cost: string; tokens: string };

/** Spend per person, team (members' current team) and org in each filled period. */
export async function budgetSpend(
  db: Client,
  periods: readonly BudgetPeriod[],
  scope: SpendScope,
): Promise<BudgetSpend> {
  const out: BudgetSpend = { person: new Map(), team: new Map(), org: new Map() };
  for (const period of periods) {
    out.person.set(period.key, new Map());
    out.team.set(period.key, new Map());
    out.org.set(period.key, new Map());
  }
  // one statement per kind over all periods; org-wide periods keep no per-person spend
  const perPerson = periods.filter((p) => p.perPerson);
  const inPeriods = (alias: string) =>
    `join unnest($1::text[], $2::date[]) as w(window_key, period_from)
       on ${alias}.window_key = w.window_key and ${alias}.period_from = w.period_from`;
  const at = (of: readonly BudgetPeriod[]) => [of.map((p) => p.key), of.map((p) => p.from)];
  const add = (into: FactSums) => (rows: Spent[]) => {
    for (const r of rows)
      into.get(r.key)?.set(r.id, { cost: Number(r.cost), tokens: Number(r.tokens) });
  };
  // one after another: `db` may be one connection (the budget-holds lock's transaction),
  // where pg refuses (deprecated, removed in pg 9) a query sent while another is running
  const reads: (() => Promise<void>)[] = [];
  if (perPerson.length > 0 && (scope.people === 'all' || scope.people.length > 0))
    reads.push(() =>
      db
        .query<Spent>(
          `select c.window_key as key, c.person_id as id, c.cost::text as cost,
                  c.tokens::text as tokens
             from enforcement_person_costs c ${inPeriods('c')}
            ${scope.people === 'all' ? '' : 'where c.person_id = any($3::text[])'}`,
          scope.people === 'all' ? at(perPerson) : [...at(perPerson), scope.people],
        )
        .then(add(out.person)),
    );
  if (perPerson.length > 0 && (scope.teams === 'all' || scope.teams.length > 0))
    reads.push(() =>
      db
        .query<Spent>(
          `select t.window_key as key, t.team_id as id, t.cost::text as cost,
                  t.tokens::text as tokens
             from enforcement_team_costs t ${inPeriods('t')}
            where ${scope.teams === 'all' ? "t.team_id <> ''" : 't.team_id = any($3::text[])'}`,
          scope.teams === 'all' ? at(perPerson) : [...at(perPerson), scope.teams],
        )
        .then(add(out.team)),
    );
  // everyone's total: a per-person period's is team '', an org-wide period's is person ''
  if (scope.org && periods.length > 0)
    reads.push(() =>
      db
        .query<Spent>(
          `select w.window_key as key, 'org' as id, coalesce(t.cost, c.cost, 0)::text as cost,
                  coalesce(t.tokens, c.tokens, 0)::text as tokens
             from unnest($1::text[], $2::date[]) as w(window_key, period_from)
             left join enforcement_team_costs t
               on t.window_key = w.window_key and t.period_from = w.period_from
              and t.team_id = ''
             left join enforcement_person_costs c
               on c.window_key = w.window_key and c.period_from = w.period_from
              and c.person_id = ''`,
          at(periods),
        )
        .then(add(out.org)),
    );
  for (const read of reads) await read();
  return out;
}

/** Runs `work` in a transaction that holds the budget-holds lock (one writer at a time). */
export async function withBudgetHoldsLock<T>(
  store: Store,
  work: (db: Client) => Promise<T>,
): Promise<T> {
  return store.transaction(async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [BUDGET_HOLDS_LOCK]);
    return work({ query: async (text, params) => (await client.query(text, params)).rows });
  });
}
