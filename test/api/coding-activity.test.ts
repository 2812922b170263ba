// Claude Code activity (core_metrics: sessions, lines added and removed, commits, pull
// requests) as facts a policy uses and as figures the usage query reads, under the privacy
// rules: governance per person, a member their own, a viewer by visible team only (a team
// under min_group_size is in no figure, nor a team-day with fewer than min_group_size
// people coding). A restated day replaces the figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { writeClaudeCodeActivity } from '../../src/store/claude-code-activity.ts';
import type { ClaudeCodeActivity } from '../../src/store/ingest/claude-code.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { MEMBER_PERSON, startTestApi, type TestApi } from './support.ts';

const POLICY = `policy "p" version "1"
currency USD
timezone "UTC"
privacy { min_group_size 2 }
class standard "S"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
metric commits_per_session = commits / max(sessions, 1)
leaderboard shipping "Shipping" {
  subject person
  window month
  eligible when sessions >= 1
  score = commits + pull_requests + (lines_added + lines_removed) / 100
  top 3
}
tier t "T" { limit 1M tokens per month }
assign t otherwise
rule quiet "Quiet" severity low {
  when commits within 30d * 2 < sessions within 30d and sessions within 30d >= 2
  then notify manager
}
`;

const ANA = MEMBER_PERSON;
const activity = (
  person: string,
  day: string,
  sessions: number,
  linesAdded: number,
  linesRemoved: number,
  commits: number,
  pullRequests: number,
): ClaudeCodeActivity => ({
  day,
  person,
  sessions,
  linesAdded,
  linesRemoved,
  commits,
  pullRequests,
  customerType: 'subscription',
  terminalType: 'vscode',
});

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
  await publishPolicySource(api.store, { source: POLICY, activate: true });
  const person = (id: string, team: string) => ({ type: 'person', person: id, team });
  await ingestBatch(
    api.store,
    [
      person(ANA, 'eng'),
      person('bo@acme.test', 'eng'),
      person('cy@acme.test', 'solo'),
      {
        type: 'usage',
        id: 'u1',
        ts: '2026-11-10T10:00:00Z',
        person: ANA,
        model: 'claude-sonnet-4-5',
        input_tokens: 1000,
      },
    ].map((data, i) => ({ line: i + 1, data })),
    { now: Date.parse('2026-11-22T00:00:00Z') },
  );
  await writeClaudeCodeActivity(api.store, [
    activity(ANA, '2026-11-10', 3, 120, 30, 2, 1),
    activity('bo@acme.test', '2026-11-10', 1, 10, 2, 1, 0),
    activity('bo@acme.test', '2026-11-11', 2, 40, 0, 0, 0),
    activity('cy@acme.test', '2026-11-10', 5, 500, 100, 7, 3),
  ]);
});
afterAll(async () => {
  await api?.stop();
});

const USAGE = `query($filter: UsageFilter, $groupBy: [UsageDimension!]) {
  usage(filter: $filter, groupBy: $groupBy) {
    __typename
    ... on Problem { code message }
    ... on UsageConnection {
      edges { node { person team model people tokens
        activity { sessions linesAdded linesRemoved commits pullRequests } } }
    }
  }
}`;

type Node = {
  person: string | null;
  team: string | null;
  model: string | null;
  people: number;
  tokens: number;
  activity: Record<string, number>;
};

async function usage(key: string, groupBy: string[], filter = {}) {
  const res = await api.gql<{ usage: { __typename: string; edges?: { node: Node }[] } }>(
    key,
    USAGE,
    { filter: { from: '2026-11-01', to: '2026-12-01', ...filter }, groupBy },
  );
  expect(res.body.errors).toBeUndefined();
  const u = res.body.data!.usage;
  return { type: u.__typename, rows: (u.edges ?? []).map((e) => e.node) };
}

const figures = (sessions: number, la: number, lr: number, commits: number, prs: number) => ({
  sessions,
  linesAdded: la,
  linesRemoved: lr,
  commits,
  pullRequests: prs,
});

describe('Claude Code activity', () => {
  it('is vocabulary the checker accepts in metrics, boards and rules', () => {
    const a = analyzePolicy(POLICY);
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(a.ir).not.toBeNull();
  });

  it('is summed as facts per person, team and org', async () => {
    const sums = await usageReader(api.store).sumFacts(
      [
        {
          kind: 'days',
          from: '2026-11-01',
          to: '2026-12-01',
          key: 'month',
          environment: null,
          facts: ['sessions', 'lines_added', 'lines_removed', 'commits', 'pull_requests'],
        },
      ],
      ['person', 'team', 'org'],
    );
    expect(sums.person?.get('month')?.get(ANA)).toEqual({
      sessions: 3,
      lines_added: 120,
      lines_removed: 30,
      commits: 2,
      pull_requests: 1,
    });
    expect(sums.team?.get('month')?.get('eng')).toMatchObject({ sessions: 6, commits: 3 });
    expect(sums.org?.get('month')?.get('org')).toMatchObject({ sessions: 11, commits: 10 });
  });

  it('reads per person for governance, beside the usage of the same people', async () => {
    const u = await usage(api.keys.governance.key, ['person']);
    expect(u.rows.map((r) => [r.person, r.tokens, r.activity])).toEqual([
      [ANA, 1000, figures(3, 120, 30, 2, 1)],
      ['bo@acme.test', 0, figures(3, 50, 2, 1, 0)],
      ['cy@acme.test', 0, figures(5, 500, 100, 7, 3)],
    ]);
  });

  it('reads by visible team only for a viewer: a team below min_group_size is in no figure', async () => {
    const u = await usage(api.keys.viewer.key, ['team']);
    // eng on 2026-11-10: ana and bo coding (two people, k is 2) count; bo alone on the 11th
    // and ana's tokens (the only token user that day) are one person's, in no figure
    expect(u.rows.map((r) => [r.team, r.people, r.tokens, r.activity])).toEqual([
      ['eng', 2, 0, figures(4, 130, 32, 3, 1)],
    ]);
    const total = await usage(api.keys.viewer.key, []);
    expect(total.rows.map((r) => r.activity)).toEqual([figures(4, 130, 32, 3, 1)]);
    // no person grouping below governance
    expect((await usage(api.keys.viewer.key, ['person'])).type).toBe('Forbidden');
  });

  it('gives a member their own only', async () => {
    const u = await usage(api.keys.member.key, ['person']);
    expect(u.rows.map((r) => [r.person, r.activity])).toEqual([[ANA, figures(3, 120, 30, 2, 1)]]);
  });

  it('has no model: a query by model reads it as zero', async () => {
    const u = await usage(api.keys.governance.key, ['model']);
    expect(u.rows.map((r) => [r.model, r.activity])).toEqual([
      ['claude-sonnet-4-5', figures(0, 0, 0, 0, 0)],
    ]);
  });

  it('a restated day replaces the figures, in the facts too', async () => {
    await writeClaudeCodeActivity(api.store, [activity(ANA, '2026-11-10', 4, 150, 30, 3, 1)]);
    const u = await usage(api.keys.governance.key, ['person'], { people: [ANA] });
    expect(u.rows.map((r) => r.activity)).toEqual([figures(4, 150, 30, 3, 1)]);
    const [row] = await api.store.query<{ sessions: string; n: string }>(
      `select sum(sessions)::text as sessions, count(*)::text as n from daily_rollups
        where person_id = $1 and day = '2026-11-10' and model = ''`,
      [ANA],
    );
    expect(row).toEqual({ sessions: '4', n: '1' });
  });
});
