// The complete decision end to end, over both transports (GraphQL checkQuota and
// POST /v1/quota/check) on a real server: a team budget past its `block` step blocks, a
// compliance rule's `require approval by security` holds until governance approves, and
// every band shown for a person agrees. The clock is injected; nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { createReevaluation, reevaluationFor } from '../../src/app/reevaluation.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from '../api/support.ts';

const POLICY = `
policy "decision-test" version "t1"
currency USD
timezone "UTC"
exceptions { max_duration 30d }
class standard "General"
model "m1" class standard price { input 1.00 output 1.00 }
tier everyone "Everyone" { limit 1000M tokens per month models any }
assign everyone otherwise
budget each team { 10 USD per month }
escalation quota {
  at 90%  notify person
  at 100% require approval by manager
}
escalation budget {
  at 80%  notify team_owner
  at 110% block
}
rule sensitive "Sensitive data" severity high {
  when sensitive_flags within 7d >= 3
  then require approval by security
}
`;

let api: TestApi;
let clock = new Date('2026-10-20T12:00:00Z');
let seq = 0;

async function gql<T>(key: string, query: string, variables?: Record<string, unknown>) {
  const res = await api.gql<T>(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as T;
}

async function use(person: string, tokens: number) {
  seq++;
  await gql(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: [
        { id: `d-${seq}`, ts: '2026-10-05T10:00:00Z', person, model: 'm1', inputTokens: tokens },
      ],
    },
  );
}

type Answer = {
  decision: string;
  band: string;
  reason: string;
  binding: {
    kind: string;
    name: string;
    decision: string;
    percent: number | null;
    escalationId: string | null;
  } | null;
  next: { action: string; approver: string | null; escalationId: string | null };
};

const FIELDS =
  'decision band reason binding { kind name decision percent escalationId } next { action approver escalationId }';

/** The same question over GraphQL and plain HTTP: both answers, which must agree. */
async function ask(person: string, key = api.keys.ingest.key): Promise<Answer> {
  const data = await gql<{ checkQuota: Answer }>(
    key,
    `query($p: String!) { checkQuota(person: $p, model: "m1", estimatedTokens: 1000) { ... on QuotaCheck { ${FIELDS} } } }`,
    { p: person },
  );
  const res = await fetch(`${api.url}/v1/quota/check`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ person, model: 'm1', estimatedTokens: 1000 }),
  });
  expect(res.status).toBe(200);
  const plain = (await res.json()) as Answer & Record<string, unknown>;
  const fromHttp = {
    decision: plain.decision,
    band: plain.band,
    reason: plain.reason,
    binding: plain.binding && {
      kind: plain.binding.kind,
      name: plain.binding.name,
      decision: plain.binding.decision,
      percent: plain.binding.percent,
      escalationId: plain.binding.escalationId,
    },
    next: {
      action: plain.next.action,
      approver: plain.next.approver,
      escalationId: plain.next.escalationId,
    },
  };
  expect(fromHttp).toEqual(data.checkQuota);
  return data.checkQuota;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  await seedDirectory(api);
  const published = await gql<{ publishPolicy: { __typename: string } }>(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
  expect(published.publishPolicy.__typename).toBe('PolicyVersion');
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('a team budget past its block step', () => {
  it('blocks every member, names the budget, and lifts when a money exception is approved', async () => {
    expect((await ask(MEMBER_PERSON)).decision).toBe('allow');
    // 16M tokens at 1 USD per 1M: the platform team spends 16 USD of 10, 160%
    await use('di@acme.test', 16_000_000);
    await reevaluationFor(api.store).drainDirty();
    for (const person of [MEMBER_PERSON, 'di@acme.test', 'bo@acme.test']) {
      const answer = await ask(person);
      expect(answer.decision).toBe('block');
      expect(answer.binding).toMatchObject({ kind: 'budget', name: 'each team' });
      // a team's spend is a group figure: the gateway (and the person it serves) learn
      // which step holds, not how far along the team is
      expect(answer.reason).not.toMatch(/\d%:/);
      expect(answer.binding?.percent).toBeNull();
      expect(answer.next.action).toBe('request_exception');
    }
    expect((await ask(MEMBER_PERSON, api.keys.governance.key)).binding?.percent).toBe(160);
    // cy is in another team: not held
    expect((await ask('cy@acme.test')).decision).toBe('allow');

    const requested = await gql<{ requestException: { id: string } }>(
      api.keys.governance.key,
      `mutation { requestException(subject: "platform", subjectKind: "team", extraMoney: 10,
         justification: "launch week needs the extra spend", expiresAt: "2026-10-30T00:00:00Z") {
         ... on QuotaException { id } } }`,
    );
    await gql(
      api.keys.governance.key,
      'mutation($id: ID!) { decideException(id: $id, approve: true) { ... on QuotaException { status } } }',
      { id: requested.requestException.id },
    );
    // 16 of 20 USD: 80%, below the block step
    expect((await ask(MEMBER_PERSON)).decision).toBe('allow');
  });
});

describe('a compliance rule that requires approval by security', () => {
  it('holds the person until governance approves the escalation', async () => {
    clock = new Date('2026-10-21T12:00:00Z');
    const flags = [1, 2, 3].map((i) => ({
      id: `c-${i}`,
      ts: '2026-10-21T09:00:00Z',
      person: 'cy@acme.test',
      flag: 'sensitive_data',
      severity: 'high',
    }));
    await gql(
      api.keys.ingest.key,
      'mutation($rows: [ComplianceInput!]!) { recordCompliance(rows: $rows) { ... on IngestSummary { accepted } } }',
      { rows: flags },
    );
    await reevaluationFor(api.store).reevaluatePeople(['cy@acme.test']);
    const held = await ask('cy@acme.test');
    expect(held.decision).toBe('require_approval');
    expect(held.binding).toMatchObject({ kind: 'rule', name: 'sensitive' });
    expect(held.next).toMatchObject({ action: 'request_approval', approver: 'security' });
    expect(held.next.escalationId).toBeTruthy();

    // the person may not approve their own hold, nor may a viewer
    const refused = await api.gql(
      api.keys.viewer.key,
      'mutation($id: ID!) { decideEscalation(id: $id, approve: true) { __typename } }',
      { id: held.next.escalationId },
    );
    expect(JSON.stringify(refused.body)).not.toContain('"Escalation"');

    const decided = await gql<{ decideEscalation: { __typename: string; status?: string } }>(
      api.keys.governance.key,
      'mutation($id: ID!) { decideEscalation(id: $id, approve: true, note: "reviewed") { __typename ... on Escalation { status } } }',
      { id: held.next.escalationId },
    );
    expect(decided.decideEscalation).toEqual({ __typename: 'Escalation', status: 'approved' });
    const after = await ask('cy@acme.test');
    expect(after.decision).toBe('allow_with_notice');
    expect(after.reason).toContain('already approved');
  });
});

describe('bands', () => {
  it('quota(person), Person.band and checkQuota give one band, with an approved token exception', async () => {
    clock = new Date('2026-10-22T12:00:00Z');
    // ana at 990M of 1000M tokens: 99%, yellow (red from the 100% approval step)
    await use(MEMBER_PERSON, 990_000_000);
    const bands = async () => {
      const data = await gql<{
        quota: { band: string };
        person: { data: { band: string } };
      }>(
        api.keys.governance.key,
        `query($p: String!) { quota(person: $p) { ... on Quota { band } }
           person(id: $p) { ... on QueryPersonSuccess { data { band } } } }`,
        { p: MEMBER_PERSON },
      );
      return {
        quota: data.quota.band,
        person: data.person.data.band,
        check: (await ask(MEMBER_PERSON)).band,
      };
    };
    const before = await bands();
    expect(before).toEqual({ quota: 'yellow', person: 'yellow', check: 'yellow' });
    const requested = await gql<{ requestException: { id: string } }>(
      api.keys.member.key,
      `mutation { requestException(extraTokens: 1000000000,
         justification: "quarter-end migration work", expiresAt: "2026-10-30T00:00:00Z") {
         ... on QuotaException { id } } }`,
    );
    await gql(
      api.keys.governance.key,
      'mutation($id: ID!) { decideException(id: $id, approve: true) { ... on QuotaException { status } } }',
      { id: requested.requestException.id },
    );
    const after = await bands();
    expect(after).toEqual({ quota: 'green', person: 'green', check: 'green' });
  });
});

describe('a newly activated policy', () => {
  it('is swept once, and its holds decide from then on', async () => {
    const service = createReevaluation(api.store);
    expect(await service.sweepIfPolicyChanged()).not.toBeNull();
    expect(await service.sweepIfPolicyChanged()).toBeNull();
    // platform: 16 USD spent against 10 USD + a 10 USD exception (80%); a 5 USD budget
    // with a block at 100% makes that 107%
    const stricter = POLICY.replace('{ 10 USD per month }', '{ 5 USD per month }').replace(
      '  at 110% block',
      '  at 100% block',
    );
    await gql(
      api.keys.governance.key,
      'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
      { s: stricter },
    );
    expect((await ask('di@acme.test')).decision).not.toBe('block');
    const report = await service.sweepIfPolicyChanged();
    expect(report?.skipped).toBe(false);
    const answer = await ask('di@acme.test');
    expect(answer.decision).toBe('block');
    expect(answer.binding).toMatchObject({ kind: 'budget', name: 'each team' });
  });
});
