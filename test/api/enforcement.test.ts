// Enforcement end to end over real HTTP: the quota ladder for one person, exceptions with
// approval and expiry, forecasts, idempotent and singleton sweeps, webhook delivery with a
// failing then recovering receiver, the SSE subscription, and exact totals under concurrent
// writes. The clock is injected: nothing here sleeps or depends on timing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CreatedKey, createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { deliverDue } from '../../src/api/webhooks.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import {
  createEscalationEvents,
  escalationEventsFor,
  SUBSCRIBER_BUFFER,
} from '../../src/app/escalation-events.ts';
import { quotaFor } from '../../src/app/quota.ts';
import {
  createReevaluation,
  type Reevaluation,
  reevaluationFor,
  SWEEP_JOB,
} from '../../src/app/reevaluation.ts';
import type { CheckQuotaRequest } from '../../src/engine/quota-check.ts';
import { openStore } from '../../src/store/db.ts';
import type { EscalationRow } from '../../src/store/escalations.ts';
import { releaseLease, tryLease } from '../../src/store/jobs.ts';
import { addWebhook } from '../../src/store/webhooks.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from './support.ts';

const POLICY = `
policy "enforcement-test" version "t1"
currency USD
timezone "Europe/London"
exceptions { max_duration 30d }
class premium "Frontier"
class standard "General"
class economy "Routine"
model "claude-opus-4-1"   class premium  price { input 15.00 output 75.00 }
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
model "gpt-4o-mini"       class economy  price { input 0.15 output 0.60 }
tier baseline "Everyone" { limit 1M tokens per month models economy, standard }
assign baseline otherwise
budget each team { 1,000 USD per month }
escalation quota {
  at 70%  notify person "70% of your monthly tokens used: economy models suit routine work"
  at 90%  require justification
  at 100% require approval by manager
  at 120% block
}
escalation budget {
  at 80%        notify team_owner
  forecast 100% notify team_owner "projected to exceed this month's budget"
}
`;

const ANA = MEMBER_PERSON;
let api: TestApi;
let service: Reevaluation & {
  checkQuota(request: CheckQuotaRequest): ReturnType<ReturnType<typeof quotaFor>['decide']>;
};
let clock = new Date('2026-09-03T12:00:00Z');
let bo: CreatedKey;
let di: CreatedKey;
let seq = 0;

async function gql<T = Record<string, unknown>>(
  key: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const res = await api.gql<T>(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as T;
}

async function use(
  person: string,
  tokens: number,
  opts: { model?: string; output?: boolean; ts?: string } = {},
) {
  seq++;
  const row = {
    id: `e-${seq}`,
    ts: opts.ts ?? '2026-10-02T10:00:00Z',
    person,
    model: opts.model ?? 'claude-sonnet-4-5',
    inputTokens: opts.output ? 0 : tokens,
    outputTokens: opts.output ? tokens : 0,
  };
  const data = await gql<{ recordUsage: { accepted: number } }>(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    { rows: [row] },
  );
  expect(data.recordUsage.accepted).toBe(1);
}

type Check = {
  decision: string;
  reason: string;
  band: string;
  used: number;
  effectiveLimit: number;
  remainingAfter: number;
  cheaperClass: string | null;
  notice: string | null;
  approver: string | null;
};

async function check(
  person: string,
  estimatedTokens = 0,
  model = 'claude-sonnet-4-5',
  key = api.keys.ingest.key,
) {
  const data = await gql<{ checkQuota: Check }>(
    key,
    `query($p: String!, $m: String!, $n: Int!) { checkQuota(person: $p, model: $m, estimatedTokens: $n) {
       ... on QuotaCheck { decision reason band used effectiveLimit remainingAfter cheaperClass notice approver } } }`,
    { p: person, m: model, n: estimatedTokens },
  );
  return data.checkQuota;
}

async function escalationsOf(person: string) {
  const rows = await api.store.query<{
    key: string;
    threshold: string;
    status: string;
    id: string;
  }>(
    `select id::text, key, threshold::text, status from escalations
      where subject_kind = 'person' and subject_id = $1 order by escalations.threshold`,
    [person],
  );
  return rows;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  service = {
    ...reevaluationFor(api.store),
    checkQuota: (request) => quotaFor(api.store).decide(request),
  };
  await seedDirectory(api);
  const published = await api.gql(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
  expect(JSON.stringify(published.body)).toContain('PolicyVersion');
  bo = await createApiKey(api.store.em(), { role: 'member', name: 'bo', person: 'bo@acme.test' });
  di = await createApiKey(api.store.em(), { role: 'member', name: 'di', person: 'di@acme.test' });
}, 60_000);

afterAll(async () => {
  if (api) await escalationEventsFor(api.store).close();
  await api?.stop();
});

describe('forecasts', () => {
  it('a steep start of the month fires the forecast step before the budget is reached', async () => {
    // London is on BST: September starts at 2026-08-31T23:00Z; 61 of its 720 hours have passed
    clock = new Date('2026-09-03T12:00:00Z');
    // cy (team legal) spends 300 USD of a 1,000 USD budget in the first 2.5 days
    await use('cy@acme.test', 4_000_000, {
      model: 'claude-opus-4-1',
      output: true,
      ts: '2026-09-02T10:00:00Z',
    });
    const report = await service.sweep();
    expect(report.skipped).toBe(false);
    const rows = await api.store.query<{
      key: string;
      facts: { percent: number; forecast: { percent: number } };
    }>("select key, facts from escalations where subject_kind = 'team' and subject_id = 'legal'");
    expect(rows.map((r) => r.key)).toEqual([
      'budget:each team:forecast:100|team:legal|2026-08-31T23:00:00.000Z',
    ]);
    expect(rows[0].facts.percent).toBeCloseTo(30, 6);
    // projection: 300 ÷ (61 / 720) ≈ 3,541 USD, 354% of the budget
    expect(rows[0].facts.forecast.percent).toBeCloseTo((300 / (61 / 720) / 1000) * 100, 6);
  });
});

describe('the ladder for one person', () => {
  it('69% → nothing, 70% → notice, 90% → justification, 100% → approval', async () => {
    clock = new Date('2026-10-20T12:00:00Z');
    await use(ANA, 690_000);
    let q = await check(ANA);
    expect(q).toMatchObject({
      decision: 'allow',
      band: 'green',
      used: 690_000,
      remainingAfter: 310_000,
    });
    expect((await service.drainDirty()).created).toBe(0);
    expect(await escalationsOf(ANA)).toEqual([]);

    // a request that would cross 70% is already answered with the notice
    expect((await check(ANA, 10_000)).decision).toBe('allow_with_notice');
    await use(ANA, 10_000);
    q = await check(ANA);
    expect(q.decision).toBe('allow_with_notice');
    expect(q.notice).toContain('economy models');
    expect(q.band).toBe('yellow');
    expect(q.cheaperClass).toBe('economy');
    await service.drainDirty();
    expect((await escalationsOf(ANA)).map((e) => e.threshold)).toEqual(['70']);

    await use(ANA, 200_000);
    q = await check(ANA);
    expect(q.decision).toBe('require_justification');
    expect(q.band).toBe('red');
    await service.drainDirty();

    // the justification is given: the step stops asking this period
    const [, ninety] = await escalationsOf(ANA);
    const ack = await gql<{ acknowledgeEscalation: { status?: string; code?: string } }>(
      api.keys.member.key,
      `mutation($id: ID!, $j: String) { acknowledgeEscalation(id: $id, justification: $j) {
         ... on Escalation { status } ... on Problem { code } } }`,
      { id: ninety.id, j: 'migrating the support corpus this week' },
    );
    expect(ack.acknowledgeEscalation.status).toBe('justified');
    expect((await check(ANA)).decision).toBe('allow_with_notice');

    await use(ANA, 100_000);
    q = await check(ANA);
    expect(q).toMatchObject({ decision: 'require_approval', approver: 'manager', used: 1_000_000 });
    await service.drainDirty();
    expect((await escalationsOf(ANA)).map((e) => e.threshold)).toEqual(['70', '90', '100']);

    // a premium model is outside the tier whatever the usage
    expect((await check(ANA, 10, 'claude-opus-4-1')).decision).toBe('block');
  });

  it('bad exception requests are rejected with reasons', async () => {
    const bad = await gql<{ requestException: { code?: string; problems?: { field: string }[] } }>(
      api.keys.member.key,
      `mutation($t: Float, $j: String!, $e: DateTime!) { requestException(extraTokens: $t, justification: $j, expiresAt: $e) {
         ... on InvalidRequest { code problems { field message } } } }`,
      { t: -5, j: '', e: '2026-10-19T00:00:00Z' },
    );
    expect(bad.requestException.code).toBe('INVALID_REQUEST');
    expect(bad.requestException.problems?.map((p) => p.field)).toEqual([
      'extraTokens',
      'justification',
      'expiresAt',
    ]);
    const far = await api.gql(
      api.keys.member.key,
      `mutation { requestException(extraTokens: 1000, justification: "a long enough reason", expiresAt: "2026-12-30T00:00:00Z") {
         ... on InvalidRequest { problems { message } } } }`,
    );
    expect(JSON.stringify(far.body)).toContain('maximum exception duration of 30d');
  });

  it('an approved exception allows; after it expires 120% blocks', async () => {
    const requested = await gql<{
      requestException: { id: string; status: string; approver: string };
    }>(
      api.keys.member.key,
      `mutation { requestException(extraTokens: 500000, justification: "quarter-end migration needs headroom",
         expiresAt: "2026-10-27T12:00:00Z") { ... on QuotaException { id status approver } } }`,
    );
    expect(requested.requestException).toMatchObject({ status: 'requested', approver: 'manager' });
    const id = requested.requestException.id;

    // the manager sees it among open requests; others may not decide; the subject may not either
    const open = await gql<{
      exceptions: { edges: { node: { id: string; subject: string; justification: string } }[] };
    }>(bo.key, '{ exceptions(awaitingMe: true) { edges { node { id subject justification } } } }');
    // the approver sees who asks and why; other members would see a pseudonym
    expect(open.exceptions.edges.map((e) => e.node)).toEqual([
      { id, subject: ANA, justification: 'quarter-end migration needs headroom' },
    ]);
    const decide = `mutation($id: ID!, $a: Boolean!) { decideException(id: $id, approve: $a, note: "ok") {
      __typename ... on QuotaException { status decidedBy } ... on Problem { code message } } }`;
    const byPeer = await gql<{ decideException: { code: string; message: string } }>(
      di.key,
      decide,
      { id, a: true },
    );
    expect(byPeer.decideException.code).toBe('FORBIDDEN');
    expect(byPeer.decideException.message).toContain('manager of ana@acme.test (bo@acme.test)');
    const bySelf = await gql<{ decideException: { code: string } }>(api.keys.member.key, decide, {
      id,
      a: true,
    });
    expect(bySelf.decideException.code).toBe('FORBIDDEN');
    const byManager = await gql<{ decideException: { status: string; decidedBy: string } }>(
      bo.key,
      decide,
      {
        id,
        a: true,
      },
    );
    expect(byManager.decideException).toMatchObject({
      status: 'approved',
      decidedBy: 'bo@acme.test',
    });
    const again = await gql<{ decideException: { code: string } }>(
      api.keys.governance.key,
      decide,
      { id, a: false },
    );
    expect(again.decideException.code).toBe('CONFLICT');
    // the manager's decision history: the requests bo decided, named; a peer decided none
    const history = `{ exceptions(decidedByMe: true) { edges { node { id subject status decidedBy note } } } }`;
    const bos = await gql<{ exceptions: { edges: { node: unknown }[] } }>(bo.key, history);
    expect(bos.exceptions.edges.map((e) => e.node)).toEqual([
      { id, subject: ANA, status: 'approved', decidedBy: 'bo@acme.test', note: 'ok' },
    ]);
    const dis = await gql<{ exceptions: { edges: unknown[] } }>(di.key, history);
    expect(dis.exceptions.edges).toEqual([]);

    let q = await check(ANA);
    expect(q).toMatchObject({ decision: 'allow', effectiveLimit: 1_500_000, band: 'green' });
    expect((await escalationsOf(ANA)).find((e) => e.threshold === '100')?.status).toBe('approved');

    await use(ANA, 200_000); // 1.2M of 1.5M: 80%
    expect((await check(ANA)).decision).toBe('allow_with_notice');
    // 120% of the tier limit, but 80% of the raised one: no block escalation while it lasts
    await service.drainDirty();
    expect((await escalationsOf(ANA)).map((e) => e.threshold)).toEqual(['70', '90', '100']);

    clock = new Date('2026-10-28T12:00:00Z'); // the exception has expired
    q = await check(ANA);
    expect(q).toMatchObject({ decision: 'block', effectiveLimit: 1_000_000, used: 1_200_000 });
    // the workers' next round notices the expiry and re-evaluates ana at once
    await service.drainDirty();
    const exceptions = await api.store.query<{ status: string }>('select status from exceptions');
    expect(exceptions.map((e) => e.status)).toEqual(['expired']);
    expect((await service.sweep()).expiredExceptions).toBe(0);
    expect((await escalationsOf(ANA)).map((e) => e.threshold)).toEqual(['70', '90', '100', '120']);

    const audit = await api.store.query<{ action: string }>(
      "select action from audit_log where action like 'exception.%' or action like 'escalation.%' order by id",
    );
    expect(audit.map((a) => a.action)).toEqual([
      'escalation.acknowledge',
      'exception.request',
      'exception.decide.refused',
      'exception.decide.refused',
      'exception.approve',
    ]);
  });

  it('each person and team carries a band', async () => {
    const data = await gql<{
      people: { edges: { node: { id: string; band: string | null } }[] };
      teams: { edges: { node: { id: string; band: string | null } }[] };
    }>(
      api.keys.governance.key,
      '{ people { edges { node { id band } } } teams { edges { node { id band } } } }',
    );
    const bands = Object.fromEntries(data.people.edges.map((e) => [e.node.id, e.node.band]));
    expect(bands[ANA]).toBe('red');
    expect(bands['di@acme.test']).toBe('green');
    const teams = Object.fromEntries(data.teams.edges.map((e) => [e.node.id, e.node.band]));
    expect(teams.platform).toBe('green');
  });
});

describe('sweeps', () => {
  it('repeated sweeps create nothing new', async () => {
    const before = await api.store.query<{ n: string; o: string }>(
      'select (select count(*) from escalations)::text as n, (select count(*) from outbox)::text as o',
    );
    const first = await service.sweep();
    const second = await service.sweep();
    expect(first.created).toBe(0);
    expect(second.created).toBe(0);
    const after = await api.store.query<{ n: string; o: string }>(
      'select (select count(*) from escalations)::text as n, (select count(*) from outbox)::text as o',
    );
    expect(after).toEqual(before);
  });

  it('two instances sweeping at once record each step once', async () => {
    await addWebhook(api.store, 'person', 'http://127.0.0.1:59999/unused', 's1');
    await use('di@acme.test', 950_000, { ts: '2026-10-25T10:00:00Z' }); // crosses 70% and 90%
    await api.store.query('delete from enforcement_dirty'); // leave it to the sweeps
    const other = createReevaluation(api.store);
    const [a, b] = await Promise.all([service.sweep(), other.sweep()]);
    // each ran under the lease, or found it taken; together they recorded each step once
    expect(a.created + b.created).toBe(2);
    // without the lease, keys alone keep the records idempotent
    const [c, d] = await Promise.all([
      service.sweep({ force: true }),
      other.sweep({ force: true }),
    ]);
    expect(c.created + d.created).toBe(0);
    // while one instance holds the lease, another does not sweep
    expect(await tryLease(api.store, SWEEP_JOB, 'instance-a', 60_000)).toBe(true);
    const blocked = await other.sweep({ holder: 'instance-b' });
    expect(blocked).toMatchObject({
      skipped: true,
      reason: 'another instance holds the sweep lease',
    });
    await releaseLease(api.store, SWEEP_JOB, 'instance-a', null);
    expect((await other.sweep({ holder: 'instance-b' })).skipped).toBe(false);
    const dup = await api.store.query(
      'select key from escalations group by key having count(*) > 1',
    );
    expect(dup).toEqual([]);
    const rows = await escalationsOf('di@acme.test');
    expect(rows.map((r) => r.threshold)).toEqual(['70', '90']);
    const queued = await api.store.query<{ n: string }>(
      "select count(*)::text as n from outbox o join webhooks w on w.id = o.webhook_id where w.url = 'http://127.0.0.1:59999/unused'",
    );
    expect(queued[0].n).toBe('2');
    await api.store.query("delete from webhooks where url = 'http://127.0.0.1:59999/unused'");
  });
});

describe('webhooks', () => {
  let receiver: Server;
  let url = '';
  const received: { body: string; headers: Record<string, string>; key: string }[] = [];
  let failuresLeft = 2;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end('down for maintenance');
          return;
        }
        received.push({
          body: Buffer.concat(chunks).toString(),
          headers: {
            'webhook-id': String(req.headers['webhook-id']),
            'webhook-timestamp': String(req.headers['webhook-timestamp']),
            'webhook-signature': String(req.headers['webhook-signature']),
          },
          key: String(req.headers['idempotency-key']),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('retries a failing receiver with backoff and delivers everything, signed, once it recovers', async () => {
    await addWebhook(api.store, 'manager', url, 'manager-secret');
    await addWebhook(api.store, 'team_owner', url, 'owner-secret');
    clock = new Date('2026-11-02T09:00:00Z'); // a new month: the ladder starts again
    await use('di@acme.test', 1_000_000, { ts: '2026-11-01T10:00:00Z' }); // 100%: approval by manager
    // 75 USD on day two: the platform team is projected far over its budget
    await use('di@acme.test', 1_000_000, {
      ts: '2026-11-01T11:00:00Z',
      model: 'claude-opus-4-1',
      output: true,
    });
    await service.drainDirty();
    const expected = await api.store.query<{ key: string }>(
      'select idempotency_key as key from outbox o join webhooks w on w.id = o.webhook_id where w.url = $1',
      [url],
    );
    expect(expected.length).toBeGreaterThanOrEqual(2);

    // the receiver is down: the first rounds fail and are scheduled with growing delays
    let now = clock;
    const first = await deliverDue(api.store, { now });
    expect(first.failed).toBeGreaterThan(0);
    const failed = await gql<{
      webhookDeliveries: {
        edges: { node: { state: string; lastError: string; attempts: number } }[];
      };
    }>(
      api.keys.admin.key,
      '{ webhookDeliveries(failed: true) { edges { node { state lastError attempts } } } }',
    );
    expect(failed.webhookDeliveries.edges[0].node).toMatchObject({
      state: 'pending',
      lastError: 'HTTP 503 Service Unavailable',
    });
    // nothing is due until the backoff has passed
    expect((await deliverDue(api.store, { now })).attempted).toBe(0);
    for (let round = 0; round < 10; round++) {
      now = new Date(now.getTime() + 60 * 60_000);
      await deliverDue(api.store, { now });
    }
    const pending = await api.store.query('select id from outbox where delivered_at is null');
    expect(pending).toEqual([]);
    const keys = new Set(received.map((r) => r.key));
    expect([...keys].sort()).toEqual(expected.map((e) => e.key).sort());
    for (const r of received) {
      // the documented verifier: standardwebhooks, with the endpoint's secret (a passphrase
      // of the operator's own is used as raw bytes)
      const secret = JSON.parse(r.body).audience === 'manager' ? 'manager-secret' : 'owner-secret';
      const verifier = new Webhook(secret, { format: 'raw' });
      expect(verifier.verify(r.body, r.headers)).toEqual(JSON.parse(r.body));
      expect(() =>
        new Webhook('other-secret', { format: 'raw' }).verify(r.body, r.headers),
      ).toThrow(WebhookVerificationError);
    }
    // a captured delivery replayed ten minutes later is rejected (timestamp tolerance 5 min)
    const captured = received[0];
    vi.useFakeTimers({ now: Date.now() + 10 * 60_000, toFake: ['Date'] });
    try {
      const secret =
        JSON.parse(captured.body).audience === 'manager' ? 'manager-secret' : 'owner-secret';
      expect(() =>
        new Webhook(secret, { format: 'raw' }).verify(captured.body, captured.headers),
      ).toThrow(/timestamp too old/i);
    } finally {
      vi.useRealTimers();
    }
    const bodies = received.map((r) => JSON.parse(r.body));
    const managerCall = bodies.find(
      (b) => b.audience === 'manager' && b.escalation.threshold === 100,
    );
    expect(bodies.find((b) => b.audience === 'team_owner')).toMatchObject({
      recipient: 'bo@acme.test',
      escalation: {
        ladder: 'budget',
        trigger: 'forecast',
        subject: { kind: 'team', id: 'platform' },
      },
    });
    expect(managerCall).toMatchObject({
      type: 'escalation.raised',
      recipient: 'bo@acme.test',
      escalation: { threshold: 100, action: { kind: 'require_approval', approver: 'manager' } },
    });
  });

  it('a receiver that is down never blocks ingest or decisions', async () => {
    await addWebhook(api.store, 'person', 'http://127.0.0.1:59998/closed-port', 'x');
    await use('di@acme.test', 1, { ts: '2026-11-01T12:00:00Z' });
    expect((await check('di@acme.test')).decision).toBe('block');
  });
});

describe('webhook endpoints over GraphQL', () => {
  it('admins add, list and remove endpoints; the secret is shown once', async () => {
    const bad = await gql<{ addWebhook: { code: string; problems: { field: string }[] } }>(
      api.keys.admin.key,
      'mutation { addWebhook(audience: "nobody", url: "ftp://x") { ... on InvalidRequest { code problems { field } } } }',
    );
    expect(bad.addWebhook.problems.map((p) => p.field)).toEqual(['audience', 'url']);
    const added = await gql<{ addWebhook: { id: string; secret: string } }>(
      api.keys.admin.key,
      'mutation { addWebhook(audience: "finance", url: "http://127.0.0.1:59997/f") { ... on Webhook { id secret } } }',
    );
    expect(added.addWebhook.secret.length).toBeGreaterThan(20);
    const listed = await gql<{ webhooks: { id: string; secret: string | null }[] }>(
      api.keys.admin.key,
      '{ webhooks { id secret } }',
    );
    expect(listed.webhooks.find((w) => w.id === added.addWebhook.id)?.secret).toBeNull();
    const denied = await api.gql(api.keys.governance.key, '{ webhooks { id } }');
    expect(denied.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const removed = await gql<{ removeWebhook: number }>(
      api.keys.admin.key,
      'mutation($id: String!) { removeWebhook(idOrUrl: $id) }',
      { id: added.addWebhook.id },
    );
    expect(removed.removeWebhook).toBe(1);
  });
});

describe('escalationRaised over SSE', () => {
  it('streams new escalations to a subscriber', async () => {
    const controller = new AbortController();
    const response = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${api.keys.governance.key}`,
      },
      body: JSON.stringify({
        query: 'subscription { escalationRaised { subject threshold ladder } }',
      }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    await use('cy@acme.test', 500_000, { ts: '2026-11-01T10:00:00Z' });
    await use('cy@acme.test', 250_000, { ts: '2026-11-01T10:05:00Z' }); // 75%: crosses 70%
    const [created] = await service.reevaluatePeople(['cy@acme.test']);
    expect(created.threshold).toBe(70);
    // the stream attaches when first read: publish again until the subscriber has it
    let text = '';
    const decoder = new TextDecoder();
    const read = (async () => {
      while (!text.includes('"escalationRaised"')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value);
      }
    })();
    let done = false;
    read.finally(() => {
      done = true;
    });
    while (!done) {
      escalationEventsFor(api.store).publish(created);
      await Promise.race([read, new Promise((r) => setTimeout(r, 20))]);
    }
    await read;
    controller.abort();
    expect(text).toContain('"subject":"cy@acme.test"');
    expect(text).toContain('"threshold":70');
  });
});

describe('escalationRaised buffers', () => {
  it("a subscriber that does not read keeps only its newest 1,024 events, and no one else's", async () => {
    const local = createEscalationEvents(api.store);
    const slow = await local.subscribe();
    const other = await local.subscribe();
    // a subscription starts listening at its first read
    const first = [slow.next(), other.next()];
    const row = (i: number) => ({ id: String(i) }) as EscalationRow;
    local.publish(row(0));
    expect((await Promise.all(first)).map((r) => r.value?.id)).toEqual(['0', '0']);
    for (let i = 1; i <= 1500; i++) local.publish(row(i));
    for (const events of [slow, other]) {
      const seen: string[] = [];
      for (let i = 0; i < SUBSCRIBER_BUFFER; i++)
        seen.push(String((await events.next()).value?.id));
      // the oldest 476 were dropped; the newest 1,024 arrive in order
      expect(seen[0]).toBe('477');
      expect(seen.at(-1)).toBe('1500');
      expect(seen).toEqual(Array.from({ length: 1024 }, (_, i) => String(477 + i)));
      await events.return?.();
    }
  });
});

describe('escalations across instances', () => {
  it.skipIf(!process.env.DATABASE_URL)(
    'a subscriber on one instance receives what another records (LISTEN/NOTIFY)',
    async () => {
      const other = await openStore({ databaseUrl: api.store.url, entities: apiEntities });
      activePolicyFor(other).setClock(() => clock);
      try {
        const events = (await escalationEventsFor(other).subscribe())[Symbol.asyncIterator]();
        const next = events.next();
        await use('relay@acme.test', 750_000, { ts: '2026-11-01T10:10:00Z' });
        const [created] = await service.reevaluatePeople(['relay@acme.test']);
        const received = await next;
        expect(received.value).toMatchObject({
          id: created.id,
          subjectId: 'relay@acme.test',
          threshold: 70,
        });
        await events.return?.();
      } finally {
        await escalationEventsFor(other).close();
        await other.close();
      }
    },
  );
});

describe('exactness under concurrent writes', () => {
  it('checkQuota sees whole batches only, and the exact total at the end', async () => {
    clock = new Date('2026-11-02T09:00:00Z');
    const person = 'zed@acme.test';
    const batches = 12;
    const perEvent = 1_000;
    const perBatch = 25;
    const writes = Array.from({ length: batches }, (_, b) =>
      gql(
        api.keys.ingest.key,
        'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
        {
          rows: Array.from({ length: perBatch }, (_, i) => ({
            id: `z-${b}-${i}`,
            ts: '2026-11-01T08:00:00Z',
            person,
            model: 'gpt-4o-mini',
            inputTokens: perEvent,
          })),
        },
      ),
    );
    const reads = Array.from({ length: 24 }, () => check(person));
    const seen = await Promise.all(reads);
    await Promise.all(writes);
    for (const q of seen) expect(q.used % (perEvent * perBatch)).toBe(0);
    expect((await check(person)).used).toBe(batches * perBatch * perEvent);
    // re-sending a batch changes nothing
    await gql(
      api.keys.ingest.key,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { duplicates } } }',
      {
        rows: [
          {
            id: 'z-0-0',
            ts: '2026-11-01T08:00:00Z',
            person,
            model: 'gpt-4o-mini',
            inputTokens: perEvent,
          },
        ],
      },
    );
    expect((await check(person)).used).toBe(batches * perBatch * perEvent);
  });

  it("concurrent checks share statements, and each gets its own person's answer", async () => {
    clock = new Date('2026-11-02T09:00:00Z');
    // ids travel as one text[] parameter: quotes, commas and braces must survive it
    const people = [ANA, 'bo@acme.test', 'cy@acme.test', 'zed@acme.test', 'x@y', 'we"ird, {id}\\'];
    const ask = (i: number) =>
      service.checkQuota({
        personId: people[i % people.length],
        model: i % 2 ? 'claude-sonnet-4-5' : 'gpt-4o-mini',
        estimatedTokens: 100 * i,
      });
    const alone = [];
    for (let i = 0; i < 60; i++) alone.push(await ask(i));
    const pool = api.store.pool;
    const original = pool.query;
    let statements = 0;
    pool.query = ((...args: Parameters<typeof original>) => {
      statements++;
      return (original as (...a: unknown[]) => unknown).apply(pool, args);
    }) as typeof original;
    try {
      const together = await Promise.all(Array.from({ length: 60 }, (_, i) => ask(i)));
      expect(together).toEqual(alone);
      expect(together.map((r) => r.person)).toEqual(alone.map((_, i) => people[i % people.length]));
      expect(together.find((r) => r.person === 'zed@acme.test')?.quota?.used).toBe(300_000);
      // the first check's statement goes at once; the 59 asked meanwhile share the next
      expect(statements).toBeLessThanOrEqual(2);
    } finally {
      pool.query = original;
    }
  });
});

describe('team budgets after ingest', () => {
  const teamSteps = async (team: string) =>
    (
      await api.store.query<{ key: string; percent: number }>(
        `select key, (facts->>'percent')::float8 as percent from escalations
          where subject_kind = 'team' and subject_id = $1 and key like '%:at:%' order by key`,
        [team],
      )
    ).map((r) => ({ key: r.key, percent: r.percent }));

  it("the drain adds up every member's month, including members it did not re-evaluate", async () => {
    clock = new Date('2026-08-20T12:00:00Z');
    // bo's spend lands first and is drained alone: 45% of platform's 1,000 USD
    await use('bo@acme.test', 6_000_000, {
      model: 'claude-opus-4-1',
      output: true,
      ts: '2026-08-19T10:00:00Z',
    });
    await service.drainDirty();
    expect(await teamSteps('platform')).toEqual([]);
    // di then spends 37.5%: only di is re-evaluated, and the team crosses 80% with bo's part
    await use('di@acme.test', 5_000_000, {
      model: 'claude-opus-4-1',
      output: true,
      ts: '2026-08-20T09:00:00Z',
    });
    const report = await service.drainDirty();
    expect(report.people).toBe(1);
    const steps = await teamSteps('platform');
    expect(steps.map((s) => s.key)).toEqual([
      'budget:each team:at:80|team:platform|2026-07-31T23:00:00.000Z',
    ]);
    expect(steps[0].percent).toBeCloseTo(82.5, 6);
    // the per-person totals equal the rollups they summarise
    const [cached] = await api.store.query<{ cached: string; rollups: string }>(
      `select (select sum(cost) from enforcement_person_costs c join people p on p.id = c.person_id
                where p.team_id = 'platform' and c.period_from = '2026-08-01')::text as cached,
              (select sum(r.cost) from daily_rollups r join people p on p.id = r.person_id
                where p.team_id = 'platform' and r.day >= '2026-08-01' and r.day < '2026-09-01')::text as rollups`,
    );
    expect(cached.cached).toBe(cached.rollups);
  });
});

describe('budgets with money exceptions', () => {
  it('an approved money exception raises the team budget until it expires', async () => {
    clock = new Date('2026-11-02T09:00:00Z');
    // money fields are exact decimals with a currency; compared here as numbers
    const budget = async () => {
      type Money = { amount: string };
      const data = await gql<{
        budgets: {
          edges: {
            node: {
              limit: Money;
              exceptionMoney: Money;
              effectiveLimit: Money;
              spent: Money;
              remaining: Money;
            };
          }[];
        };
      }>(
        api.keys.governance.key,
        '{ budgets(team: "platform") { ... on BudgetConnection { edges { node { limit { amount } exceptionMoney { amount } effectiveLimit { amount } spent { amount } remaining { amount } } } } } }',
      );
      const node = data.budgets.edges[0].node;
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => [k, Number(v.amount)]),
      ) as Record<keyof typeof node, number>;
    };
    const before = await budget();
    expect(before).toMatchObject({ limit: 1000, exceptionMoney: 0, effectiveLimit: 1000 });
    expect(before.remaining).toBeCloseTo(1000 - before.spent, 6);

    const requested = await gql<{ requestException: { id: string } }>(
      api.keys.governance.key,
      `mutation { requestException(subject: "platform", subjectKind: "team", extraMoney: 250,
         justification: "launch week load tests", expiresAt: "2026-11-20T00:00:00Z") { ... on QuotaException { id } } }`,
    );
    const id = requested.requestException.id;
    // requested, not yet approved: nothing changes
    expect((await budget()).exceptionMoney).toBe(0);
    await gql(
      api.keys.governance.key,
      'mutation($id: ID!) { decideException(id: $id, approve: true, note: "ok") { __typename } }',
      { id },
    );
    const raised = await budget();
    expect(raised).toMatchObject({ limit: 1000, exceptionMoney: 250, effectiveLimit: 1250 });
    expect(raised.remaining).toBeCloseTo(1250 - raised.spent, 6);

    clock = new Date('2026-11-21T09:00:00Z');
    const expired = await budget();
    expect(expired).toMatchObject({ exceptionMoney: 0, effectiveLimit: 1000 });
  });
});

describe('POST /v1/quota/check', () => {
  const post = async (key: string | null, body: unknown, init: RequestInit = {}) => {
    const res = await fetch(`${api.url}/v1/quota/check`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const FIELDS =
    'decision reason band tier period periodStart limit exceptionTokens effectiveLimit used estimatedTokens inputTokens estimatedCost { amount currency } percentAfter remainingAfter threshold notice approver model modelClass allowedClasses cheaperClass policyHash binding { kind name subject { kind id } decision percent threshold reason approver escalationId } constraints { kind name subject { kind id } decision percent threshold reason approver escalationId } next { action approver escalationId message }';

  it('answers with the same fields and values as the GraphQL field', async () => {
    clock = new Date('2026-11-02T09:00:00Z');
    for (const [person, model, n] of [
      ['zed@acme.test', 'claude-opus-4-1', 5_000],
      [ANA, 'claude-sonnet-4-5', 0],
      ['nobody@acme.test', 'gpt-4o-mini', 10],
    ] as const) {
      const data = await gql<{ checkQuota: Record<string, unknown> }>(
        api.keys.ingest.key,
        `query($p: String!, $m: String!, $n: Int!) { checkQuota(person: $p, model: $m, estimatedTokens: $n) { ... on QuotaCheck { ${FIELDS} } } }`,
        { p: person, m: model, n },
      );
      const http = await post(api.keys.ingest.key, { person, model, estimatedTokens: n });
      expect(http.status).toBe(200);
      expect(http.body).toEqual(data.checkQuota);
    }
    // zed used 300,000 of 1M tokens (the concurrency test above): the answer says so
    const zed = await post(api.keys.ingest.key, {
      person: 'zed@acme.test',
      model: 'gpt-4o-mini',
      estimatedTokens: 0,
    });
    expect(zed.body).toMatchObject({ used: 300_000, decision: 'allow', band: 'green' });
  });

  it("keeps the GraphQL field's role rules", async () => {
    const ask = { person: 'bo@acme.test', model: 'gpt-4o-mini', estimatedTokens: 1 };
    expect((await post(api.keys.admin.key, ask)).status).toBe(200);
    expect((await post(api.keys.governance.key, ask)).status).toBe(200);
    expect((await post(bo.key, ask)).status).toBe(200);
    const other = await post(di.key, ask);
    expect(other).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(other.body.error).toMatch(/only for its own person/);
    const viewer = await post(api.keys.viewer.key, ask);
    expect(viewer).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const none = await post(null, ask);
    expect(none).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(none.body.error).toMatch(/missing API key/);
    expect((await post('qk_wrong', ask)).status).toBe(401);
  });

  it('rejects bad requests naming the field', async () => {
    const key = api.keys.ingest.key;
    const missing = await post(key, { person: 'bo@acme.test' });
    expect(missing).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    // the model is optional (without it only `request any` limits apply); a size is not
    expect((missing.body.problems as { field: string }[]).map((p) => p.field)).toEqual([
      'estimatedTokens',
    ]);
    const negative = await post(key, { person: 'bo@acme.test', model: 'x', estimatedTokens: -1 });
    expect(negative).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    expect(negative.body.error).toBe('estimatedTokens: must not be negative');
    const fraction = await post(key, { person: 'bo@acme.test', model: 'x', estimatedTokens: 1.5 });
    expect(fraction.body.error).toMatch(/^estimatedTokens: must be a whole number/);
    const empty = await post(key, { person: ' ', model: 'x', estimatedTokens: 1 });
    expect(empty.body.error).toBe('person: is empty');
    expect((await post(key, '{"person": ')).body).toMatchObject({ code: 'INVALID_REQUEST' });
    const text = await post(key, '{}', {
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${key}` },
    });
    expect(text.status).toBe(415);
    const get = await fetch(`${api.url}/v1/quota/check`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});
