// A small organisation with a team tree, cost centres (one inherited), managers and priced
// usage in November 2026 whose costs are worked out by hand below; shared by the chargeback,
// metric-series and manager-view tests.
import { expect } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import type { TestApi } from './support.ts';

export const POLICY = `
policy "chargeback-test" version "t1"
currency USD
timezone "UTC"
privacy { min_group_size 2  identities masked }
class standard "General"
class premium "Frontier"
model "m1" class standard price { input 1.00 output 2.00 }
model "m2" class premium price { input 3.00 output 15.00 }
metric acceptance = accepted / max(accepted + rejected, 1)
metric tokens_per_task = tokens / max(tasks, 1)
metric cost_per_accepted = cost / max(accepted, 1)
tier baseline "Everyone" { limit 4M tokens per month models any }
assign baseline otherwise
escalation quota {
  at 50% notify person "half used"
  at 100% block
}
`;

/** The clock: early December, so November is a finished month. */
export const CLOCK = new Date('2026-12-05T12:00:00Z');

export const TEAMS = [
  { team: 'engineering', name: 'Engineering', costCenter: 'CC-ENG' },
  { team: 'platform', name: 'Platform', parent: 'engineering', costCenter: 'CC-100' },
  // no cost centre of its own: charged to engineering's
  { team: 'routing', name: 'Routing', parent: 'engineering' },
  { team: 'legal', name: 'Legal', sensitivity: 'restricted', costCenter: 'CC-LEG' },
];

export const PEOPLE = [
  { person: 'bo@acme.test', name: 'Bo Chen', team: 'engineering', role: 'manager' },
  {
    person: 'ana@acme.test',
    name: 'Ana Ruiz',
    team: 'platform',
    role: 'engineer',
    manager: 'bo@acme.test',
  },
  {
    person: 'di@acme.test',
    name: 'Di Novak',
    team: 'platform',
    role: 'engineer',
    manager: 'bo@acme.test',
  },
  {
    person: 'ed@acme.test',
    name: 'Ed Park',
    team: 'routing',
    role: 'engineer',
    manager: 'bo@acme.test',
  },
  { person: 'fay@acme.test', name: 'Fay Lund', team: 'routing', role: 'engineer' },
  { person: 'cy@acme.test', name: 'Cy Okafor', team: 'legal', role: 'counsel' },
];

/**
 * November usage. m1: 1 USD per 1M input, 2 per 1M output; m2: 3 and 15.
 * ana m1 2.00 + m2 0.45; di m1 0.40; bo m2 3.00; ed m1 0.90; fay m2 0.33; cy m1 0.10.
 * One row on 31 October (1.00) is outside the month.
 */
export const USAGE = [
  {
    id: 'u1',
    ts: '2026-11-02T10:00:00Z',
    person: 'ana@acme.test',
    model: 'm1',
    inputTokens: 1_000_000,
    outputTokens: 500_000,
  },
  {
    id: 'u2',
    ts: '2026-11-09T10:00:00Z',
    person: 'ana@acme.test',
    model: 'm2',
    inputTokens: 100_000,
    outputTokens: 10_000,
  },
  {
    id: 'u3',
    ts: '2026-11-03T10:00:00Z',
    person: 'di@acme.test',
    model: 'm1',
    inputTokens: 200_000,
    outputTokens: 100_000,
  },
  {
    id: 'u4',
    ts: '2026-11-16T10:00:00Z',
    person: 'bo@acme.test',
    model: 'm2',
    inputTokens: 1_000_000,
    outputTokens: 0,
  },
  {
    id: 'u5',
    ts: '2026-11-04T10:00:00Z',
    person: 'ed@acme.test',
    model: 'm1',
    inputTokens: 300_000,
    outputTokens: 300_000,
  },
  {
    id: 'u6',
    ts: '2026-11-20T10:00:00Z',
    person: 'fay@acme.test',
    model: 'm2',
    inputTokens: 10_000,
    outputTokens: 20_000,
  },
  {
    id: 'u7',
    ts: '2026-11-05T10:00:00Z',
    person: 'cy@acme.test',
    model: 'm1',
    inputTokens: 100_000,
    outputTokens: 0,
  },
  {
    id: 'u0',
    ts: '2026-10-31T23:00:00Z',
    person: 'ana@acme.test',
    model: 'm1',
    inputTokens: 1_000_000,
    outputTokens: 0,
  },
];

/** Outcomes: ana 3 accepted 1 rejected (week of 2 Nov), di 1 accepted, ed 2 rejected. */
export const OUTCOMES = [
  ...[1, 2, 3].map((i) => ({
    id: `oa${i}`,
    ts: '2026-11-03T12:00:00Z',
    person: 'ana@acme.test',
    task: `a${i}`,
    outcome: 'accepted',
  })),
  {
    id: 'oa4',
    ts: '2026-11-10T12:00:00Z',
    person: 'ana@acme.test',
    task: 'a4',
    outcome: 'rejected',
  },
  {
    id: 'od1',
    ts: '2026-11-03T12:00:00Z',
    person: 'di@acme.test',
    task: 'd1',
    outcome: 'accepted',
  },
  ...[1, 2].map((i) => ({
    id: `oe${i}`,
    ts: '2026-11-04T12:00:00Z',
    person: 'ed@acme.test',
    task: `e${i}`,
    outcome: 'rejected',
  })),
];

export async function loadChargebackFixture(api: TestApi): Promise<void> {
  activePolicyFor(api.store).setClock(() => CLOCK);
  const directory = await api.gql(
    api.keys.admin.key,
    `mutation($teams: [TeamInput!], $people: [PersonInput!]) {
      upsertDirectory(teams: $teams, people: $people) { ... on IngestSummary { accepted rejected } } }`,
    { teams: TEAMS, people: PEOPLE },
  );
  expect(directory.body.data).toEqual({ upsertDirectory: { accepted: 10, rejected: 0 } });
  const published = await api.gql(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename ... on Problem { message } } }',
    { s: POLICY },
  );
  expect(published.body.data).toEqual({ publishPolicy: { __typename: 'PolicyVersion' } });
  const usage = await api.gql(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted rejected } } }',
    { rows: USAGE },
  );
  expect(usage.body.data).toEqual({ recordUsage: { accepted: USAGE.length, rejected: 0 } });
  const outcomes = await api.gql(
    api.keys.ingest.key,
    'mutation($rows: [OutcomeInput!]!) { recordOutcomes(rows: $rows) { ... on IngestSummary { accepted rejected } } }',
    { rows: OUTCOMES },
  );
  expect(outcomes.body.data).toEqual({
    recordOutcomes: { accepted: OUTCOMES.length, rejected: 0 },
  });
}
