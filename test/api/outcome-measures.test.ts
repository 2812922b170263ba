// Outcome measures end to end over GraphQL: recordOutcomes takes measures with a project and
// model (a name given twice is refused with its row), a policy that declares the measures
// ranks on them, and the board's explanation names the measure with the value read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi } from './support.ts';

const NOW = new Date('2026-11-21T12:00:00Z');
const POLICY = `policy "measured" version "1"
currency USD
timezone "UTC"
privacy { min_group_size 2 }
class standard "S"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
measure review_score "Review score" { unit score    aggregate mean }
measure cycle_time   "Cycle time"   { unit minutes  aggregate percentile 90 }
metric quality = review_score / 5
leaderboard reviewed "Reviewed quality" {
  subject person
  window month
  eligible when tasks >= 2 and cycle_time < 1d
  score = 100 * quality
}
badge well_reviewed "Well reviewed" {
  window month
  when review_score >= 4.5
}
tier t "T" { limit 1M tokens per month }
assign t otherwise
`;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => NOW);
  await publishPolicySource(api.store, { source: POLICY, activate: true });
  await ingestBatch(
    api.store,
    ['ana', 'bo', 'cy'].map((person, i) => ({
      line: i + 1,
      data: { type: 'person', person, team: 'eng', opted_in: true },
    })),
    { now: NOW.getTime() },
  );
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

const RECORD = `mutation($rows: [OutcomeInput!]!) {
  recordOutcomes(rows: $rows) {
    ... on IngestSummary { accepted rejected results { index status reason } }
  }
}`;

const BOARD = `query {
  leaderboard(name: "reviewed", window: "2026-11", first: 10) {
    __typename
    ... on LeaderboardConnection {
      edges { node { rank subjectId score explanation { facts { name window value } } } }
    }
  }
}`;

type Summary = {
  accepted: number;
  rejected: number;
  results: { index: number; status: string; reason: string | null }[];
};

const outcome = (id: string, person: string, measures: { name: string; value: number }[]) => ({
  id,
  ts: '2026-11-10T10:00:00Z',
  person,
  outcome: 'accepted',
  project: 'launch',
  model: 'claude-sonnet-4-5',
  measures,
});

describe('outcome measures over GraphQL', () => {
  it('records measures with their project and model, refusing a name given twice', async () => {
    const rows = [
      outcome('a1', 'ana', [
        { name: 'review_score', value: 4 },
        { name: 'cycle_time', value: 120 },
      ]),
      outcome('a2', 'ana', [{ name: 'review_score', value: 5 }]),
      outcome('b1', 'bo', [
        { name: 'review_score', value: 3 },
        { name: 'cycle_time', value: 60 },
      ]),
      outcome('b2', 'bo', [{ name: 'review_score', value: 3 }]),
      // cy's changes wait two days to merge: not eligible
      outcome('c1', 'cy', [
        { name: 'review_score', value: 5 },
        { name: 'cycle_time', value: 2880 },
      ]),
      outcome('c2', 'cy', [{ name: 'review_score', value: 5 }]),
      outcome('x1', 'cy', [
        { name: 'review_score', value: 1 },
        { name: 'review_score', value: 2 },
      ]),
    ];
    const res = await api.gql<{ recordOutcomes: Summary }>(api.keys.ingest.key, RECORD, { rows });
    expect(res.body.errors).toBeUndefined();
    const summary = res.body.data!.recordOutcomes;
    expect([summary.accepted, summary.rejected]).toEqual([6, 1]);
    expect(summary.results.find((r) => r.status === 'rejected')).toEqual({
      index: 6,
      status: 'rejected',
      reason: 'measures: measure "review_score" is given twice',
    });
    const [row] = await api.store.query<{ project: string; model: string; measures: unknown }>(
      `select project, model, measures from outcome_events where id = 'a1'`,
    );
    expect(row).toEqual({
      project: 'launch',
      model: 'claude-sonnet-4-5',
      measures: { review_score: 4, cycle_time: 120 },
    });
  });

  it('ranks on the declared measures and explains with their names', async () => {
    const res = await api.gql<{
      leaderboard: {
        __typename: string;
        edges: {
          node: {
            rank: number;
            subjectId: string;
            score: number;
            explanation: { facts: { name: string; window: string; value: number }[] };
          };
        }[];
      };
    }>(api.keys.governance.key, BOARD);
    expect(res.body.errors).toBeUndefined();
    const edges = res.body.data!.leaderboard.edges;
    expect(edges.map((e) => [e.node.rank, e.node.subjectId, e.node.score])).toEqual([
      [1, 'ana', 90],
      [2, 'bo', 60],
    ]);
    expect(edges[0].node.explanation.facts).toEqual([
      { name: 'review_score', window: 'month', value: 4.5 },
    ]);
  });

  it("shows a person their badges, and governance anyone's; nobody else", async () => {
    const PERSON = `query($id: String!) {
      person(id: $id) {
        ... on QueryPersonSuccess { data { id badges { name label window explanation { formula facts { name value } } } } }
      }
    }`;
    type Answer = {
      person: {
        data: { id: string; badges: { name: string; explanation: { formula: string } }[] | null };
      };
    };
    const ana = await api.gql<Answer>(api.keys.governance.key, PERSON, { id: 'ana' });
    expect(ana.body.errors).toBeUndefined();
    expect(ana.body.data!.person.data.badges).toEqual([
      {
        name: 'well_reviewed',
        label: 'Well reviewed',
        window: 'month',
        explanation: {
          formula: 'review_score >= 4.5',
          facts: [{ name: 'review_score', value: 4.5 }],
        },
      },
    ]);
    const bo = await api.gql<Answer>(api.keys.governance.key, PERSON, { id: 'bo' });
    expect(bo.body.data!.person.data.badges).toEqual([]);
    const own = (await createApiKey(api.store.em(), { role: 'member', name: 'ana', person: 'ana' }))
      .key;
    const mine = await api.gql<Answer>(own, PERSON, { id: 'ana' });
    expect(mine.body.data!.person.data.badges?.map((b) => b.name)).toEqual(['well_reviewed']);
    // a viewer lists people, masked: no badges
    const people = await api.gql<{ people: { edges: { node: { badges: unknown } }[] } }>(
      api.keys.viewer.key,
      `{ people(first: 10) { edges { node { badges { name } } } } }`,
    );
    expect(people.body.errors).toBeUndefined();
    for (const e of people.body.data!.people.edges) expect(e.node.badges).toBeNull();
  });
});
