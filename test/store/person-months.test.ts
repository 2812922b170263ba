// person_months (per-person month totals kept by triggers on daily_rollups) against the
// rollups themselves: after any mix of inserts, upserts, updates and deletes, the table
// equals a GROUP BY of the rollups, and an org-wide fact read (whole months from
// person_months, leftover days from the rollups, active days from month bit masks) equals
// the same read scoped to everyone, which sums the rollups directly.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactGrouping, FactWindow } from '../../src/engine/ports.ts';
import { addDays } from '../../src/engine/usage.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;
const PEOPLE = ['p0', 'p1', 'p2', 'p3'];
const TEAMS = ['t0', 't1'];

beforeAll(async () => {
  store = await createTestStore();
  await store.query(
    `insert into teams (id, name, sensitivity, from_directory)
     select unnest($1::text[]), unnest($1::text[]), 'normal', true`,
    [TEAMS],
  );
  await store.query(
    `insert into people (id, name, team_id, opted_in, attributes, from_directory)
     select id, id, 't' || (right(id, 1)::int % 2), true, '{}', true from unnest($1::text[]) id`,
    [PEOPLE],
  );
}, 60_000);

afterAll(async () => {
  await store?.destroy();
});

const FACTS = ['tokens', 'cost', 'requests', 'tasks', 'minutes_saved', 'active_days'];

// days from 2026-09-20 to 2026-12-10: four months, cut at both ends
const dayOf = (n: number) => addDays('2026-09-20', n);
const DAYS = 82;

const rollup = fc.record({
  person: fc.constantFrom(...PEOPLE),
  day: fc.integer({ min: 0, max: DAYS - 1 }),
  model: fc.constantFrom('a', 'b', ''),
  environment: fc.constantFrom('production', 'sandbox'),
  tokens: fc.integer({ min: 0, max: 1000 }),
  requests: fc.integer({ min: 0, max: 3 }),
  cost: fc.integer({ min: 0, max: 10_000 }),
  tasks: fc.integer({ min: 0, max: 4 }),
});
type Rollup = typeof rollup extends fc.Arbitrary<infer T> ? T : never;

const operation = fc.oneof(
  fc.record({ kind: fc.constant('upsert' as const), rows: fc.array(rollup, { maxLength: 12 }) }),
  fc.record({ kind: fc.constant('halve' as const), person: fc.constantFrom(...PEOPLE) }),
  fc.record({ kind: fc.constant('delete' as const), day: fc.integer({ min: 0, max: DAYS - 1 }) }),
);

const window = fc.record({
  from: fc.integer({ min: 0, max: DAYS + 5 }),
  length: fc.integer({ min: 1, max: 80 }),
  environment: fc.constantFrom(null, 'production', 'sandbox'),
});

async function apply(op: Operation) {
  if (op.kind === 'upsert') {
    if (op.rows.length === 0) return;
    await store.query(
      `insert into daily_rollups as r (day, person_id, model, project, environment, input_tokens,
                                       requests, cost, tasks, minutes_saved)
       select d::date, p, m, '', e, sum(t), sum(q), sum(c) / 1000.0, sum(k), sum(k) * 1.5
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[])
           as x(d, p, m, e, t, q, c, k)
        group by d, p, m, e
       on conflict (person_id, day, model, project, environment) do update set
         input_tokens = r.input_tokens + excluded.input_tokens, requests = r.requests + excluded.requests,
         cost = r.cost + excluded.cost, tasks = r.tasks + excluded.tasks,
         minutes_saved = r.minutes_saved + excluded.minutes_saved`,
      [
        op.rows.map((r) => dayOf(r.day)),
        op.rows.map((r) => r.person),
        op.rows.map((r) => r.model),
        op.rows.map((r) => r.environment),
        op.rows.map((r) => r.tokens),
        op.rows.map((r) => r.requests),
        op.rows.map((r) => r.cost),
        op.rows.map((r) => r.tasks),
      ],
    );
  } else if (op.kind === 'halve') {
    // a restatement: fewer requests (some days go quiet), less cost
    await store.query(
      'update daily_rollups set requests = requests / 2, cost = cost / 2 where person_id = $1',
      [op.person],
    );
  } else {
    await store.query('delete from daily_rollups where day = $1::date', [dayOf(op.day)]);
  }
}
type Operation =
  | { kind: 'upsert'; rows: Rollup[] }
  | { kind: 'halve'; person: string }
  | { kind: 'delete'; day: number };

// a subject whose rows were all deleted reads as zeros from person_months and as absent
// from the rollups (and no active day is absent there): the evaluator reads both as 0
function plain(sums: Map<string, Map<string, Record<string, number>>> | undefined) {
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const [window, byId] of sums ?? []) {
    for (const [id, values] of byId) {
      const nonzero = Object.entries(values).filter(([, v]) => v !== 0);
      if (nonzero.length === 0) continue;
      out[window] ??= {};
      out[window][id] = Object.fromEntries(nonzero);
    }
  }
  return out;
}

describe('person_months', () => {
  it('equals the rollups summed by month, and org-wide reads equal reads of the rollups', async () => {
    const reader = usageReader(store);
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 1, maxLength: 6 }),
        fc.array(window, { minLength: 1, maxLength: 3 }),
        async (ops, shapes) => {
          await store.query('delete from daily_rollups');
          for (const op of ops) await apply(op);
          const byMonth = await store.query(
            `select person_id, date_trunc('month', day)::date::text as month, environment,
                    sum(input_tokens)::text as t, sum(requests)::text as q, sum(cost)::text as c,
                    sum(tasks)::text as k, sum(minutes_saved)::text as s,
                    bit_or(case when requests > 0 then 1 << (extract(day from day)::int - 1) else 0 end) as a
               from daily_rollups group by 1, 2, 3 order by 1, 2, 3`,
          );
          // rows emptied by deletes stay, at zero
          const kept = await store.query(
            `select person_id, month::text as month, environment, input_tokens::text as t,
                    requests::text as q, cost::text as c, tasks::text as k, minutes_saved::text as s,
                    active_mask as a
               from person_months
              where (person_id, month, environment) in
                    (select person_id, date_trunc('month', day)::date, environment from daily_rollups)
                 or input_tokens <> 0 or requests <> 0 or cost <> 0 or tasks <> 0 or active_mask <> 0
              order by 1, 2, 3`,
          );
          expect(kept).toEqual(byMonth);
          const windows: FactWindow[] = shapes.map((s, i) => ({
            kind: 'days',
            from: dayOf(s.from),
            to: dayOf(s.from + s.length),
            key: `w${i}`,
            environment: s.environment,
            facts: FACTS,
          }));
          const groupings: FactGrouping[] = ['person', 'team', 'org'];
          const org = await reader.sumFacts(windows, groupings);
          const scoped = await reader.sumFacts(windows, groupings, {
            people: PEOPLE,
            teams: TEAMS,
          });
          // the scoped read has no org grouping rows for nobody; compare what both return
          expect(plain(org.person)).toEqual(plain(scoped.person));
          expect(plain(org.team)).toEqual(plain(scoped.team));
          expect(plain(org.org)).toEqual(plain(scoped.org));
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it('reads a period to date from the month row, and a clock in the past from the days', async () => {
    await store.query('delete from daily_rollups');
    await store.query(
      `insert into daily_rollups (day, person_id, model, project, environment, input_tokens, requests)
       values ('2026-11-03', 'p0', 'a', '', 'production', 100, 1),
              ('2026-11-20', 'p0', 'a', '', 'production', 50, 1)`,
    );
    const reader = usageReader(store);
    const read = (to: string) =>
      reader.sumFacts(
        [
          {
            kind: 'days',
            from: '2026-11-01',
            to,
            key: 'month',
            environment: null,
            facts: ['tokens', 'active_days'],
          },
        ],
        ['person'],
      );
    expect((await read('2026-11-25')).person?.get('month')?.get('p0')).toEqual({
      tokens: 150,
      active_days: 2,
    });
    // the 20th lies after a clock on the 10th: it is not counted
    expect((await read('2026-11-11')).person?.get('month')?.get('p0')).toEqual({
      tokens: 100,
      active_days: 1,
    });
  });
});
