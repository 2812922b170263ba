// Time differencing (docs/privacy.md, R11), performed over real HTTP with the viewer, member
// and ingest keys on the attack organisation (k = 3; data has 3 members, platform 5):
// - windows: data's usage over [Nov 1, Nov 11) and [Nov 1, Nov 12), where only p6 worked
//   on Nov 11, would differ by p6's usage that day; so would the day and month buckets;
// - repeated reads: platform's month so far read, then p1 uses more today, read again;
//   the same with platform's budget, whose live spend is shown on a grid (R13), and with
//   the team board, ranked below governance on closed team-days of k people (R5, R11);
// - impact replays of published versions: read, then p1 uses a lot today, read again; a
//   team board's ranked count must not include p6's Nov 11 alone either.
// Governance still sees them live.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { readServiceFor, warmLeaderboards } from '../../src/api/loaders.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi } from '../api/support.ts';
import { loadOrg, NOW, POLICY } from './org.ts';

let api: TestApi;
let member: string; // bound to p7 (data)
const ALONE = 777_777; // p6's tokens on Nov 11, when nobody else in data worked
const LATER = 424_242; // p1's tokens today, after the first read

beforeAll(async () => {
  api = await startTestApi();
  await loadOrg(api.store);
  member = (
    await createApiKey(api.store.em(), { role: 'member', name: 'p7', person: 'p7@acme.test' })
  ).key;
  // today (Nov 20) all of platform worked: a team-day of 5, but not a closed one
  await load(
    ['p1', 'p2', 'p3', 'p4', 'p5'].map((p) =>
      usage(`today-${p}`, p, '2026-11-20T08:00:00Z', 1_000),
    ),
  );
  await load([usage('alone', 'p6', '2026-11-11T10:00:00Z', ALONE)]);
}, 180_000);

afterAll(async () => {
  await api?.stop();
});

const usage = (id: string, person: string, ts: string, tokens: number) => ({
  type: 'usage',
  id,
  ts,
  person: `${person}@acme.test`,
  model: 'm1',
  input_tokens: tokens,
  output_tokens: 0,
});

async function load(rows: Record<string, unknown>[]) {
  const result = await ingestBatch(
    api.store,
    rows.map((data, line) => ({ line, data })),
    { now: NOW.getTime() },
  );
  expect(result.totals.rejected).toBe(0);
}

const USAGE = `query($filter: UsageFilter, $groupBy: [UsageDimension!], $bucket: UsageBucket) {
  usage(filter: $filter, groupBy: $groupBy, bucket: $bucket, first: 100) {
    __typename
    ... on Problem { code message }
    ... on UsageConnection { from to edges { node { bucket team people tokens } } }
  }
}`;

type Row = { bucket: string | null; team: string | null; people: number; tokens: number };
type Answer = { type: string; to?: string; rows: Row[]; text: string };

async function ask(key: string, variables: Record<string, unknown>): Promise<Answer> {
  const res = await api.gql<{
    usage: { __typename: string; to?: string; edges?: { node: Row }[] };
  }>(key, USAGE, variables);
  const u = res.body.data?.usage;
  return {
    type: u?.__typename ?? (res.body.errors?.[0]?.extensions?.code as string),
    to: u?.to,
    rows: (u?.edges ?? []).map((e) => e.node),
    text: JSON.stringify(res.body),
  };
}

const BUDGETS = `{ budgets(first: 100) { ... on BudgetConnection { edges { node {
  subjectId spent { amount } percent bandReason forecast { value } } } } } }`;

const TEAM_BOARD = `{ leaderboard(name: "teams", first: 100) { __typename
  ... on LeaderboardConnection { board { asOf } edges { node { subjectId score
    explanation { facts { name value } } } } } } }`;

type TeamEntry = {
  subjectId: string;
  score: number;
  explanation: { facts: { name: string; value: number }[] };
};

async function teamBoard(key: string) {
  const res = await api.gql<{
    leaderboard: { board: { asOf: string }; edges: { node: TeamEntry }[] };
  }>(key, TEAM_BOARD);
  const board = res.body.data?.leaderboard;
  const entries = board?.edges?.map((e) => e.node) ?? [];
  const tokens: Record<string, number> = {};
  const scores: Record<string, number> = {};
  for (const e of entries) {
    tokens[e.subjectId] = e.explanation.facts.find((f) => f.name === 'tokens')?.value ?? -1;
    scores[e.subjectId] = e.score;
  }
  return { asOf: board?.board.asOf, tokens, scores, text: JSON.stringify(res.body) };
}

const sum = (rows: Row[]) => rows.reduce((s, r) => s + r.tokens, 0);
const DATA_NOV_10 = (6 + 7 + 8) * 100_000; // p6, p7 and p8 on Nov 10 (org.ts)
const PLATFORM_NOV_10 = (1 + 2 + 3 + 4 + 5) * 100_000;

describe('time differencing: windows, buckets and repeated reads', () => {
  it('a viewer gets the same figure for [a, b) and [a, b + 1) when day b had one person', async () => {
    const data = { teams: ['data'] };
    const upTo11 = await ask(api.keys.viewer.key, {
      filter: { ...data, from: '2026-11-01', to: '2026-11-11' },
    });
    const upTo12 = await ask(api.keys.viewer.key, {
      filter: { ...data, from: '2026-11-01', to: '2026-11-12' },
    });
    expect(sum(upTo11.rows)).toBe(DATA_NOV_10);
    expect(sum(upTo12.rows)).toBe(DATA_NOV_10);
    // by day: Nov 10 only, Nov 11 looks like a quiet day; the month holds the same
    const byDay = await ask(api.keys.viewer.key, {
      filter: data,
      groupBy: ['team'],
      bucket: 'day',
    });
    expect(byDay.rows.map((r) => [r.bucket, r.people, r.tokens])).toEqual([
      ['2026-11-10', 3, DATA_NOV_10],
    ]);
    const byMonth = await ask(api.keys.viewer.key, { filter: data, bucket: 'month' });
    expect(byMonth.rows.map((r) => r.tokens)).toEqual([DATA_NOV_10]);
    // the one day alone, and every window around it: nothing
    const alone = await ask(api.keys.viewer.key, {
      filter: { ...data, from: '2026-11-11', to: '2026-11-12' },
    });
    expect(alone.rows).toEqual([]);
    for (const a of [upTo11, upTo12, byDay, byMonth, alone])
      expect(a.text).not.toContain(String(ALONE));
  });

  it('a viewer reading twice, with usage in between, gets the same figures (closed days only)', async () => {
    const platform = { filter: { teams: ['platform'] }, groupBy: ['team'], bucket: 'day' };
    const before = await ask(api.keys.viewer.key, platform);
    expect(before.to).toBe('2026-11-20'); // stops before today
    expect(before.rows.map((r) => [r.bucket, r.tokens])).toEqual([['2026-11-10', PLATFORM_NOV_10]]);
    const org = await ask(api.keys.viewer.key, {});
    await load([usage('later', 'p1', '2026-11-20T11:00:00Z', LATER)]);
    expect((await ask(api.keys.viewer.key, platform)).rows).toEqual(before.rows);
    expect((await ask(api.keys.viewer.key, {})).rows).toEqual(org.rows);
  });

  it('a team budget read twice, with usage in between, differs at most by a step of the grid', async () => {
    const read = async (key: string) => {
      const res = await api.gql<{
        budgets: {
          edges: {
            node: {
              subjectId: string;
              spent: { amount: string };
              percent: number;
              bandReason: string;
              forecast: { value: number };
            };
          }[];
        };
      }>(key, BUDGETS);
      return res.body.data?.budgets.edges.map((e) => e.node) ?? [];
    };
    const before = {
      viewer: await read(api.keys.viewer.key),
      member: await read(member),
      governance: await read(api.keys.governance.key),
    };
    await load([usage('budget-later', 'p1', '2026-11-20T11:30:00Z', 333_333)]);
    for (const key of [api.keys.viewer.key, member]) {
      const role = key === member ? 'member' : 'viewer';
      const after = await read(key);
      expect(after).toEqual(before[role]);
      // platform's 1,000 USD budget: a few dollars spent, shown as the grid's 0
      const platform = after.find((b) => b.subjectId === 'platform');
      expect(platform).toMatchObject({ spent: { amount: '0.000000' }, percent: 0 });
      expect(JSON.stringify(after)).not.toMatch(/1\.5|0\.33|0\.42/);
    }
    // governance reads the exact, live spend
    const exact = (rows: Awaited<ReturnType<typeof read>>) =>
      Number(rows.find((b) => b.subjectId === 'platform')?.spent.amount);
    expect(exact(await read(api.keys.governance.key)) - exact(before.governance)).toBeCloseTo(
      0.333333,
      6,
    );
  });

  it('a member sees their own usage live, and no one else’s by any window', async () => {
    for (const filter of [
      { teams: ['data'], from: '2026-11-01', to: '2026-11-11' },
      { teams: ['data'], from: '2026-11-01', to: '2026-11-12' },
      { teams: ['data'], from: '2026-11-11', to: '2026-11-12' },
    ]) {
      const own = await ask(member, { filter });
      expect(own.text).not.toContain(String(ALONE));
      expect(own.rows.every((r) => r.people <= 1)).toBe(true);
    }
    // p7's own Nov 10 usage, by day
    const own = await ask(member, { groupBy: ['team'], bucket: 'day' });
    expect(own.rows.map((r) => [r.bucket, r.tokens])).toEqual([['2026-11-10', 700_000]]);
  });

  it('a team board read twice, with usage in between, is the same below governance: closed team-days of k people only', async () => {
    // governance first: its live evaluation must not be what the lower roles get
    const governance = await teamBoard(api.keys.governance.key);
    // the floored team board is warmed as the server starts: the viewer's read finds it
    const cache = readServiceFor(api.store).cache;
    await warmLeaderboards(api.store);
    const misses = cache.stats().misses;
    const viewer = await teamBoard(api.keys.viewer.key);
    expect(cache.stats().misses).toBe(misses);
    const before = { governance, viewer, member: await teamBoard(member) };
    for (const role of ['viewer', 'member'] as const) {
      const board = before[role];
      // platform's 5 people today are not in it (today is open), nor p6's Nov 11 (one of data)
      expect(board.tokens).toEqual({ platform: PLATFORM_NOV_10, data: DATA_NOV_10 });
      expect(board.asOf).toBe('2026-11-19T23:59:59.999Z');
      expect(board.text).not.toContain(String(ALONE));
    }
    await load([usage('board-later', 'p2', '2026-11-20T11:45:00Z', 555_555)]);
    for (const key of [api.keys.viewer.key, member]) {
      const role = key === member ? 'member' : 'viewer';
      const after = await teamBoard(key);
      expect(after).toEqual(before[role]);
      expect(after.text).not.toContain('555555');
    }
    // the member's own team on the board: the same floored figures as the board shows
    const standing = await api.gql<{
      myStanding: { score: number; explanation: { facts: { name: string; value: number }[] } };
    }>(
      member,
      '{ myStanding(board: "teams") { ... on Standing { score explanation { facts { name value } } } } }',
    );
    expect(standing.body.data?.myStanding.score).toBe(before.member.scores.data);
    expect(standing.body.data?.myStanding.explanation.facts).toEqual([
      expect.objectContaining({ name: 'tokens', value: DATA_NOV_10 }),
    ]);
    // governance reads the live board: p6's day alone, today, and the usage just recorded
    const gov = await teamBoard(api.keys.governance.key);
    expect(gov.tokens.data).toBe(DATA_NOV_10 + ALONE);
    expect(gov.tokens.platform - before.governance.tokens.platform).toBe(555_555);
    expect(gov.tokens.platform).toBeGreaterThan(PLATFORM_NOV_10 + 5_000);
    expect(gov.asOf).toBe(NOW.toISOString());
  });

  it('refuses ingest, and governance sees the day and today', async () => {
    for (const filter of [{ teams: ['data'] }, { from: '2026-11-11', to: '2026-11-12' }])
      expect((await ask(api.keys.ingest.key, { filter })).type).toBe('FORBIDDEN');
    const gov = await ask(api.keys.governance.key, {
      filter: { teams: ['data', 'platform'] },
      groupBy: ['team'],
      bucket: 'day',
    });
    expect(gov.to).toBe('2026-11-21');
    expect(gov.rows.map((r) => [r.bucket, r.team, r.tokens])).toEqual([
      ['2026-11-10', 'data', DATA_NOV_10],
      ['2026-11-10', 'platform', PLATFORM_NOV_10],
      ['2026-11-11', 'data', ALONE],
      ['2026-11-20', 'platform', 5_000 + LATER + 333_333 + 555_555],
    ]);
  });
});

const IMPACT = `{ policyImpact(from: { version: "v1" }, to: { version: "v2" }, window: "2026-11") {
  __typename
  ... on Problem { code message }
  ... on QueryPolicyImpactSuccess { data {
    hasData evaluatedAt windowTo dataTo people teams tierChanges tierTransitions { from to count }
    consequences { action before after newly noLonger } groups quotaDistribution
    rules { rule before after } badges { badge before after }
    budgetFlipCount budgetFlips { kind subject { id } budget before { band percent } after { band percent } }
    leaderboards { name rankedBefore rankedAfter rankedBoth enteringCount leavingCount movedCount kendallTau }
    requestLimits notes markdown
  } } } }`;

type Replay = {
  evaluatedAt: string;
  dataTo: string;
  quotaDistribution: { bins: { from: number; before: number | null; after: number | null }[] };
  leaderboards: { name: string; rankedBefore: number; rankedAfter: number }[];
};

async function replay(key: string): Promise<Replay> {
  const res = await api.gql<{ policyImpact: { __typename: string; data: Replay } }>(key, IMPACT);
  expect(res.body.data?.policyImpact.__typename).toBe('QueryPolicyImpactSuccess');
  return res.body.data?.policyImpact.data as Replay;
}

describe('time differencing: impact replays of published versions', () => {
  it('a replay read twice, with usage in between, is the same below governance: closed days, and team boards on team-days of k people', async () => {
    // v2 ranks only teams over 2.5M tokens: data reaches it only with p6's Nov 11 alone
    await publishPolicySource(api.store, {
      source: POLICY.replace('version "1"', 'version "2"').replace(
        '  subject team\n',
        '  subject team\n  eligible when tokens > 2,500,000\n',
      ),
    });
    const before = { viewer: await replay(api.keys.viewer.key), member: await replay(member) };
    const governance = await replay(api.keys.governance.key);
    for (const r of Object.values(before)) {
      expect(r).toMatchObject({ dataTo: '2026-11-20', evaluatedAt: '2026-11-19T23:59:59.999Z' });
      // platform's 1.5M and data's 2.1M on Nov 10: no team over 2.5M on closed team-days of 3
      expect(r.leaderboards.find((b) => b.name === 'teams')).toMatchObject({
        rankedBefore: 2,
        rankedAfter: 0,
      });
      expect(JSON.stringify(r)).toContain('usage before 2026-11-20');
    }
    // governance replays live: data with p6's day alone and security are over 2.5M (and
    // platform once the earlier tests' usage today is in)
    expect(governance).toMatchObject({
      dataTo: '2026-11-21',
      evaluatedAt: '2026-11-20T11:59:59.999Z',
    });
    const ranked = governance.leaderboards.find((b) => b.name === 'teams')?.rankedAfter;
    expect(ranked).toBeGreaterThanOrEqual(2);
    // p1 uses half their quota today: a live replay would move them across the quota bins
    await load([usage('replay-later', 'p1', '2026-11-20T11:55:00Z', 5_000_000)]);
    expect(await replay(api.keys.viewer.key)).toEqual(before.viewer);
    expect(await replay(member)).toEqual(before.member);
    const after = await replay(api.keys.governance.key);
    expect(after.quotaDistribution).not.toEqual(governance.quotaDistribution);
    expect(after.quotaDistribution.bins.find((b) => b.from === 50)?.after).toBe(1);
  });
});
