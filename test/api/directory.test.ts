// The directory over GraphQL: key-set pages, nested fields through dataloaders (no N+1),
// and upsertDirectory's per-row results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
  const teams = Array.from({ length: 5 }, (_, t) => ({
    team: `team-${t}`,
    name: `Team ${t}`,
    parent: t === 0 ? null : 'team-0',
    owner: `p${t * 8}@acme.test`,
  }));
  const people = Array.from({ length: 40 }, (_, i) => ({
    person: `p${i}@acme.test`,
    name: `Person ${i}`,
    team: `team-${i % 5}`,
    role: i % 2 ? 'engineer' : 'analyst',
    manager: i % 8 === 0 ? null : `p${i - (i % 8)}@acme.test`,
  }));
  const res = await api.gql(
    api.keys.ingest.key,
    `mutation($teams: [TeamInput!], $people: [PersonInput!]) {
      upsertDirectory(teams: $teams, people: $people) { ... on IngestSummary { accepted rejected } } }`,
    { teams, people },
  );
  expect(res.body.data).toEqual({ upsertDirectory: { accepted: 45, rejected: 0 } });
});
afterAll(async () => {
  await api?.stop();
});

/** Counts the SQL statements sent through the store's pool while `work` runs. */
async function countQueries(work: () => Promise<unknown>): Promise<number> {
  // the pool's own Client class: the pg copy the store really uses
  const proto = (
    api.store.pool as unknown as {
      Client: { prototype: { query: (...args: unknown[]) => unknown } };
    }
  ).Client.prototype;
  const original = proto.query;
  let count = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    proto.query = original;
  }
  return count;
}

const NESTED = `query($first: Int) { people(first: $first) { edges { node {
  id name team { id name owner parent { id } members(first: 3) { edges { node { id } } } }
  manager { id team { id } }
} } } }`;

describe('directory', () => {
  it('resolves nested teams, managers and members in a fixed number of queries', async () => {
    const key = api.keys.governance.key;
    await api.gql(key, NESTED, { first: 1 }); // warm-up: one-time secret and key bookkeeping
    const small = await countQueries(() => api.gql(key, NESTED, { first: 5 }));
    const large = await countQueries(() => api.gql(key, NESTED, { first: 40 }));
    // one statement per nesting round (page, people, teams, members, managers, audit) plus
    // the request's privacy view (active policy head, membership when the data changed),
    // never one per person: a 1 + N pattern would need more than 40 here
    expect(small).toBeGreaterThanOrEqual(3);
    expect(small).toBeLessThanOrEqual(14);
    expect(large).toBeLessThanOrEqual(14);
    const res = await api.gql<{
      people: { edges: { node: { id: string; team: { id: string } } }[] };
    }>(key, NESTED, {
      first: 40,
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.people.edges).toHaveLength(40);
  });

  it('pages people forwards and backwards without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: Awaited<
        ReturnType<
          typeof api.gql<{
            people: {
              edges: { node: { id: string } }[];
              pageInfo: { hasNextPage: boolean; endCursor: string };
            };
          }>
        >
      > = await api.gql(
        api.keys.viewer.key,
        'query($after: String) { people(first: 7, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      const page = res.body.data!.people;
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    const last = await api.gql<{ people: { edges: { node: { id: string } }[] } }>(
      api.keys.viewer.key,
      '{ people(last: 3) { edges { node { id } } } }',
    );
    expect(last.body.data!.people.edges.map((e) => e.node.id)).toEqual(seen.slice(-3));
  });

  it('refuses a forged masked cursor with a clear message', async () => {
    const res = await api.gql(
      api.keys.viewer.key,
      'query($a: String) { people(after: $a) { edges { cursor } } }',
      {
        a: Buffer.from('p1@acme.test').toString('base64url'),
      },
    );
    expect(res.body.errors?.[0]).toMatchObject({
      message: 'invalid cursor: use a cursor returned by this connection',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('filters people by team and lists teams with children', async () => {
    const res = await api.gql<{
      people: { edges: unknown[] };
      teams: { edges: { node: { id: string; children: { edges: { node: { id: string } }[] } } }[] };
    }>(
      api.keys.viewer.key,
      '{ people(team: "team-3", first: 50) { edges { node { id } } } teams(first: 1) { edges { node { id children { edges { node { id } } } } } } }',
    );
    expect(res.body.data!.people.edges).toHaveLength(8);
    expect(res.body.data!.teams.edges[0].node.id).toBe('team-0');
    expect(res.body.data!.teams.edges[0].node.children.edges.map((e) => e.node.id)).toEqual([
      'team-1',
      'team-2',
      'team-3',
      'team-4',
    ]);
  });

  it('reports a bad directory row and keeps the others', async () => {
    const res = await api.gql(
      api.keys.governance.key,
      `mutation($people: [PersonInput!]) { upsertDirectory(people: $people) {
        ... on IngestSummary { accepted rejected results { index status reason } } } }`,
      {
        people: [
          { person: 'new@acme.test', team: 'team-1' },
          { name: 'no id' },
          { person: 'p1@acme.test', role: 'lead' },
        ],
      },
    );
    expect(res.body.data).toEqual({
      upsertDirectory: {
        accepted: 2,
        rejected: 1,
        results: [
          { index: 0, status: 'accepted', reason: null },
          { index: 1, status: 'rejected', reason: expect.stringMatching(/^person: /) },
          { index: 2, status: 'accepted', reason: null },
        ],
      },
    });
  });

  it('lets a member change only their own opt-in, and audits it', async () => {
    const member = await startTestApi();
    try {
      await member.gql(
        member.keys.admin.key,
        'mutation { upsertDirectory(people: [{ person: "ana@acme.test" }, { person: "bo@acme.test" }]) { __typename } }',
      );
      const own = await member.gql(
        member.keys.member.key,
        'mutation { setLeaderboardOptIn(optedIn: true) { __typename ... on MutationSetLeaderboardOptInSuccess { data { id optedIn } } } }',
      );
      expect(own.body.data).toEqual({
        setLeaderboardOptIn: {
          __typename: 'MutationSetLeaderboardOptInSuccess',
          data: { id: 'ana@acme.test', optedIn: true },
        },
      });
      const other = await member.gql(
        member.keys.member.key,
        'mutation { setLeaderboardOptIn(person: "bo@acme.test", optedIn: true) { __typename ... on Forbidden { message } } }',
      );
      expect(other.body.data).toEqual({
        setLeaderboardOptIn: {
          __typename: 'Forbidden',
          message: 'a member may change only their own opt-in',
        },
      });
      const audit = await member.store.query(
        'select actor, action, subject, detail from audit_log where action = $1',
        ['person.opt_in'],
      );
      expect(audit).toEqual([
        {
          actor: member.keys.member.id,
          action: 'person.opt_in',
          subject: 'ana@acme.test',
          detail: { optedIn: true },
        },
      ]);
    } finally {
      await member.stop();
    }
  });
});
