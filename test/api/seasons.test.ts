// Seasons end to end on a real database: a season board reads only its season (it resets
// when the next one starts), the sweep archives the ended season's final standings once,
// a day after it ends, with the policy hash, and seasonStandings shows them named to
// governance and masked to a viewer (restricted teams left out). The clock is injected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi, usageLine } from './support.ts';

const POLICY = `policy "seasonal" version "1"
currency USD
timezone "UTC"
privacy { min_group_size 2 }
class standard "S"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
tier t "T" { limit 10M tokens per month }
assign t otherwise
season october "October sprint" { from "2026-10-01"  until "2026-11-01" }
season november { from "2026-11-01"  until "2026-12-01" }
leaderboard sprint "Sprint" {
  subject person
  window season
  eligible when tokens > 0
  score = tokens / 1k
}
`;

let clock = new Date('2026-10-20T12:00:00Z');
let api: TestApi;
let hash: string;

const BOARD = `{ leaderboard(name: "sprint") { ... on LeaderboardConnection {
  board { periodStart periodEnd } edges { node { rank subjectId score } } } } }`;
const STANDINGS = `query($board: String!, $season: String!) { seasonStandings(board: $board, season: $season) {
  __typename
  ... on SeasonStandings { season label periodStart periodEnd policyHash
        entries { rank subjectId masked score } }
  ... on NotFound { message } } }`;

type Entry = { rank: number; subjectId: string; masked?: boolean; score: number };

async function board() {
  const res = await api.gql<{
    leaderboard: { board: { periodStart: string; periodEnd: string }; edges: { node: Entry }[] };
  }>(api.keys.governance.key, BOARD);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.leaderboard;
}

async function standings(key: string, season: string) {
  const res = await api.gql<{ seasonStandings: Record<string, unknown> }>(key, STANDINGS, {
    board: 'sprint',
    season,
  });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.seasonStandings;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  const published = await publishPolicySource(api.store, { source: POLICY, activate: true });
  if (published.kind !== 'published') throw new Error(JSON.stringify(published));
  hash = published.version.hash;
  await ingestBatch(
    api.store,
    [
      { line: 1, data: { type: 'team', team: 'eng', sensitivity: 'normal' } },
      { line: 2, data: { type: 'team', team: 'vault', sensitivity: 'restricted' } },
      ...[
        ['ana@acme.test', 'eng'],
        ['bo@acme.test', 'eng'],
        ['dee@acme.test', 'vault'],
        ['eve@acme.test', 'vault'],
      ].map(([person, team], i) => ({ line: i + 3, data: { type: 'person', person, team } })),
      usageLine('o-ana', 'ana@acme.test', '2026-10-05T10:00:00Z', 5_000),
      usageLine('o-bo', 'bo@acme.test', '2026-10-06T10:00:00Z', 3_000),
      usageLine('o-dee', 'dee@acme.test', '2026-10-07T10:00:00Z', 9_000),
      usageLine('n-bo', 'bo@acme.test', '2026-11-03T10:00:00Z', 4_000),
    ],
    { now: Date.parse('2026-11-10T12:00:00Z') },
  );
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('seasons', () => {
  it('ranks the current season only, and starts again when the next season starts', async () => {
    const october = await board();
    expect(october.board).toMatchObject({
      periodStart: '2026-10-01T00:00:00.000Z',
      periodEnd: '2026-11-01T00:00:00.000Z',
    });
    expect(october.edges.map((e) => [e.node.subjectId, e.node.score])).toEqual([
      ['dee@acme.test', 9],
      ['ana@acme.test', 5],
      ['bo@acme.test', 3],
    ]);
    clock = new Date('2026-11-10T12:00:00Z');
    const november = await board();
    expect(november.board.periodStart).toBe('2026-11-01T00:00:00.000Z');
    expect(november.edges.map((e) => [e.node.subjectId, e.node.score])).toEqual([
      ['bo@acme.test', 4],
    ]);
  });

  it('archives an ended season once, a day after it ends', async () => {
    clock = new Date('2026-11-01T12:00:00Z');
    expect((await reevaluationFor(api.store).sweep({ force: true })).archivedSeasons).toBe(0);
    clock = new Date('2026-11-10T12:00:00Z');
    expect((await reevaluationFor(api.store).sweep({ force: true })).archivedSeasons).toBe(1);
    expect((await reevaluationFor(api.store).sweep({ force: true })).archivedSeasons).toBe(0);
  });

  it('shows the archive named to governance, masked to a viewer without restricted teams', async () => {
    const named = await standings(api.keys.governance.key, 'october');
    expect(named).toMatchObject({
      __typename: 'SeasonStandings',
      season: 'october',
      label: 'October sprint',
      periodStart: '2026-10-01T00:00:00.000Z',
      periodEnd: '2026-11-01T00:00:00.000Z',
      policyHash: hash,
    });
    expect((named.entries as Entry[]).map((e) => [e.rank, e.subjectId, e.score])).toEqual([
      [1, 'dee@acme.test', 9],
      [2, 'ana@acme.test', 5],
      [3, 'bo@acme.test', 3],
    ]);
    const masked = (await standings(api.keys.viewer.key, 'october')).entries as Entry[];
    expect(masked.map((e) => [e.rank, e.masked, e.score])).toEqual([
      [1, true, 5],
      [2, true, 3],
    ]);
    expect(JSON.stringify(masked)).not.toContain('@acme.test');
  });

  it('answers not found for a season not archived', async () => {
    expect(await standings(api.keys.governance.key, 'november')).toMatchObject({
      __typename: 'NotFound',
    });
  });
});
