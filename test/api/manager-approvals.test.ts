// A manager's approval steps over real HTTP: a report's `require approval by manager` step is
// listed for the manager (escalations(awaitingMe: true)), named for them though they are a
// member, and theirs to decide; nobody else below governance lists or decides it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatedKey, createApiKey } from '../../src/api/auth.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { escalationEventsFor } from '../../src/app/escalation-events.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from './support.ts';

const POLICY = `
policy "manager-approvals" version "t1"
currency USD
timezone "UTC"
class standard "General"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
tier baseline "Everyone" { limit 1M tokens per month models standard }
assign baseline otherwise
escalation quota {
  at 100% require approval by manager
}
`;

const ANA = MEMBER_PERSON; // managed by bo, as di is
let api: TestApi;
let bo: CreatedKey;
let di: CreatedKey;
let stepId: string;

type Step = { id: string; subject: string; actionKind: string; status: string };
type Listing = { escalations: { edges: { node: Step }[] } };

async function gql<T>(key: string, query: string, variables?: Record<string, unknown>) {
  const res = await api.gql<T>(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as T;
}

async function awaiting(key: string): Promise<Step[]> {
  const data = await gql<Listing>(
    key,
    '{ escalations(awaitingMe: true, first: 20) { edges { node { id subject actionKind status } } } }',
  );
  return data.escalations.edges.map((e) => e.node);
}

async function decide(key: string, approve: boolean, note: string) {
  const data = await gql<{
    decideEscalation: { __typename: string; status?: string; subject?: string; message?: string };
  }>(
    key,
    `mutation($id: ID!, $approve: Boolean!, $note: String) {
       decideEscalation(id: $id, approve: $approve, note: $note) {
         __typename ... on Escalation { status subject } ... on Problem { message } } }`,
    { id: stepId, approve, note },
  );
  return data.decideEscalation;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => new Date('2026-10-20T12:00:00Z'));
  await seedDirectory(api);
  await gql(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
  bo = await createApiKey(api.store.em(), { role: 'member', name: 'bo', person: 'bo@acme.test' });
  di = await createApiKey(api.store.em(), { role: 'member', name: 'di', person: 'di@acme.test' });
  // ana uses her whole quota: the 100% step asks her manager, bo, to approve
  await gql(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: [
        {
          id: 'u-1',
          ts: '2026-10-02T10:00:00Z',
          person: ANA,
          model: 'claude-sonnet-4-5',
          inputTokens: 1_000_000,
          outputTokens: 0,
        },
      ],
    },
  );
  await reevaluationFor(api.store).drainDirty();
  const [row] = await api.store.query<{ id: string }>(
    `select id::text from escalations where subject_kind = 'person' and subject_id = $1
        and action ->> 'kind' = 'require_approval'`,
    [ANA],
  );
  stepId = row.id;
}, 60_000);

afterAll(async () => {
  if (api) await escalationEventsFor(api.store).close();
  await api?.stop();
});

describe('an approval step addressed to the subject’s manager', () => {
  it('is listed for the manager, named, and for governance; not for the subject or a peer', async () => {
    expect(await awaiting(bo.key)).toEqual([
      { id: stepId, subject: ANA, actionKind: 'require_approval', status: 'open' },
    ]);
    expect((await awaiting(api.keys.governance.key)).map((s) => s.id)).toEqual([stepId]);
    expect(await awaiting(api.keys.member.key)).toEqual([]); // ana herself
    expect(await awaiting(di.key)).toEqual([]); // a peer with the same manager
    // without awaitingMe a member still lists only their own
    const own = await gql<Listing>(bo.key, '{ escalations(first: 20) { edges { node { id } } } }');
    expect(own.escalations.edges).toEqual([]);
  });

  it('is refused to a peer and to the subject, and decided by the manager', async () => {
    expect(await decide(di.key, true, 'not mine to give')).toMatchObject({
      __typename: 'Forbidden',
    });
    expect(await decide(api.keys.member.key, true, 'approving myself')).toMatchObject({
      __typename: 'Forbidden',
    });
    const asked = await gql<{ acknowledgeEscalation: { __typename: string } }>(
      api.keys.member.key,
      `mutation($id: ID!) { acknowledgeEscalation(id: $id, justification: "the launch needs it") {
         __typename } }`,
      { id: stepId },
    );
    expect(asked.acknowledgeEscalation.__typename).toBe('Escalation');
    expect(await decide(bo.key, true, 'launch week')).toEqual({
      __typename: 'Escalation',
      status: 'approved',
      subject: ANA,
    });
    expect(await awaiting(bo.key)).toEqual([]);
    const [audit] = await api.store.query<{ actor: string; detail: { note: string } }>(
      `select actor, detail from audit_log where action = 'escalation.approve'`,
    );
    expect(audit.detail.note).toBe('launch week');
    // the hold lifted: ana's next request is allowed again
    const check = await gql<{ checkQuota: { decision: string } }>(
      api.keys.ingest.key,
      `{ checkQuota(person: "${ANA}", model: "claude-sonnet-4-5", estimatedTokens: 0) {
           ... on QuotaCheck { decision } } }`,
    );
    expect(check.checkQuota.decision).not.toBe('require_approval');
  });

  it('keeps the subject’s justification and the decider’s reason apart, and lists it as decided by its decider', async () => {
    type Decided = {
      id: string;
      subject: string;
      justification: string | null;
      decidedBy: string | null;
      decidedAt: string | null;
      decisionNote: string | null;
    };
    const decided = async (key: string) =>
      (
        await gql<{ escalations: { edges: { node: Decided }[] } }>(
          key,
          `{ escalations(decidedByMe: true, first: 20) { edges { node {
             id subject justification decidedBy decidedAt decisionNote } } } }`,
        )
      ).escalations.edges.map((e) => e.node);
    expect(await decided(bo.key)).toEqual([
      {
        id: stepId,
        subject: ANA,
        justification: 'the launch needs it',
        decidedBy: 'bo@acme.test',
        decidedAt: '2026-10-20T12:00:00.000Z',
        decisionNote: 'launch week',
      },
    ]);
    expect(await decided(di.key)).toEqual([]);
    expect(await decided(api.keys.governance.key)).toEqual([]);
    // governance lists every decided step, with who decided it
    const all = await gql<{ escalations: { edges: { node: Decided }[] } }>(
      api.keys.governance.key,
      `{ escalations(status: [approved, denied], first: 20) { edges { node {
         id subject justification decidedBy decidedAt decisionNote } } } }`,
    );
    expect(all.escalations.edges.map((e) => e.node.decidedBy)).toEqual(['bo@acme.test']);
    // the subject reads her own step with who decided it and why
    const own = await gql<{ escalations: { edges: { node: Decided }[] } }>(
      api.keys.member.key,
      `{ escalations(status: [approved], first: 20) { edges { node {
         id subject justification decidedBy decidedAt decisionNote } } } }`,
    );
    expect(own.escalations.edges.map((e) => e.node)).toEqual(await decided(bo.key));
  });
});
