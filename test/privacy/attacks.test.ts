// The seven attacks of issue 14, each performed with the viewer, member and ingest keys over
// real HTTP, asserting that nothing they should not learn comes back (docs/privacy.md).
// Governance still sees what it needs. Runs on PGlite and, with DATABASE_URL, PostgreSQL.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { escalationEventsFor } from '../../src/app/escalation-events.ts';
import { escalationsFor } from '../../src/app/escalations.ts';
import { listEscalations } from '../../src/store/escalations.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi } from '../api/support.ts';
import { HIDDEN_PEOPLE, loadOrg, PEOPLE, POLICY, VISIBLE_TEAMS } from './org.ts';

let api: TestApi;
let member: string; // bound to p2 (platform)
const ME = 'p2@acme.test';
const LOWER = ['viewer', 'member', 'ingest'] as const;
type Lower = (typeof LOWER)[number];
const keyOf = (role: Lower | 'governance') => (role === 'member' ? member : api.keys[role].key);

beforeAll(async () => {
  api = await startTestApi();
  await loadOrg(api.store);
  member = (await createApiKey(api.store.em(), { role: 'member', name: 'p2', person: ME })).key;
}, 180_000);

afterAll(async () => {
  await api?.stop();
});

type Body = {
  data?: Record<string, unknown> | null;
  errors?: { extensions?: { code?: string } }[];
};

async function ask(role: Lower | 'governance', query: string, variables?: Record<string, unknown>) {
  const res = await api.gql(keyOf(role), query, variables);
  return res.body as Body;
}

/** What a lower role must never see in any answer: hidden people, their teams, their figures. */
function leaks(body: unknown, role: Lower, options: { directory?: boolean } = {}): string[] {
  const text = JSON.stringify(body);
  const found: string[] = [];
  for (const p of HIDDEN_PEOPLE) {
    if (text.includes(p.id)) found.push(p.id);
    if (text.includes(`"${p.id.split('@')[0].toUpperCase()}"`)) found.push(`name of ${p.id}`);
    if (new RegExp(`[^0-9.]${p.tokens}[^0-9]`).test(text)) found.push(`tokens of ${p.id}`);
  }
  // a small team may be listed in the directory (no figures); a restricted one never
  for (const team of options.directory ? ['security'] : ['security', 'tiny'])
    if (text.includes(`"${team}"`)) found.push(team);
  // other people's real ids never appear below governance (a member sees only their own)
  for (const p of PEOPLE)
    if (!(role === 'member' && p.id === ME) && text.includes(p.id)) found.push(p.id);
  return [...new Set(found)];
}

/** One top-level field of an answer (undefined when the answer has no data). */
const field = (body: Body, name: string): unknown => body.data?.[name];

const forbidden = (body: Body) =>
  body.errors?.some((e) => e.extensions?.code === 'FORBIDDEN') === true;

const IMPACT = `query($from: PolicySideInput!, $to: PolicySideInput!) {
  policyImpact(from: $from, to: $to, window: "2026-11") {
    __typename
    ... on Problem { code message }
    ... on QueryPolicyImpactSuccess { data {
      hasData identities people teams tierChanges tierTransitions { from to count }
      tierMoves { person { id masked } from to }
      budgetFlips { kind subject { id masked } budget }
      leaderboards { name rankedAfter entering { subject { id } rank score } largestMoves { subject { id } } }
      cost markdown notes
    } }
  }
}`;

describe('attack 1: replaying policy text over real data', () => {
  const probe = `${POLICY.replace('version "1"', 'version "probe"').replace(
    'min_group_size 3',
    'min_group_size 1',
  )}
budget person "p9@acme.test" { 0.01 USD per month }
leaderboard spies "Spies" {
  subject person
  window month
  eligible when team == "security"
  score = tokens
  top 50
}
`;

  it('refuses caller-written source below governance', async () => {
    for (const role of LOWER) {
      const body = await ask(role, IMPACT, { from: { version: 'v1' }, to: { source: probe } });
      if (role === 'ingest') expect(forbidden(body)).toBe(true);
      else
        expect(body.data?.policyImpact).toMatchObject({
          __typename: 'Forbidden',
          code: 'FORBIDDEN',
        });
      expect(leaks(body, role)).toEqual([]);
    }
  });

  it('replays published versions as aggregates over visible teams, under the ACTIVE k', async () => {
    // a published (not active) version with min_group_size 1 and a board of security members
    await publishPolicySource(api.store, { source: probe });
    for (const role of LOWER) {
      const body = await ask(role, IMPACT, { from: { version: 'v1' }, to: { version: 'v2' } });
      if (role === 'ingest') {
        expect(forbidden(body)).toBe(true);
        continue;
      }
      const report = (field(body, 'policyImpact') as { data: Record<string, unknown> }).data;
      expect(report.identities).toBe('masked');
      expect(report.people).toBe(8); // platform 5 + data 3: hidden teams are not replayed
      expect(report.tierMoves).toEqual([]);
      expect(report.budgetFlips).toEqual(
        (report.budgetFlips as { kind: string }[]).filter((f) => f.kind === 'team'),
      );
      for (const board of report.leaderboards as {
        entering: unknown[];
        largestMoves: unknown[];
      }[]) {
        expect(board.entering).toEqual([]);
        expect(board.largestMoves).toEqual([]);
      }
      expect(leaks(body, role)).toEqual([]);
    }
    // a published version that reprices a model: repriced costs are per-model figures,
    // withheld below governance (governance sees them)
    await publishPolicySource(api.store, {
      source: POLICY.replace('version "1"', 'version "reprice"').replace(
        'input 1.00 output 2.00',
        'input 3.00 output 2.00',
      ),
    });
    for (const role of ['viewer', 'member'] as const) {
      const body = await ask(role, IMPACT, { from: { version: 'v1' }, to: { version: 'v3' } });
      const report = (field(body, 'policyImpact') as { data: Record<string, unknown> }).data;
      expect(report.cost).toBeNull();
    }
    const repriced = await ask('governance', IMPACT, {
      from: { version: 'v1' },
      to: { version: 'v3' },
    });
    expect(
      (field(repriced, 'policyImpact') as { data: { cost: unknown } }).data.cost,
    ).not.toBeNull();
    // governance sees the named replay (audited)
    const gov = await ask('governance', IMPACT, { from: { version: 'v1' }, to: { source: probe } });
    const named = (field(gov, 'policyImpact') as { data: { identities: string; people: number } })
      .data;
    expect(named).toMatchObject({ identities: 'named', people: 13 });
  });
});

const USAGE = `query($filter: UsageFilter, $groupBy: [UsageDimension!]) {
  usage(filter: $filter, groupBy: $groupBy, first: 100) {
    __typename
    ... on Problem { code message }
    ... on UsageConnection { suppressedGroups edges { node { person team people tokens cost { amount } } } }
  }
}`;

type UsageRows = { person: string | null; team: string | null; people: number; tokens: number }[];
const rowsOf = (body: Body): UsageRows =>
  ((field(body, 'usage') as { edges?: { node: UsageRows[number] }[] }).edges ?? []).map(
    (e) => e.node,
  );

describe('attack 2: differencing two person filters', () => {
  const S = ['p1@acme.test', 'p3@acme.test', 'p4@acme.test', 'p5@acme.test', 'p6@acme.test'];
  const x = 'p9@acme.test';

  it('refuses person filters and person groupings below governance', async () => {
    for (const role of ['viewer', 'ingest'] as const) {
      for (const variables of [
        { filter: { people: [...S, x] } },
        { filter: { people: S } },
        { groupBy: ['person'] },
      ]) {
        const body = await ask(role, USAGE, variables);
        if (role === 'ingest') expect(forbidden(body)).toBe(true);
        else expect(body.data?.usage).toMatchObject({ __typename: 'Forbidden' });
        expect(leaks(body, role)).toEqual([]);
      }
    }
  });

  it('gives a member their own usage whatever the filter, so differences are zero', async () => {
    const withX = rowsOf(await ask('member', USAGE, { filter: { people: [...S, x] } }));
    const without = rowsOf(await ask('member', USAGE, { filter: { people: S } }));
    expect(withX).toEqual(without);
    expect(withX.map((r) => r.tokens)).toEqual([200_000]); // p2's own
  });
});

describe('attack 2 by other filters: differencing model, class, project or environment cells', () => {
  // team platform's usage of model m1 minus platform's usage overall, or the complement of a
  // project or environment filter, would be the few people inside the difference
  const cells = [
    { filter: { teams: ['platform'], models: ['m1'] } },
    { filter: { teams: ['platform'], models: ['m1', 'other'] } },
    { filter: { classes: ['standard'] } },
    { filter: { projects: ['alpha'] } },
    { filter: { environments: ['production'] } },
    { groupBy: ['model'] },
    { groupBy: ['team', 'class'] },
    { groupBy: ['project'] },
    { groupBy: ['environment'] },
  ];

  it('refuses every non-team filter and grouping below governance', async () => {
    for (const role of ['viewer', 'ingest'] as const) {
      for (const variables of cells) {
        const body = await ask(role, USAGE, variables);
        if (role === 'ingest') expect(forbidden(body)).toBe(true);
        else
          expect(body.data?.usage).toMatchObject({
            __typename: 'Forbidden',
            message: expect.stringMatching(
              /^filtering or grouping usage by \w+ needs a governance key/,
            ),
          });
        expect(leaks(body, role)).toEqual([]);
      }
    }
    // the same team, unfiltered, still answers
    expect(rowsOf(await ask('viewer', USAGE, { filter: { teams: ['platform'] } }))).toHaveLength(1);
  });

  it('gives a member only their own usage under such filters, and governance everything', async () => {
    const byModel = rowsOf(await ask('member', USAGE, cells[0]));
    const overall = rowsOf(await ask('member', USAGE, { filter: { teams: ['platform'] } }));
    expect(byModel).toEqual(overall);
    expect(byModel.map((r) => r.tokens)).toEqual([200_000]); // p2's own
    const gov = rowsOf(await ask('governance', USAGE, cells[0]));
    expect(gov.map((r) => r.tokens)).toEqual([
      PEOPLE.filter((p) => p.team === 'platform').reduce((s, p) => s + p.tokens, 0),
    ]);
  });
});

const BUDGETS = `{ budgets(first: 100) { __typename ... on BudgetConnection {
  suppressed edges { node { key subjectKind subjectId spent { amount } percent } } } } }`;
const PEOPLE_OF = `query($team: String) { people(team: $team, first: 100) { edges { node {
  id masked name role optedIn band quotaPercent manager { id } team { id owner band } } } } }`;
const ESCALATIONS = `{ escalations(first: 200) { __typename ... on QueryEscalationsConnection {
  edges { node { subjectKind subject facts } } } } }`;

describe('attack 3: complements, budgets, people and escalations', () => {
  it('leaves hidden people out of every total, so a complement reveals nothing', async () => {
    const visible = PEOPLE.filter((p) => VISIBLE_TEAMS.includes(p.team));
    const visibleTotal = visible.reduce((s, p) => s + p.tokens, 0);
    const org = rowsOf(await ask('viewer', USAGE, {}));
    expect(org.map((r) => r.tokens)).toEqual([visibleTotal]);
    const byTeam = rowsOf(await ask('viewer', USAGE, { groupBy: ['team'] }));
    expect(byTeam.map((r) => r.team)).toEqual(['data', 'platform']);
    expect(byTeam.reduce((s, r) => s + r.tokens, 0)).toBe(visibleTotal);
    const others = rowsOf(await ask('viewer', USAGE, { filter: { teams: ['platform'] } }));
    const complement = visibleTotal - (others[0]?.tokens ?? 0);
    expect(complement).toBe(
      visible.filter((p) => p.team === 'data').reduce((s, p) => s + p.tokens, 0),
    );
    for (const teams of [['security'], ['tiny'], ['security', 'tiny']]) {
      const body = await ask('viewer', USAGE, { filter: { teams } });
      expect(rowsOf(body)).toEqual([]);
    }
    // a member's totals are their own, whatever the team filter; ingest reads no usage
    for (const teams of [null, ['security'], ['platform', 'security']]) {
      const own = rowsOf(await ask('member', USAGE, { filter: { teams } }));
      expect(own.map((r) => r.tokens)).toEqual([200_000]);
      const body = await ask('ingest', USAGE, { filter: { teams } });
      expect(forbidden(body)).toBe(true);
      expect(leaks(body, 'ingest')).toEqual([]);
    }
  });

  it('shows no restricted or small team, nor the org total, in budgets', async () => {
    for (const role of LOWER) {
      const body = await ask(role, BUDGETS);
      if (role === 'ingest') {
        expect(forbidden(body)).toBe(true);
        continue;
      }
      const rows = (
        field(body, 'budgets') as {
          edges: { node: { subjectKind: string; subjectId: string | null } }[];
        }
      ).edges.map((e) => e.node);
      expect(rows.filter((r) => r.subjectKind === 'org')).toEqual([]);
      expect(
        rows
          .filter((r) => r.subjectKind === 'team')
          .map((r) => r.subjectId)
          .sort(),
      ).toEqual(VISIBLE_TEAMS.slice().sort());
      expect(leaks(body, role)).toEqual([]);
    }
    const gov = await ask('governance', BUDGETS);
    const govRows = (field(gov, 'budgets') as { edges: { node: { subjectKind: string } }[] }).edges;
    expect(govRows.some((e) => e.node.subjectKind === 'org')).toBe(true);
  });

  it('lists no restricted people, and no one else’s figures', async () => {
    expect(forbidden(await ask('ingest', PEOPLE_OF, { team: null }))).toBe(true);
    expect(forbidden(await ask('ingest', '{ teams(first: 10) { edges { node { id } } } }'))).toBe(
      true,
    );
    for (const role of ['viewer', 'member'] as const) {
      for (const team of ['security', 'tiny', null]) {
        const body = await ask(role, PEOPLE_OF, { team });
        const nodes = (
          field(body, 'people') as { edges: { node: Record<string, unknown> }[] }
        ).edges.map((e) => e.node);
        if (team === 'security') expect(nodes).toEqual([]);
        for (const n of nodes) {
          if (n.masked) {
            expect(n).toMatchObject({
              name: null,
              optedIn: null,
              band: null,
              quotaPercent: null,
              manager: null,
            });
          }
          const t = n.team as { owner: unknown } | null;
          if (t) expect(t.owner).toBeNull();
        }
        expect(leaks(body, role, { directory: true })).toEqual([]);
      }
      const team = await ask(role, '{ team(id: "security") { __typename } }');
      expect(team.data?.team).toMatchObject({ __typename: 'NotFound' });
      // the team list leaves the restricted team out; a visible team lists masked members
      const teams = await ask(
        role,
        '{ teams(first: 10) { edges { node { id owner members(first: 10) { edges { node { id masked } } } } } } }',
      );
      expect(teams.errors).toBeUndefined();
      const listed = (
        field(teams, 'teams') as {
          edges: { node: { id: string; owner: unknown; members: { edges: unknown[] } } }[];
        }
      ).edges.map((e) => e.node);
      expect(listed.map((t) => t.id)).not.toContain('security');
      expect(listed.every((t) => t.owner === null)).toBe(true);
      expect(leaks(teams, role, { directory: true })).toEqual([]);
    }
  });

  it('shows escalations only of oneself, of visible teams, or of the org when nobody is hidden', async () => {
    const gov = await ask('governance', ESCALATIONS);
    const all = (
      field(gov, 'escalations') as { edges: { node: { subjectKind: string; subject: string } }[] }
    ).edges;
    // the fixture raised escalations for hidden people and teams too
    expect(all.some((e) => HIDDEN_PEOPLE.some((p) => p.id === e.node.subject))).toBe(true);
    expect(all.some((e) => e.node.subject === 'security')).toBe(true);
    for (const role of ['viewer', 'member'] as const) {
      const body = await ask(role, ESCALATIONS);
      const rows = (
        field(body, 'escalations') as {
          edges: { node: { subjectKind: string; subject: string } }[];
        }
      ).edges.map((e) => e.node);
      for (const r of rows) {
        if (r.subjectKind === 'person') expect(role === 'member' && r.subject === ME).toBe(true);
        if (r.subjectKind === 'team') expect(VISIBLE_TEAMS).toContain(r.subject);
        expect(r.subjectKind).not.toBe('org');
      }
      expect(leaks(body, role)).toEqual([]);
    }
  });
});

const BOARD = `query($name: String!) { leaderboard(name: $name, first: 100) { __typename
  ... on LeaderboardConnection { edges { node { subjectKind subjectId masked score
    explanation { facts { name value } } person { id } team { id owner } } } } } }`;

type Entry = {
  subjectId: string;
  masked: boolean;
  person: unknown;
  team: { owner: unknown } | null;
};
const entriesOf = (body: Body): Entry[] =>
  ((field(body, 'leaderboard') as { edges?: { node: Entry }[] }).edges ?? []).map((e) => e.node);

describe('attack 3 over SSE: the escalationRaised stream', () => {
  it('streams a lower role only what the list shows it', async () => {
    const rows = await listEscalations(
      api.store,
      { status: null, subjectId: null, subjectKind: null, ladder: null, rule: null, people: null },
      { beforeId: null, limit: 500 },
    );
    const hiddenPerson = rows.find((r) => r.subjectId === HIDDEN_PEOPLE[0].id);
    const restrictedTeam = rows.find((r) => r.subjectKind === 'team' && r.subjectId === 'security');
    const otherPerson = rows.find((r) => r.subjectId === 'p1@acme.test');
    const visibleTeam = rows.find((r) => r.subjectKind === 'team' && r.subjectId === 'platform');
    expect([hiddenPerson, restrictedTeam, otherPerson, visibleTeam].every(Boolean)).toBe(true);
    const viewer = { keyId: 'k', name: 'viewer', role: 'viewer' as const, person: null };
    const stream = await escalationsFor(api.store).subscribe(viewer, null);
    const iterator = stream[Symbol.asyncIterator]();
    const next = iterator.next();
    const events = escalationEventsFor(api.store);
    // the hidden and personal ones first: the first event through must be the visible team's
    for (const row of [hiddenPerson, restrictedTeam, otherPerson, visibleTeam])
      events.publish(row!);
    const first = await next;
    expect(first.value).toMatchObject({ subjectKind: 'team', subjectId: 'platform' });
    await iterator.return?.();
    // a member's stream: their own escalations only, not even their team's
    const own = rows.find((r) => r.subjectKind === 'person' && r.subjectId === ME);
    expect(own).toBeTruthy();
    const p2 = { keyId: 'k2', name: 'p2', role: 'member' as const, person: ME };
    const mine = (await escalationsFor(api.store).subscribe(p2, null))[Symbol.asyncIterator]();
    const firstMine = mine.next();
    for (const row of [hiddenPerson, restrictedTeam, otherPerson, visibleTeam, own])
      events.publish(row!);
    expect((await firstMine).value).toMatchObject({ subjectKind: 'person', subjectId: ME });
    await mine.return?.();
  });
});

describe('attack 4: small teams on team boards', () => {
  it('ranks only teams with at least min_group_size members below governance', async () => {
    for (const role of ['viewer', 'member'] as const) {
      const body = await ask(role, BOARD, { name: 'teams' });
      expect(
        entriesOf(body)
          .map((e) => e.subjectId)
          .sort(),
      ).toEqual(VISIBLE_TEAMS.slice().sort());
      for (const e of entriesOf(body)) expect(e.team?.owner).toBeNull();
      expect(leaks(body, role)).toEqual([]);
    }
    const ingest = await ask('ingest', BOARD, { name: 'teams' });
    expect(forbidden(ingest)).toBe(true);
    expect(leaks(ingest, 'ingest')).toEqual([]);
    const gov = entriesOf(await ask('governance', BOARD, { name: 'teams' }));
    expect(gov.map((e) => e.subjectId).sort()).toEqual(['data', 'platform', 'security', 'tiny']);
  });
});

describe('attack 5: joining pseudonyms to quasi-identifiers', () => {
  it('gives board entries pseudonyms that match no directory entry and carry no person', async () => {
    const directory = await ask('viewer', PEOPLE_OF, { team: null });
    const directoryIds = new Set(
      (field(directory, 'people') as { edges: { node: { id: string } }[] }).edges.map(
        (e) => e.node.id,
      ),
    );
    for (const role of ['viewer', 'member'] as const) {
      const body = await ask(role, BOARD, { name: 'people' });
      const entries = entriesOf(body);
      expect(entries.length).toBeGreaterThanOrEqual(3);
      for (const e of entries.filter((x) => x.masked)) {
        expect(directoryIds.has(e.subjectId)).toBe(false);
        expect(e.person).toBeNull();
      }
      expect(leaks(body, role)).toEqual([]);
    }
    for (const query of [BOARD, PEOPLE_OF]) {
      const ingest = await ask('ingest', query, { name: 'people', team: null });
      expect(forbidden(ingest)).toBe(true);
      expect(leaks(ingest, 'ingest')).toEqual([]);
    }
    // the member sees themselves named on the board
    const own = entriesOf(await ask('member', BOARD, { name: 'people' })).filter((e) => !e.masked);
    expect(own.map((e) => e.subjectId)).toEqual([ME]);
  });
});

describe('attack 6: the embedded database socket', () => {
  it.skipIf(!!process.env.DATABASE_URL)(
    'listens on a Unix socket only this user can open, on no TCP port',
    () => {
      const url = new URL(api.store.url);
      expect(url.hostname).toBe('localhost');
      const dir = url.searchParams.get('host') ?? '';
      expect(dir).toMatch(/^\//);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, '.s.PGSQL.5432')).isSocket()).toBe(true);
      expect(statSync(join(dir, '.s.PGSQL.5432')).mode & 0o077).toBe(0);
    },
  );
});

const UPSERT = `mutation($teams: [TeamInput!], $people: [PersonInput!]) {
  upsertDirectory(teams: $teams, people: $people) { __typename
    ... on IngestSummary { accepted rejected results { index status reason } } } }`;
const PERSON = `query($id: String!) { person(id: $id) {
  ... on QueryPersonSuccess { data { id optedIn name team { id sensitivity } } } } }`;

describe('attack 7: directory writes', () => {
  const personNow = async (id: string) =>
    (field(await ask('governance', PERSON, { id }), 'person') as { data: unknown }).data as {
      optedIn: boolean;
      name: string;
      team: { id: string; sensitivity: string };
    };

  it('refuses moving people across privacy rules below governance, and patches the rest', async () => {
    const body = await ask('ingest', UPSERT, {
      teams: [{ team: 'security', sensitivity: 'normal' }],
      people: [
        { person: 'p12@acme.test', team: 'platform' },
        { person: 'p1@acme.test', optedIn: false },
        { person: 'p3@acme.test', name: 'Renamed' },
        // naming a manager lets them read the person named (myReports)
        { person: 'p4@acme.test', manager: 'p12@acme.test' },
      ],
    });
    const summary = body.data?.upsertDirectory as {
      accepted: number;
      rejected: number;
      results: { index: number; status: string; reason: string | null }[];
    };
    expect(summary.rejected).toBe(4);
    expect(summary.results.map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'accepted',
      'rejected',
    ]);
    expect(summary.results[4].reason).toMatch(/^manager: .*governance/);
    expect(summary.results[0].reason).toMatch(/^sensitivity: .*governance/);
    expect(summary.results[1].reason).toMatch(/^team: .*governance/);
    expect(summary.results[2].reason).toMatch(/^opted_in: .*governance/);
    expect((await personNow('p12@acme.test')).team).toEqual({
      id: 'security',
      sensitivity: 'restricted',
    });
    // an omitted field keeps its value: the partial row renamed p3 and left the rest alone
    expect(await personNow('p3@acme.test')).toMatchObject({
      name: 'Renamed',
      optedIn: true,
      team: { id: 'platform' },
    });
    for (const role of ['viewer', 'member'] as const) {
      const denied = await ask(role, UPSERT, {
        people: [{ person: 'p12@acme.test', team: 'platform' }],
      });
      expect(forbidden(denied)).toBe(true);
    }
  });

  it('lets governance make such changes, audited with its key, and shows the log to governance only', async () => {
    const body = await ask('governance', UPSERT, {
      people: [{ person: 'p13@acme.test', team: 'data' }],
    });
    expect(body.data?.upsertDirectory).toMatchObject({ accepted: 1, rejected: 0 });
    const LOG = `{ auditLog(action: "directory.*", first: 10) { __typename
      ... on QueryAuditLogConnection { edges { node { actor role action subject detail } } } } }`;
    const log = await ask('governance', LOG);
    const entries = (
      field(log, 'auditLog') as { edges: { node: Record<string, unknown> }[] }
    ).edges.map((e) => e.node);
    expect(entries).toEqual([
      {
        actor: api.keys.governance.id,
        role: 'governance',
        action: 'directory.person.team',
        subject: 'p13@acme.test',
        detail: { from: 'security', to: 'data' },
      },
    ]);
    for (const role of LOWER) expect(forbidden(await ask(role, LOG))).toBe(true);
  });

  it('refuses an audit log range that ends before it starts, naming the field', async () => {
    const body = await ask(
      'governance',
      `{ auditLog(from: "2026-05-01T00:00:00Z", to: "2026-04-01T00:00:00Z") { __typename
        ... on InvalidRequest { problems { field message } } } }`,
    );
    expect(field(body, 'auditLog')).toEqual({
      __typename: 'InvalidRequest',
      problems: [
        {
          field: 'to',
          message:
            'the end (2026-04-01T00:00:00.000Z) must be after the start (2026-05-01T00:00:00.000Z)',
        },
      ],
    });
  });
});
