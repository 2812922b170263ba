// myStanding(board:): a person sees their own rank, or why they are not ranked (not
// eligible, with the condition and its values; below the board's top), over a real server.
// A key bound to no person is refused; an unknown board is NOT_FOUND.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from './support.ts';

const POLICY = `
policy "standing-test" version "t1"
currency USD
timezone "UTC"
privacy { min_group_size 1  identities masked }
leaderboard steady "Steady"   { subject person window month eligible when accepted >= 1 and opted_in score = accepted top 5 }
leaderboard heavy "Heavy"     { subject person window month eligible when accepted >= 10 score = accepted }
leaderboard all_hands "Hands" { subject person window month eligible when accepted >= 1 score = accepted top 1 }
`;

let api: TestApi;
const clock = new Date('2026-10-20T12:00:00Z');

type Standing = {
  ranked: boolean;
  rank: number | null;
  eligible: boolean;
  reason: string | null;
  cohortSize: number | null;
  score: number | null;
};

async function standing(key: string, board: string) {
  return api.gql<{ myStanding: Standing & { __typename: string; code?: string } }>(
    key,
    `query($b: String!) { myStanding(board: $b) { __typename
       ... on Standing { ranked rank eligible reason cohortSize score }
       ... on Problem { code message } } }`,
    { b: board },
  );
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  await seedDirectory(api);
  const published = await api.gql(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
  expect(published.body.errors).toBeUndefined();
  const rows = [
    ...[1, 2, 3].map((i) => ({ id: `a-${i}`, person: MEMBER_PERSON, task: `a${i}` })),
    ...[1, 2, 3, 4, 5].map((i) => ({ id: `d-${i}`, person: 'di@acme.test', task: `d${i}` })),
  ].map((r) => ({ ...r, ts: '2026-10-05T10:00:00Z', outcome: 'accepted' }));
  const ingested = await api.gql(
    api.keys.ingest.key,
    'mutation($rows: [OutcomeInput!]!) { recordOutcomes(rows: $rows) { ... on IngestSummary { accepted } } }',
    { rows },
  );
  expect(JSON.stringify(ingested.body)).toContain('"accepted":8');
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('myStanding', () => {
  it('gives a ranked person their rank', async () => {
    const res = await standing(api.keys.member.key, 'steady');
    // di has not opted in: ana is alone on the board
    expect(res.body.data?.myStanding).toMatchObject({
      __typename: 'Standing',
      ranked: true,
      rank: 1,
      eligible: true,
      reason: null,
      cohortSize: 1,
      score: 3,
    });
  });

  it('says why a person is not eligible, with the values read', async () => {
    const res = await standing(api.keys.member.key, 'heavy');
    const s = res.body.data?.myStanding;
    expect(s).toMatchObject({ ranked: false, rank: null, eligible: false });
    expect(s?.reason).toContain('accepted >= 10');
    expect(s?.reason).toContain('3');
  });

  it('says when a person is ranked below the top', async () => {
    const res = await standing(api.keys.member.key, 'all_hands');
    expect(res.body.data?.myStanding).toMatchObject({ ranked: false, rank: 2, eligible: true });
    expect(res.body.data?.myStanding.reason).toBe("rank 2 of 2 is below the board's top 1");
  });

  it('refuses a key bound to no person, and names an unknown board', async () => {
    const viewer = await standing(api.keys.viewer.key, 'steady');
    expect(JSON.stringify(viewer.body)).not.toContain('"ranked"');
    const unknown = await standing(api.keys.member.key, 'nope');
    expect(unknown.body.data?.myStanding).toMatchObject({ code: 'NOT_FOUND' });
  });
});
