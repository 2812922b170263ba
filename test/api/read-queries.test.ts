// The read queries over real HTTP: leaderboard, quota, budgets and usage on the hand-built
// org of test/engine/fixture.ts, whose numbers are worked out there by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { auditTrailFor } from '../../src/app/audit.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { loadTinyOrg, NOW } from '../engine/fixture.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
let ana: string; // member key bound to ana
let bo: string; // member key bound to bo

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => NOW);
  await loadTinyOrg(api.store);
  ana = (await createApiKey(api.store.em(), { role: 'member', name: 'ana', person: 'ana' })).key;
  bo = (await createApiKey(api.store.em(), { role: 'member', name: 'bo', person: 'bo' })).key;
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

const BOARD = `query($name: String!, $window: String, $cohort: String) {
  leaderboard(name: $name, window: $window, cohort: $cohort, first: 50) {
    __typename
    ... on Problem { code message }
    ... on LeaderboardConnection {
      board { name window periodStart cohorts total }
      edges { node {
        rank subjectId masked cohort score
        movement { status previousRank change }
        explanation { formula facts { name window value } metrics { name value } }
        person { id name team { id } }
      } }
    }
  }
}`;

type Entry = {
  rank: number;
  subjectId: string;
  masked: boolean;
  score: number;
  movement: { status: string; previousRank: number | null; change: number | null };
  explanation: { facts: { name: string; value: number }[] };
  person: { id: string; name: string | null; team: { id: string } | null } | null;
};

async function board(key: string, variables: Record<string, unknown>) {
  const res = await api.gql<{ leaderboard: Record<string, unknown> }>(key, BOARD, {
    name: 'value',
    ...variables,
  });
  expect(res.body.errors).toBeUndefined();
  const data = res.body.data!.leaderboard as {
    __typename: string;
    code?: string;
    board?: { total: number; cohorts: string[]; periodStart: string };
    edges?: { node: Entry }[];
  };
  return { ...data, entries: (data.edges ?? []).map((e) => e.node) };
}

describe('leaderboard', () => {
  it('ranks with names for governance, with movement against October', async () => {
    const b = await board(api.keys.governance.key, {});
    expect(b.board).toMatchObject({ total: 2, cohorts: ['engineer'] });
    expect(b.board?.periodStart).toBe('2026-11-01T00:00:00.000Z');
    expect(b.entries.map((e) => [e.rank, e.subjectId, e.score])).toEqual([
      [1, 'ana', 80],
      [2, 'bo', 50],
    ]);
    expect(b.entries[0].movement).toEqual({ status: 'up', previousRank: 2, change: 1 });
    expect(b.entries[1].movement).toEqual({ status: 'down', previousRank: 1, change: -1 });
    const facts = Object.fromEntries(b.entries[0].explanation.facts.map((f) => [f.name, f.value]));
    expect(facts).toMatchObject({ accepted: 4, rejected: 1 });
    expect(b.entries[0].person).toEqual({ id: 'ana', name: 'Ana', team: { id: 'eng' } });
  });

  it('masks subjects below governance, and a member still sees themselves', async () => {
    const viewer = await board(api.keys.viewer.key, {});
    expect(viewer.entries).toHaveLength(2);
    for (const e of viewer.entries) {
      expect(e.masked).toBe(true);
      expect(['ana', 'bo']).not.toContain(e.subjectId);
      // a masked entry carries no directory entry: its team and role would identify people
      expect(e.person).toBeNull();
    }
    const member = await board(ana, {});
    expect(member.entries.map((e) => [e.subjectId, e.masked])).toEqual([
      ['ana', false],
      [viewer.entries[1].subjectId, true],
    ]);
  });

  it('shows an earlier window, and filters by cohort', async () => {
    const october = await board(api.keys.governance.key, { window: '2026-10' });
    expect(october.entries.map((e) => [e.rank, e.subjectId, e.score, e.movement.status])).toEqual([
      [1, 'bo', 100, 'new'],
      [2, 'ana', 50, 'new'],
    ]);
    const none = await board(api.keys.governance.key, { cohort: 'analyst' });
    expect(none.entries).toEqual([]);
  });

  it('pages with first, after and last, masking each page as the whole board', async () => {
    const PAGE = `query($first: Int, $after: String, $last: Int, $before: String) {
      leaderboard(name: "value", first: $first, after: $after, last: $last, before: $before) {
        ... on LeaderboardConnection {
          board { total }
          pageInfo { hasNextPage hasPreviousPage endCursor }
          edges { cursor node { rank subjectId masked } }
        } } }`;
    type Page = {
      board: { total: number };
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
      edges: { cursor: string; node: { rank: number; subjectId: string; masked: boolean } }[];
    };
    const page = async (key: string, variables: Record<string, unknown>) => {
      const res = await api.gql<{ leaderboard: Page }>(key, PAGE, variables);
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.leaderboard;
    };
    const whole = (await board(api.keys.viewer.key, {})).entries.map((e) => e.subjectId);
    const first = await page(api.keys.viewer.key, { first: 1 });
    expect(first.board.total).toBe(2);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.edges.map((e) => [e.node.rank, e.node.subjectId, e.node.masked])).toEqual([
      [1, whole[0], true],
    ]);
    const second = await page(api.keys.viewer.key, { first: 1, after: first.pageInfo.endCursor });
    expect(second.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(second.edges.map((e) => [e.node.rank, e.node.subjectId])).toEqual([[2, whole[1]]]);
    // `last` alone counts back from the end of the board
    const last = await page(api.keys.governance.key, { last: 1 });
    expect(last.edges.map((e) => [e.node.rank, e.node.subjectId, e.node.masked])).toEqual([
      [2, 'bo', false],
    ]);
  });

  it('names unknown boards and windows', async () => {
    expect((await board(api.keys.viewer.key, { name: 'nope' })).code).toBe('NOT_FOUND');
    expect((await board(api.keys.viewer.key, { window: 'someday' })).code).toBe('INVALID_REQUEST');
  });

  it('is recomputed after ingest (the watermark moves)', async () => {
    await ingestBatch(
      api.store,
      [1, 2, 3, 4, 5, 6].map((i) => ({
        line: i,
        data: {
          type: 'outcome',
          id: `o-bo-late-${i}`,
          ts: '2026-11-20T11:00:00Z',
          person: 'bo',
          outcome: 'accepted',
        },
      })),
    );
    const b = await board(api.keys.governance.key, {});
    // bo: 7 accepted of 8 = 87.5
    expect(b.entries.map((e) => [e.rank, e.subjectId, e.score])).toEqual([
      [1, 'bo', 87.5],
      [2, 'ana', 80],
    ]);
  });
});

const QUOTA = `query($person: String) {
  quota(person: $person) {
    __typename
    ... on Problem { code message }
    ... on Quota {
      personId tier assignedBy period periodStart limit effectiveLimit used remaining percent band
      allModels allowedClasses nextThreshold { percent amount action } activeExceptions { id }
      forecast { value }
    }
  }
}`;

describe('quota', () => {
  it('gives a member their own quota', async () => {
    const res = await api.gql<{ quota: Record<string, unknown> }>(ana, QUOTA, {});
    expect(res.body.data?.quota).toMatchObject({
      __typename: 'Quota',
      personId: 'ana',
      tier: 'pro',
      assignedBy: 'role == "engineer"',
      period: 'month',
      limit: 10_000_000,
      used: 150_000,
      remaining: 9_850_000,
      percent: 1.5,
      band: 'green',
      allModels: false,
      allowedClasses: ['economy', 'standard'],
      nextThreshold: { percent: 50, amount: 5_000_000, action: 'notify person' },
      activeExceptions: [],
    });
  });

  it('gives the days of the period for the burn-down, adding up to what was used', async () => {
    const res = await api.gql<{
      quota: { used: number; periodStart: string; daily: { day: string; tokens: number }[] };
    }>(ana, '{ quota { ... on Quota { used periodStart daily { day tokens } } } }');
    const { used, periodStart, daily } = res.body.data!.quota;
    expect(daily.length).toBeGreaterThan(0);
    expect(daily.reduce((sum, d) => sum + d.tokens, 0)).toBe(used);
    const days = daily.map((d) => d.day);
    expect(days).toEqual([...days].sort());
    expect(days[0] >= periodStart.slice(0, 10)).toBe(true);
  });

  it('refuses a member asking about someone else, and a viewer asking about anyone', async () => {
    const member = await api.gql<{ quota: Record<string, unknown> }>(ana, QUOTA, { person: 'bo' });
    expect(member.body.data?.quota).toMatchObject({ __typename: 'Forbidden', code: 'FORBIDDEN' });
    const viewer = await api.gql<{ quota: Record<string, unknown> }>(api.keys.viewer.key, QUOTA, {
      person: 'di',
    });
    expect(viewer.body.data?.quota).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lets governance read anyone, audited', async () => {
    const res = await api.gql<{ quota: Record<string, unknown> }>(api.keys.governance.key, QUOTA, {
      person: 'di',
    });
    expect(res.body.data?.quota).toMatchObject({
      tier: 'basic',
      used: 600_000,
      percent: 60,
      band: 'yellow',
      nextThreshold: { percent: 100, action: 'block' },
    });
    // reads are audited in batches after the answer: flush to see them
    await auditTrailFor(api.store).flush();
    const audit = await api.store.query(
      "select 1 from audit_log where action = 'read.quota' and subject = 'di'",
    );
    expect(audit.length).toBe(1);
    const unknown = await api.gql<{ quota: Record<string, unknown> }>(
      api.keys.governance.key,
      QUOTA,
      { person: 'zed' },
    );
    expect(unknown.body.data?.quota).toMatchObject({ code: 'NOT_FOUND' });
  });
});

const BUDGETS = `{
  budgets(first: 20) {
    __typename
    ... on BudgetConnection {
      suppressed minGroupSize
      edges { node { key subjectKind subjectId environment period limit { amount currency } spent { amount } percent band } }
    }
  }
}`;

type BudgetRow = {
  key: string;
  subjectKind: string;
  subjectId: string | null;
  environment: string | null;
  limit: { amount: string; currency: string };
  spent: { amount: string };
};

async function budgets(key: string) {
  const res = await api.gql<{
    budgets: { suppressed: number; edges: { node: BudgetRow }[] };
  }>(key, BUDGETS);
  expect(res.body.errors).toBeUndefined();
  const b = res.body.data!.budgets;
  return { suppressed: b.suppressed, rows: b.edges.map((e) => e.node) };
}

describe('budgets', () => {
  it('lists org and team budgets with exact spend', async () => {
    const { rows, suppressed } = await budgets(api.keys.governance.key);
    expect(suppressed).toBe(0);
    const summary = rows.map((r) => [
      r.subjectKind,
      r.subjectId,
      r.environment,
      r.limit.amount,
      r.spent.amount,
    ]);
    expect(summary).toEqual([
      ['org', null, null, '1000.000000', '1.860000'],
      ['team', 'eng', null, '100.000000', '0.760000'],
      ['team', 'eng', 'sandbox', '1.000000', '0.060000'],
      ['team', 'legal', null, '100.000000', '0.100000'],
      ['team', 'legal', 'sandbox', '1.000000', '0.000000'],
    ]);
    expect(rows[0].limit.currency).toBe('USD');
  });

  it('leaves restricted teams out for viewers, and the org total that includes them', async () => {
    const { rows, suppressed } = await budgets(api.keys.viewer.key);
    // legal is restricted: absent, not even counted; the org budget includes its spend
    expect(suppressed).toBe(1);
    expect(rows.map((r) => r.subjectId)).toEqual(['eng', 'eng']);
  });
});

const USAGE = `query($filter: UsageFilter, $groupBy: [UsageDimension!], $bucket: UsageBucket) {
  usage(filter: $filter, groupBy: $groupBy, bucket: $bucket) {
    __typename
    ... on Problem { code message }
    ... on UsageConnection {
      from to suppressedGroups minGroupSize currency
      edges { node { bucket person team model class costCenter people tokens inputTokens outputTokens cost { amount currency } requests } }
    }
  }
}`;

type UsageNode = Record<string, string | number | null> & {
  cost?: { amount: string; currency: string };
};

async function usage(key: string, variables: Record<string, unknown>) {
  const res = await api.gql<{ usage: Record<string, unknown> }>(key, USAGE, variables);
  expect(res.body.errors).toBeUndefined();
  const u = res.body.data!.usage as {
    __typename: string;
    code?: string;
    suppressedGroups?: number;
    from?: string;
    to?: string;
    edges?: { node: UsageNode }[];
  };
  return { ...u, rows: (u.edges ?? []).map((e) => e.node) };
}

describe('usage', () => {
  it('groups by team over this month (default window) for governance', async () => {
    const u = await usage(api.keys.governance.key, { groupBy: ['team'] });
    expect([u.from, u.to]).toEqual(['2026-11-01', '2026-11-21']);
    expect(u.rows.map((r) => [r.team, r.people, r.tokens, r.cost?.amount, r.requests])).toEqual([
      ['eng', 3, 1_150_000, '0.760000000000', 3],
      ['legal', 1, 1_000_000, '0.100000000000', 1],
    ]);
    expect(u.rows[0].cost?.currency).toBe('USD');
  });

  it('leaves restricted and small teams out of every figure for viewers', async () => {
    // this month each of eng's days had one active person (k is 2): a viewer sees none of
    // them, since a day's figure would be that person's (docs/privacy.md, R11)
    expect((await usage(api.keys.viewer.key, { groupBy: ['team'] })).rows).toEqual([]);
    // a September day on which ana and bo both worked (and cy, in restricted legal)
    await ingestBatch(
      api.store,
      [
        ['ana', 100_000],
        ['bo', 20_000],
        ['cy', 3_000],
      ].map(([person, tokens], line) => ({
        line,
        data: {
          type: 'usage',
          id: `sep-${person}`,
          ts: '2026-09-10T10:00:00Z',
          person,
          model: 'm-std',
          input_tokens: tokens,
          output_tokens: 0,
        },
      })),
    );
    const september = { from: '2026-09-01', to: '2026-10-01' };
    const u = await usage(api.keys.viewer.key, { filter: september, groupBy: ['team'] });
    // legal (restricted, one person) is in no group and no total
    expect(u.rows.map((r) => [r.team, r.people, r.tokens])).toEqual([['eng', 2, 120_000]]);
    const total = await usage(api.keys.viewer.key, { filter: september });
    expect(total.rows.map((r) => r.tokens)).toEqual([120_000]);
  });

  it('maps models to classes, and buckets by month', async () => {
    const u = await usage(api.keys.governance.key, {
      filter: { from: '2026-10-01', to: '2026-12-01' },
      groupBy: ['class'],
      bucket: 'month',
    });
    expect(u.rows.map((r) => [r.bucket, r.class, r.tokens])).toEqual([
      ['2026-10-01', 'standard', 1_000_000],
      ['2026-11-01', 'economy', 1_600_000],
      ['2026-11-01', 'standard', 550_000],
    ]);
  });

  it('gives a member only their own usage, by model and day', async () => {
    const u = await usage(ana, {
      filter: { from: '2026-10-01', teams: ['legal'] },
      groupBy: ['person', 'model'],
      bucket: 'day',
    });
    expect(u.rows).toEqual([
      expect.objectContaining({
        bucket: '2026-10-15',
        person: 'ana',
        model: 'm-std',
        tokens: 1_000_000,
      }),
      expect.objectContaining({
        bucket: '2026-11-10',
        person: 'ana',
        model: 'm-std',
        tokens: 150_000,
      }),
    ]);
  });

  it("groups and filters by cost centre (of the people's current team) for chargeback", async () => {
    const set = await api.gql<{ upsertDirectory: { accepted: number } }>(
      api.keys.governance.key,
      `mutation($teams: [TeamInput!]) { upsertDirectory(teams: $teams) { ... on IngestSummary { accepted } } }`,
      {
        teams: [
          { team: 'eng', costCenter: 'CC-100' },
          { team: 'legal', costCenter: 'CC-200' },
        ],
      },
    );
    expect(set.body.data?.upsertDirectory.accepted).toBe(2);
    const byCentre = await usage(api.keys.governance.key, { groupBy: ['costCenter'] });
    expect(
      byCentre.rows.map((r) => [r.costCenter, r.team, r.people, r.tokens, r.cost?.amount]),
    ).toEqual([
      ['CC-100', null, 3, 1_150_000, '0.760000000000'],
      ['CC-200', null, 1, 1_000_000, '0.100000000000'],
    ]);
    const one = await usage(api.keys.governance.key, {
      filter: { costCenters: ['CC-200'] },
      groupBy: ['team'],
    });
    expect(one.rows.map((r) => [r.team, r.tokens])).toEqual([['legal', 1_000_000]]);
    // legal is restricted: its cost centre is in no figure a viewer sees (September has
    // an eng day with two active people, see above)
    const viewer = await usage(api.keys.viewer.key, {
      filter: { from: '2026-09-01', to: '2026-10-01' },
      groupBy: ['costCenter'],
    });
    expect(viewer.rows.map((r) => [r.costCenter, r.tokens])).toEqual([['CC-100', 120_000]]);
  });

  it('rejects bad dates with the field named', async () => {
    const u = await usage(bo, { filter: { from: '2026-13-45' } });
    expect(u).toMatchObject({ __typename: 'InvalidRequest' });
    expect(u.code).toBe('INVALID_REQUEST');
  });
});
