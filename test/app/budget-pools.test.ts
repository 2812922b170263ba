// A reserved pool several teams draw from, in checkQuota's single decision, end to end on a
// real server over both transports: usage of one team moves the pool of all its teams (the
// budget pass weighs and holds the other teams too), a team outside the pool is not held,
// and `budgets` shows the pool on each of its teams, below governance only when every one
// of them could be shown. The clock is injected; nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { budgetHoldsFor } from '../../src/app/budget-holds.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import {
  activatePolicySource,
  gqlData,
  MEMBER_PERSON,
  seedDirectory,
  startTestApi,
  type TestApi,
} from '../api/support.ts';

const POLICY = `
policy "budget-pools" version "t1"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 0.10 output 0.10 }
tier everyone "Everyone" { limit 1000M tokens per month models any }
assign everyone otherwise
budget pool "shared" teams "platform", "legal" { 10M tokens per month }
escalation budget {
  at 80%  notify team_owner
  at 110% block
}
`;

let api: TestApi;
const clock = new Date('2026-10-20T12:00:00Z');
let seq = 0;

const gql = <T>(key: string, query: string, variables?: Record<string, unknown>) =>
  gqlData<T>(api, key, query, variables);

async function use(person: string, tokens: number) {
  seq++;
  await gql(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: [
        { id: `p-${seq}`, ts: '2026-10-05T10:00:00Z', person, model: 'm1', inputTokens: tokens },
      ],
    },
  );
  await reevaluationFor(api.store).drainDirty();
}

type Answer = { decision: string; binding: { kind: string; name: string } | null };

/** The same question over GraphQL and plain HTTP; both answers must agree. */
async function ask(person: string): Promise<Answer> {
  const data = await gql<{ checkQuota: Answer }>(
    api.keys.ingest.key,
    `query($p: String!) { checkQuota(person: $p, model: "m1", estimatedTokens: 1000) {
       ... on QuotaCheck { decision binding { kind name } } } }`,
    { p: person },
  );
  const res = await fetch(`${api.url}/v1/quota/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.keys.ingest.key}` },
    body: JSON.stringify({ person, model: 'm1', estimatedTokens: 1000 }),
  });
  expect(res.status).toBe(200);
  const plain = (await res.json()) as Answer;
  expect({
    decision: plain.decision,
    binding: plain.binding && { kind: plain.binding.kind, name: plain.binding.name },
  }).toEqual(data.checkQuota);
  return data.checkQuota;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  await seedDirectory(api);
  await gql(
    api.keys.admin.key,
    `mutation($teams: [TeamInput!], $people: [PersonInput!]) {
       upsertDirectory(teams: $teams, people: $people) { __typename } }`,
    {
      teams: [{ team: 'ops', name: 'Ops', owner: 'ed@acme.test' }],
      people: [{ person: 'ed@acme.test', name: 'Ed Park', team: 'ops', role: 'engineer' }],
    },
  );
  await activatePolicySource(api, POLICY);
  // fill the budget periods now, so the usage below reaches them as ingest's deltas
  await budgetHoldsFor(api.store).refreshAll();
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('a budget pool', () => {
  it('holds every team drawing from it once their usage together passes its block step', async () => {
    await use('di@acme.test', 6_000_000); // platform: 60% of the pool
    expect((await ask(MEMBER_PERSON)).decision).toBe('allow');
    expect((await ask('cy@acme.test')).decision).toBe('allow');
    // legal's 6M take the pool to 120%: legal is held, and so is platform, whose members
    // did nothing since (the pass weighs the pool's other teams with the one touched)
    await use('cy@acme.test', 6_000_000);
    for (const person of [MEMBER_PERSON, 'cy@acme.test']) {
      const answer = await ask(person);
      expect(answer.decision).toBe('block');
      expect(answer.binding).toEqual({ kind: 'budget', name: 'pool shared (tokens)' });
    }
    // a team outside the pool draws nothing from it
    expect((await ask('ed@acme.test')).decision).toBe('allow');
  });

  it('shows the pool on each of its teams to governance, and hides it below while one is restricted', async () => {
    const query = `{ budgets { ... on BudgetConnection { edges { node {
      key subjectId poolTeams tokens { limit spent } } } } } }`;
    type Row = {
      key: string;
      subjectId: string | null;
      poolTeams: string[] | null;
      tokens: { limit: number; spent: number } | null;
    };
    type Page = { budgets: { edges: { node: Row }[] } };
    const gov = (await gql<Page>(api.keys.governance.key, query)).budgets.edges.map((e) => e.node);
    const pools = gov.filter((b) => b.key === 'pool shared (tokens)');
    expect(pools.map((b) => b.subjectId).sort()).toEqual(['legal', 'platform']);
    for (const b of pools) {
      expect(b.poolTeams).toEqual(['legal', 'platform']);
      expect(b.tokens).toEqual({ limit: 10_000_000, spent: 12_000_000 });
    }
    // legal is restricted: the pool's total less platform's own use would be legal's
    const viewer = await gql<Page>(api.keys.viewer.key, query);
    expect(viewer.budgets.edges.map((e) => e.node.key)).not.toContain('pool shared (tokens)');
  });
});
