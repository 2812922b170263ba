// The budget pass: spend follows ingest by cost deltas, and budget holds follow spend
// without waiting for re-evaluation of people. Two parts:
// - exactness: whatever mix of inserts, updates, deletes, fills and folds, the per-person
//   spend the pass reads equals the sum of the rollups (fast-check over random histories);
// - end to end: usage past a team's, a person's and the org's block step blocks checkQuota
//   after one pass, with the re-evaluation queue left untouched.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { budgetHoldsFor } from '../../src/app/budget-holds.ts';
import { quotaFor } from '../../src/app/quota.ts';
import type { BudgetPeriod } from '../../src/engine/ports.ts';
import { budgetSpend, fillBudgetPeriods, foldCostDeltas } from '../../src/store/budget-spend.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from '../api/support.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const RUNS = Number(process.env.BUDGET_PROPERTY_RUNS ?? 6);

describe('spend from cost deltas', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore();
    await store.query("insert into teams (id, name) values ('t1', 'T1'), ('t2', 'T2')");
  }, 120_000);
  afterAll(async () => {
    await store?.destroy();
  });

  const PEOPLE = ['p1', 'p2', 'p3'];
  const periods: BudgetPeriod[] = [
    {
      key: 'month',
      environment: null,
      project: null,
      from: '2026-10-01',
      until: '2026-11-01',
      perPerson: true,
    },
    {
      key: 'month@prod',
      environment: 'prod',
      project: null,
      from: '2026-10-01',
      until: '2026-11-01',
      perPerson: true,
    },
    // read by org-wide budgets only: one total, until a person or team budget reads it
    {
      key: 'quarter',
      environment: null,
      project: null,
      from: '2026-10-01',
      until: '2027-01-01',
      perPerson: false,
    },
  ];
  const perPersonPeriods = periods.map((p) => ({ ...p, perPerson: true }));
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('add' as const),
      person: fc.constantFrom(...PEOPLE),
      day: fc.constantFrom('2026-09-30', '2026-10-01', '2026-10-15', '2026-11-01'),
      environment: fc.constantFrom('prod', 'dev'),
      model: fc.constantFrom('a', 'b'),
      micros: fc.integer({ min: 1, max: 5_000_000 }),
    }),
    fc.record({ kind: fc.constant('double' as const), person: fc.constantFrom(...PEOPLE) }),
    fc.record({ kind: fc.constant('drop' as const), person: fc.constantFrom(...PEOPLE) }),
    // a person joins, changes or leaves a team, or leaves the directory
    fc.record({
      kind: fc.constant('team' as const),
      person: fc.constantFrom(...PEOPLE),
      team: fc.constantFrom('t1', 't2', null, 'gone'),
    }),
    fc.record({ kind: fc.constant('fold' as const) }),
    fc.record({ kind: fc.constant('fill' as const) }),
    fc.record({ kind: fc.constant('fillPerPerson' as const) }),
  );

  it('equals the sum of the rollups after any history of changes, fills and folds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        await store.query(
          `truncate daily_rollups, enforcement_cost_deltas, enforcement_person_costs,
                    enforcement_cost_periods, enforcement_team_costs, people`,
        );
        for (const o of ops) {
          if (o.kind === 'add')
            await store.query(
              `insert into daily_rollups (day, person_id, model, project, environment, cost)
               values ($1::date, $2, $3, '', $4, $5::numeric / 1000000)
               on conflict (person_id, day, model, project, environment)
               do update set cost = daily_rollups.cost + excluded.cost`,
              [o.day, o.person, o.model, o.environment, o.micros],
            );
          else if (o.kind === 'double')
            await store.query('update daily_rollups set cost = cost * 2 where person_id = $1', [
              o.person,
            ]);
          else if (o.kind === 'drop')
            await store.query(
              "delete from daily_rollups where person_id = $1 and day = '2026-10-15'",
              [o.person],
            );
          else if (o.kind === 'team' && o.team === 'gone')
            await store.query('delete from people where id = $1', [o.person]);
          else if (o.kind === 'team')
            await store.query(
              `insert into people (id, team_id) values ($1, $2)
               on conflict (id) do update set team_id = excluded.team_id`,
              [o.person, o.team],
            );
          else if (o.kind === 'fold') await foldCostDeltas(store);
          else if (o.kind === 'fillPerPerson') await fillBudgetPeriods(store, perPersonPeriods);
          else await fillBudgetPeriods(store, periods);
        }
        await fillBudgetPeriods(store, periods);
        await foldCostDeltas(store);
        const spend = await budgetSpend(store, periods, {
          people: 'all',
          teams: 'all',
          org: true,
        });
        for (const period of periods) {
          const truth = await store.query<{
            person_id: string;
            team_id: string | null;
            cost: string;
          }>(
            `select x.person_id, p.team_id, sum(x.cost)::text as cost
               from daily_rollups x left join people p on p.id = x.person_id
              where day >= $1::date and day < $2::date and ($3::text is null or environment = $3)
              group by 1, 2`,
            [period.from, period.until, period.environment],
          );
          const expected = new Map(truth.map((r) => [r.person_id, Number(r.cost)]));
          for (const person of period.perPerson ? PEOPLE : []) {
            const got = spend.person.get(period.key)?.get(person)?.cost ?? 0;
            expect(got, `${period.key} ${person}`).toBeCloseTo(expected.get(person) ?? 0, 9);
          }
          // a team's spend is its current members'
          for (const team of period.perPerson ? ['t1', 't2'] : []) {
            const members = truth.filter((r) => r.team_id === team);
            const want = members.reduce((a, r) => a + Number(r.cost), 0);
            const got = spend.team.get(period.key)?.get(team)?.cost ?? 0;
            expect(got, `${period.key} ${team}`).toBeCloseTo(want, 9);
          }
          const total = [...expected.values()].reduce((a, b) => a + b, 0);
          expect(spend.org.get(period.key)?.get('org')?.cost ?? 0).toBeCloseTo(total, 9);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);

  it('reads person, team and org spend one statement at a time (one connection may be all it has)', async () => {
    // the budget pass hands budgetSpend the connection of its lock's transaction: a query
    // sent there while another is running is what pg deprecates (and pg 9 refuses)
    let running = 0;
    let most = 0;
    const oneConnection = {
      query: async <Row>(text: string, params?: unknown[]): Promise<Row[]> => {
        running++;
        most = Math.max(most, running);
        try {
          return (await store.query(text, params)) as Row[];
        } finally {
          running--;
        }
      },
    };
    await fillBudgetPeriods(store, periods);
    await budgetSpend(oneConnection, periods, { people: 'all', teams: 'all', org: true });
    expect(most).toBe(1);
  });
});

const POLICY = `
policy "budget-pass-test" version "t1"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 1.00 output 1.00 }
tier everyone "Everyone" { limit 1000M tokens per month models any }
assign everyone otherwise
budget each team { 10 USD per month }
budget person "cy@acme.test" { 3 USD per month }
budget org { 40 USD per month }
escalation budget {
  at 80%  notify team_owner
  at 110% block
}
`;

describe('budget holds after ingest', () => {
  let api: TestApi;
  const clock = new Date('2026-10-20T12:00:00Z');
  let seq = 0;

  async function use(person: string, tokens: number) {
    seq++;
    const res = await api.gql(
      api.keys.ingest.key,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
      {
        rows: [
          { id: `b-${seq}`, ts: '2026-10-05T10:00:00Z', person, model: 'm1', inputTokens: tokens },
        ],
      },
    );
    expect(res.body.errors).toBeUndefined();
  }

  const ask = (person: string) =>
    quotaFor(api.store).decide({
      personId: person,
      model: 'm1',
      estimatedTokens: 1,
      environment: null,
    });
  const decide = async (person: string) => (await ask(person)).decision;

  const queued = async () =>
    Number(
      (await api.store.query<{ n: string }>('select count(*)::text as n from enforcement_dirty'))[0]
        .n,
    );

  beforeAll(async () => {
    api = await startTestApi();
    activePolicyFor(api.store).setClock(() => clock);
    await seedDirectory(api);
    const res = await api.gql(
      api.keys.governance.key,
      'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
      { s: POLICY },
    );
    expect(res.body.errors).toBeUndefined();
    await budgetHoldsFor(api.store).refreshAll();
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
  });

  it('blocks a team, a person and then the organisation after one pass each, without re-evaluation', async () => {
    const budgets = budgetHoldsFor(api.store);
    expect(await decide(MEMBER_PERSON)).toBe('allow');
    // platform: 12 USD of 10 (120%), past the 110% block
    await use('di@acme.test', 12_000_000);
    const waiting = await queued();
    expect(await decide(MEMBER_PERSON)).toBe('allow');
    const pass = await budgets.refresh();
    // di has no budget of their own: only their team and the organisation are weighed
    expect(pass).toMatchObject({ people: 0, teams: 1, org: 1 });
    for (const person of [MEMBER_PERSON, 'di@acme.test', 'bo@acme.test'])
      expect(await decide(person)).toBe('block');
    // cy (legal) is not held by platform's budget; her own 3 USD budget holds at 3.6
    expect(await decide('cy@acme.test')).toBe('allow');
    await use('cy@acme.test', 3_600_000);
    expect(await budgets.refresh()).toMatchObject({ people: 1, teams: 1 });
    expect(await decide('cy@acme.test')).toBe('block');
    // org: 15.6 + 30 = 45.6 of 40 USD, 114%: everyone is held, whoever spent it
    await use('cy@acme.test', 30_000_000);
    await budgets.refresh();
    const answer = await ask('ed@acme.test');
    expect(answer.decision).toBe('block');
    expect(answer.binding).toMatchObject({ kind: 'budget', name: 'org' });
    // none of it waited for the re-evaluation queue, which still holds what ingest queued
    expect(await queued()).toBeGreaterThanOrEqual(waiting + 2);
    // a pass with nothing new weighs nobody
    expect(await budgets.refresh()).toMatchObject({ people: 0, teams: 0 });
  });
});
