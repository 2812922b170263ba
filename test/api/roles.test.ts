// The role × operation matrix: every role against every operation this API owns, asserting
// allowed or denied, and masked or named identities. The expected table mirrors the role
// table in the README ("The GraphQL API").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { auditTrailFor } from '../../src/app/audit.ts';
import type { Role } from '../../src/app/roles.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from './support.ts';

const POLICY = `policy "tiny" version "v1"
currency USD
class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }
tier baseline "Everyone" { limit 1M tokens per month models standard }
assign baseline otherwise
`;

let api: TestApi;
let spareKeyId = '';
beforeAll(async () => {
  api = await startTestApi();
  spareKeyId = (await createApiKey(api.store.em(), { role: 'viewer', name: 'spare' })).id;
  await seedDirectory(api);
  const published = await api.gql(
    api.keys.admin.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename ... on PolicyVersion { id } } }',
    { s: POLICY },
  );
  expect(published.body.data).toEqual({ publishPolicy: { __typename: 'PolicyVersion', id: 1 } });
});
afterAll(async () => {
  await api?.stop();
});

const ROLES: Role[] = ['ingest', 'member', 'viewer', 'governance', 'admin'];

/** allow: data; deny: a FORBIDDEN error from the role check; refuse: a typed Forbidden result. */
type Outcome = 'allow' | 'deny' | 'refuse';
type Operation = {
  name: string;
  query: string;
  variables?: (role: Role) => Record<string, unknown>;
  expect: Record<Role, Outcome>;
};

const readers = {
  ingest: 'deny',
  member: 'allow',
  viewer: 'allow',
  governance: 'allow',
  admin: 'allow',
} as const;
const eventWriters = {
  ingest: 'allow',
  member: 'deny',
  viewer: 'deny',
  governance: 'deny',
  admin: 'allow',
} as const;
const governors = {
  ingest: 'deny',
  member: 'deny',
  viewer: 'deny',
  governance: 'allow',
  admin: 'allow',
} as const;
const admins = {
  ingest: 'deny',
  member: 'deny',
  viewer: 'deny',
  governance: 'deny',
  admin: 'allow',
} as const;
const ROW_ID = (role: Role, kind: string) => `${kind}-${role}`;

const OPERATIONS: Operation[] = [
  {
    name: 'viewer',
    query: '{ viewer { role } }',
    expect: {
      ingest: 'allow',
      member: 'allow',
      viewer: 'allow',
      governance: 'allow',
      admin: 'allow',
    },
  },
  { name: 'people', query: '{ people { edges { node { id } } } }', expect: readers },
  {
    name: 'person (own record of the member)',
    query: `{ person(id: "${MEMBER_PERSON}") { __typename ... on QueryPersonSuccess { data { id } } } }`,
    expect: {
      ingest: 'deny',
      member: 'allow',
      viewer: 'refuse',
      governance: 'allow',
      admin: 'allow',
    },
  },
  {
    name: 'person (someone else)',
    query:
      '{ person(id: "bo@acme.test") { __typename ... on QueryPersonSuccess { data { id } } } }',
    expect: {
      ingest: 'deny',
      member: 'refuse',
      viewer: 'refuse',
      governance: 'allow',
      admin: 'allow',
    },
  },
  { name: 'teams', query: '{ teams { edges { node { id } } } }', expect: readers },
  {
    name: 'team',
    query: '{ team(id: "platform") { __typename ... on QueryTeamSuccess { data { id owner } } } }',
    expect: readers,
  },
  {
    name: 'policies',
    query: '{ policies { edges { node { id version status } } } }',
    expect: readers,
  },
  {
    name: 'policy',
    query: '{ policy(version: "v1") { __typename ... on QueryPolicySuccess { data { hash } } } }',
    expect: readers,
  },
  { name: 'activePolicy', query: '{ activePolicy { version } }', expect: readers },
  {
    name: 'metrics (team series)',
    query: '{ metrics(subject: team) { __typename } }',
    expect: readers,
  },
  {
    name: 'myReports (the member manages nobody; other keys are bound to no person)',
    query: '{ myReports { __typename } }',
    expect: {
      ingest: 'deny',
      member: 'allow',
      viewer: 'deny',
      governance: 'refuse',
      admin: 'refuse',
    },
  },
  {
    name: 'spendReport',
    query: '{ spendReport(by: [team]) { __typename } }',
    expect: {
      ingest: 'deny',
      member: 'deny',
      viewer: 'allow',
      governance: 'allow',
      admin: 'allow',
    },
  },
  {
    name: 'checkPolicy',
    query: 'query($s: String!) { checkPolicy(source: $s) { ok } }',
    variables: () => ({ s: POLICY }),
    expect: readers,
  },
  {
    name: 'recordUsage',
    query:
      'mutation($r: [UsageInput!]!) { recordUsage(rows: $r) { __typename ... on IngestSummary { accepted } } }',
    variables: (role) => ({
      r: [
        {
          id: ROW_ID(role, 'u'),
          ts: '2026-10-02T09:15:03Z',
          person: MEMBER_PERSON,
          model: 'm1',
          inputTokens: 10,
        },
      ],
    }),
    expect: eventWriters,
  },
  {
    name: 'recordOutcomes',
    query:
      'mutation($r: [OutcomeInput!]!) { recordOutcomes(rows: $r) { __typename ... on IngestSummary { accepted } } }',
    variables: (role) => ({
      r: [
        {
          id: ROW_ID(role, 'o'),
          ts: '2026-10-02T09:40:00Z',
          person: MEMBER_PERSON,
          task: 'T-1',
          outcome: 'accepted',
        },
      ],
    }),
    expect: eventWriters,
  },
  {
    name: 'recordCompliance',
    query:
      'mutation($r: [ComplianceInput!]!) { recordCompliance(rows: $r) { __typename ... on IngestSummary { accepted } } }',
    variables: (role) => ({
      r: [
        {
          id: ROW_ID(role, 'c'),
          ts: '2026-10-03T11:00:00Z',
          person: MEMBER_PERSON,
          flag: 'sensitive_data',
          severity: 'low',
        },
      ],
    }),
    expect: eventWriters,
  },
  {
    name: 'upsertDirectory',
    query:
      'mutation($t: [TeamInput!]) { upsertDirectory(teams: $t) { __typename ... on IngestSummary { accepted } } }',
    variables: () => ({
      t: [{ team: 'platform', name: 'Platform', owner: 'bo@acme.test', costCenter: 'CC-100' }],
    }),
    expect: {
      ingest: 'allow',
      member: 'deny',
      viewer: 'deny',
      governance: 'allow',
      admin: 'allow',
    },
  },
  {
    name: 'publishPolicy',
    query:
      'mutation($s: String!) { publishPolicy(source: $s) { __typename ... on PolicyVersion { status } } }',
    variables: () => ({ s: POLICY }),
    expect: governors,
  },
  {
    name: 'activatePolicy',
    query:
      'mutation { activatePolicy(id: 1) { __typename ... on MutationActivatePolicySuccess { data { status } } } }',
    expect: governors,
  },
  {
    name: 'setLeaderboardOptIn (the member themselves)',
    query: `mutation { setLeaderboardOptIn(person: "${MEMBER_PERSON}", optedIn: true) { __typename ... on MutationSetLeaderboardOptInSuccess { data { optedIn } } } }`,
    expect: {
      ingest: 'deny',
      member: 'allow',
      viewer: 'deny',
      governance: 'allow',
      admin: 'allow',
    },
  },
  {
    name: 'setLeaderboardOptIn (someone else)',
    query:
      'mutation { setLeaderboardOptIn(person: "bo@acme.test", optedIn: false) { __typename ... on MutationSetLeaderboardOptInSuccess { data { optedIn } } } }',
    expect: {
      ingest: 'deny',
      member: 'refuse',
      viewer: 'deny',
      governance: 'allow',
      admin: 'allow',
    },
  },
  { name: 'apiKeys', query: '{ apiKeys { edges { node { id role } } } }', expect: admins },
  {
    name: 'createApiKey',
    query:
      'mutation($n: String!) { createApiKey(role: viewer, name: $n) { __typename ... on MutationCreateApiKeySuccess { data { key } } } }',
    variables: (role) => ({ n: `made by ${role}` }),
    expect: admins,
  },
  {
    name: 'revokeApiKey',
    query:
      'mutation($id: String!) { revokeApiKey(id: $id) { __typename ... on NotFound { code } } }',
    variables: () => ({ id: spareKeyId }),
    expect: { ingest: 'deny', member: 'deny', viewer: 'deny', governance: 'deny', admin: 'allow' },
  },
];

describe('role × operation matrix', () => {
  for (const op of OPERATIONS) {
    for (const role of ROLES) {
      const expected = op.expect[role];
      it(`${op.name} as ${role}: ${expected}`, async () => {
        const res = await api.gql(api.keys[role].key, op.query, op.variables?.(role));
        expect(res.status).toBe(200);
        const errors = res.body.errors ?? [];
        const text = JSON.stringify(res.body);
        if (expected === 'deny') {
          expect(errors.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
          expect(errors[0].message).toMatch(
            new RegExp(`^role "${role}" may not use (Query|Mutation)\\.`),
          );
        } else {
          expect(errors).toEqual([]);
          if (expected === 'refuse') expect(text).toContain('"__typename":"Forbidden"');
          else
            expect(text).not.toMatch(
              /"__typename":"(Forbidden|NotFound|PolicyInvalid|BatchTooLarge)"/,
            );
        }
      });
    }
  }
});

describe('masked versus named identities', () => {
  const PEOPLE =
    '{ people(first: 10) { edges { node { id masked name attributes manager { id } team { id owner } } } } }';
  type PersonView = {
    id: string;
    masked: boolean;
    name: string | null;
    manager: { id: string } | null;
    team: { id: string; owner: string | null } | null;
  };
  const people = async (role: Role) => {
    const res = await api.gql<{ people: { edges: { node: PersonView }[] } }>(
      api.keys[role].key,
      PEOPLE,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.people.edges.map((e) => e.node);
  };

  it('names everyone for governance and admin', async () => {
    for (const role of ['governance', 'admin'] as const) {
      const list = await people(role);
      expect(list.map((p) => p.id).sort()).toEqual([
        'ana@acme.test',
        'bo@acme.test',
        'cy@acme.test',
        'di@acme.test',
      ]);
      expect(list.every((p) => !p.masked && p.name)).toBe(true);
      expect(list.find((p) => p.id === 'ana@acme.test')?.manager).toEqual({ id: 'bo@acme.test' });
      expect(list.find((p) => p.id === 'ana@acme.test')?.team?.owner).toBe('bo@acme.test');
    }
  });

  it('masks everyone for a viewer with stable pseudonyms, leaving restricted teams out', async () => {
    const first = await people('viewer');
    const again = await people('viewer');
    // cy is in legal, a restricted team: absent below governance
    expect(first).toHaveLength(3);
    for (const p of first) {
      expect(p.masked).toBe(true);
      expect(p.id).toMatch(/^anon-[0-9a-f]{12}$/);
      expect(p.name).toBeNull();
      expect(p.manager).toBeNull();
      // an owner is one known person: not even a pseudonym is shown
      expect(p.team?.owner).toBeNull();
    }
    expect(again.map((p) => p.id)).toEqual(first.map((p) => p.id));
    expect(JSON.stringify(first)).not.toContain('@acme.test');
  });

  it('shows a member their own identity and masks everyone else', async () => {
    const list = await people('member');
    const own = list.filter((p) => !p.masked);
    expect(own.map((p) => p.id)).toEqual([MEMBER_PERSON]);
    expect(own[0].name).toBe('Ana Ruiz');
    expect(list.filter((p) => p.masked)).toHaveLength(2);
    // the same directory pseudonyms as a viewer sees: one mapping per server
    const viewerIds = new Set((await people('viewer')).map((p) => p.id));
    for (const p of list.filter((x) => x.masked)) expect(viewerIds.has(p.id)).toBe(true);
  });

  it('pages masked people with cursors that reveal no identity', async () => {
    const res = await api.gql<{
      people: {
        edges: { cursor: string }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(
      api.keys.viewer.key,
      '{ people(first: 2) { edges { cursor } pageInfo { hasNextPage endCursor } } }',
    );
    const page = res.body.data!.people;
    expect(page.pageInfo.hasNextPage).toBe(true);
    for (const e of page.edges)
      expect(Buffer.from(e.cursor, 'base64url').toString()).not.toContain('@');
    const next = await api.gql<{ people: { edges: { node: { id: string } }[] } }>(
      api.keys.viewer.key,
      'query($after: String) { people(first: 10, after: $after) { edges { node { id } } } }',
      { after: page.pageInfo.endCursor },
    );
    expect(next.body.data!.people.edges).toHaveLength(1);
  });

  it('audits governance reads of named people, and not masked reads', async () => {
    // earlier tests' reads may still be queued: write them before clearing the log
    await auditTrailFor(api.store).flush();
    await api.store.query('delete from audit_log');
    await people('viewer');
    await people('member');
    // reads are audited in batches after the answer: flush to see them
    await auditTrailFor(api.store).flush();
    expect(await api.store.query("select * from audit_log where action = 'read.person'")).toEqual(
      [],
    );
    await people('governance');
    await auditTrailFor(api.store).flush();
    const rows = await api.store.query<{ actor: string; role: string; subject: string }>(
      "select actor, role, subject from audit_log where action = 'read.person' order by subject",
    );
    expect(rows).toEqual(
      ['ana@acme.test', 'bo@acme.test', 'cy@acme.test', 'di@acme.test'].map((subject) => ({
        actor: api.keys.governance.id,
        role: 'governance',
        subject,
      })),
    );
  });
});
