// Token budgets and project budgets in checkQuota's single decision, end to end on a real
// server over both transports: a team's token budget past its block step blocks its
// members, a project budget past its block step blocks requests for that project only
// (both from the budget pass that follows ingest), and `budgets` shows both, the project
// budget to governance only. The clock is injected; nothing sleeps.
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
policy "budget-scopes" version "t1"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 0.10 output 0.10 }
tier everyone "Everyone" { limit 1000M tokens per month models any }
assign everyone otherwise
budget each team         { 20M tokens per month }
budget project "launch"  { 0.50 USD per month }
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

async function use(person: string, tokens: number, project?: string) {
  seq++;
  await gql(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: [
        {
          id: `s-${seq}`,
          ts: '2026-10-05T10:00:00Z',
          person,
          model: 'm1',
          inputTokens: tokens,
          ...(project ? { project } : {}),
        },
      ],
    },
  );
}

type Answer = { decision: string; reason: string; binding: { kind: string; name: string } | null };

/** The same question over GraphQL and plain HTTP; both answers must agree. */
async function ask(person: string, project: string | null = null): Promise<Answer> {
  const data = await gql<{ checkQuota: Answer }>(
    api.keys.ingest.key,
    `query($p: String!, $project: String) { checkQuota(person: $p, model: "m1", estimatedTokens: 1000, project: $project) {
       ... on QuotaCheck { decision reason binding { kind name } } } }`,
    { p: person, project },
  );
  const res = await fetch(`${api.url}/v1/quota/check`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${api.keys.ingest.key}`,
    },
    body: JSON.stringify({ person, model: 'm1', estimatedTokens: 1000, project }),
  });
  expect(res.status).toBe(200);
  const plain = (await res.json()) as Answer;
  expect({
    decision: plain.decision,
    reason: plain.reason,
    binding: plain.binding && { kind: plain.binding.kind, name: plain.binding.name },
  }).toEqual(data.checkQuota);
  return data.checkQuota;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  await seedDirectory(api);
  await activatePolicySource(api, POLICY);
  // fill the budget periods now, so the usage below reaches them as ingest's deltas
  await budgetHoldsFor(api.store).refreshAll();
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('a token budget', () => {
  it('counts tokens, not money, and blocks the team past its block step', async () => {
    expect((await ask(MEMBER_PERSON)).decision).toBe('allow');
    // 24M tokens cost 2.40 USD: nothing as money, 120% of the team's 20M tokens
    await use('di@acme.test', 24_000_000);
    await reevaluationFor(api.store).drainDirty();
    for (const person of [MEMBER_PERSON, 'di@acme.test']) {
      const answer = await ask(person);
      expect(answer.decision).toBe('block');
      expect(answer.binding).toEqual({ kind: 'budget', name: 'each team (tokens)' });
      expect(answer.reason).toContain('budget "each team (tokens)"');
    }
    expect((await ask('cy@acme.test')).decision).toBe('allow');
  });
});

describe('a project budget', () => {
  it("blocks only requests for its project, from the organisation's usage of it", async () => {
    // 8M tokens of launch work cost 0.80 USD of the project's 0.50: 160% (and 40% of the
    // team's token budget, which does not bind)
    await use('cy@acme.test', 8_000_000, 'launch');
    await reevaluationFor(api.store).drainDirty();
    const held = await ask('cy@acme.test', 'launch');
    expect(held.decision).toBe('block');
    expect(held.binding).toEqual({ kind: 'budget', name: 'project launch' });
    expect(held.reason).toContain('budget "project launch"');
    // the same person on other work, or with no project, is not held by it
    expect((await ask('cy@acme.test', 'research')).decision).toBe('allow');
    expect((await ask('cy@acme.test')).decision).toBe('allow');
  });

  it('shows both budgets to governance, and the project budget to no one below', async () => {
    const query = `{ budgets { ... on BudgetConnection { edges { node {
      key unit project tokens { limit spent } spent { amount } percent } } } } }`;
    type Row = {
      key: string;
      unit: string;
      project: string | null;
      tokens: { limit: number; spent: number } | null;
      spent: { amount: string };
      percent: number;
    };
    type Page = { budgets: { edges: { node: Row }[] } };
    const gov = (await gql<Page>(api.keys.governance.key, query)).budgets.edges.map((e) => e.node);
    const project = gov.find((b) => b.key === 'project launch');
    expect(project).toMatchObject({ unit: 'money', project: 'launch', tokens: null });
    expect(Number(project?.spent.amount)).toBeCloseTo(0.8, 6);
    const team = gov.find((b) => b.key === 'each team (tokens)');
    expect(team).toMatchObject({ unit: 'tokens', project: null, tokens: { limit: 20_000_000 } });
    expect(Number(team?.spent.amount)).toBe(0);
    const member = await gql<Page>(api.keys.member.key, query);
    expect(member.budgets.edges.map((e) => e.node.key)).not.toContain('project launch');
  });
});
