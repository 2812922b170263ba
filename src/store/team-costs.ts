// Team budget totals for re-evaluation after ingest, from per-person period totals
// (enforcement_person_costs). Each round re-sums the people it was handed, through the
// primary key (person, day, …), then adds up the members of the asked teams: work that
// grows with the people touched, not with the size of their teams.
//
// Why this stays exact: a person's row is re-summed whenever their rollups change, because
// every rollup change queues them for re-evaluation and the queue is taken before the
// rows are read. A period is filled once for everyone from the rollups (the first round
// that needs it), in the same transaction that records it as filled.
import type { BudgetPeriod, FactSums } from '../engine/ports.ts';
import type { Store } from './db.ts';

type Client = { query: Store['query'] };

function rangeSql(period: BudgetPeriod, params: unknown[]): string {
  params.push(period.from, period.until);
  let sql = `x.day >= $${params.length - 1}::date and x.day < $${params.length}::date`;
  if (period.environment !== null) {
    params.push(period.environment);
    sql += ` and x.environment = $${params.length}`;
  }
  return sql;
}

/** Upserts the period's cost of `people` (all people with rollups in it when null). */
async function sumInto(
  db: Client,
  period: BudgetPeriod,
  people: readonly string[] | null,
  onConflict: 'nothing' | 'update',
): Promise<void> {
  const params: unknown[] = [period.key, period.from];
  let where = rangeSql(period, params);
  if (people) {
    params.push(people);
    where += ` and x.person_id = any($${params.length}::text[])`;
  }
  // in key order, so concurrent rounds lock shared rows in the same order
  await db.query(
    `insert into enforcement_person_costs (window_key, period_from, person_id, cost)
     select $1, $2::date, x.person_id, sum(x.cost) from daily_rollups x
      where ${where} group by x.person_id order by x.person_id
     on conflict (window_key, period_from, person_id) do ${
       onConflict === 'update' ? 'update set cost = excluded.cost' : 'nothing'
     }`,
    params,
  );
}

async function ensureFilled(store: Store, period: BudgetPeriod): Promise<boolean> {
  const filled = await store.query(
    'select 1 from enforcement_cost_periods where window_key = $1 and period_from = $2::date',
    [period.key, period.from],
  );
  if (filled.length > 0) return false;
  await store.transaction(async (client) => {
    // one scan of the period's rollups: no JIT, and room for the hash aggregate
    await client.query("set local jit = off; set local work_mem = '64MB'");
    await sumInto(
      { query: async (t, p) => (await client.query(t, p)).rows },
      period,
      null,
      'nothing',
    );
    await client.query(
      `insert into enforcement_cost_periods (window_key, period_from) values ($1, $2::date)
       on conflict do nothing`,
      [period.key, period.from],
    );
    // earlier periods of this window are over
    await client.query(
      'delete from enforcement_person_costs where window_key = $1 and period_from < $2::date',
      [period.key, period.from],
    );
    await client.query(
      'delete from enforcement_cost_periods where window_key = $1 and period_from < $2::date',
      [period.key, period.from],
    );
  });
  return true;
}

/**
 * Cost per team for each budget period, after re-summing `refresh` (people whose rollups
 * changed). Teams with no cost in a period are absent.
 */
export async function teamBudgetCosts(
  store: Store,
  periods: readonly BudgetPeriod[],
  teams: readonly string[],
  refresh: readonly string[],
): Promise<FactSums> {
  const out: FactSums = new Map();
  for (const period of periods) {
    const filled = await ensureFilled(store, period);
    if (!filled && refresh.length > 0) {
      await sumInto(store, period, [...refresh].sort(), 'update');
    }
    const rows = await store.query<{ team_id: string; cost: string }>(
      `select p.team_id, sum(c.cost)::text as cost
         from enforcement_person_costs c join people p on p.id = c.person_id
        where c.window_key = $1 and c.period_from = $2::date and p.team_id = any($3::text[])
        group by p.team_id`,
      [period.key, period.from, teams],
    );
    out.set(period.key, new Map(rows.map((r) => [r.team_id, { cost: Number(r.cost) }])));
  }
  return out;
}
