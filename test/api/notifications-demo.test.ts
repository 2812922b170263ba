// The "done when" on the demo organisation: the demo `npm start` seeds (seedIfEmpty,
// at a fixed date), a real escalation sweep, and its quota steps delivered to a Slack Web API
// stand-in (a bot token: a DM to the person looked up by email, a #channel), a Teams
// stand-in and a local SMTP inbox, each with the right recipient and action. A generic
// webhook of the same sweep verifies with the documented verifier (standardwebhooks) and,
// captured and replayed ten minutes later, is rejected. /metrics, parsed, carries the
// deliveries and failures, the steps opened, the decisions and the ingest counts.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { notifyRound } from '../../src/api/notification-delivery.ts';
import { deliverDue } from '../../src/api/webhooks.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { escalationEventsFor } from '../../src/app/escalation-events.ts';
import { type NotificationSettings, parseGroups } from '../../src/app/notifications.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { createSenders, type Senders } from '../../src/notify/index.ts';
import { seedIfEmpty } from '../../src/store/seed.ts';
import { addWebhook } from '../../src/store/webhooks.ts';
import { type ChatReceiver, startChatReceiver, startSmtpInbox } from '../support/chat-receivers.ts';
import { type PromFamily, parsePrometheusText } from '../support/prometheus-text.ts';
import { startTestApi, type TestApi } from './support.ts';

const CONSOLE = 'https://quotient.halcyon.test';
const METRICS_KEY = 'metrics-key-for-the-demo-test-0123';
const BOT_TOKEN = 'xoxb-0000000000-demo-test-token';
const now = new Date('2026-10-20T12:00:00Z');

type QuotaStep = { id: string; person: string; manager: string | null; threshold: number };

let api: TestApi;
let chat: ChatReceiver;
let inbox: Awaited<ReturnType<typeof startSmtpInbox>>;
let senders: Senders;
let settings: NotificationSettings;
let hooks: Server;
const captured: { body: string; headers: IncomingHttpHeaders }[] = [];
const hookSecret = `whsec_${randomBytes(32).toString('base64')}`;
let steps: QuotaStep[];
// A: Slack DMs through the bot; A's manager: Teams; B: email (no preference); C: a Slack
// channel the bot is not in (a failure)
let ana: string;
let manager: string;
let bea: string;
let cal: string;
let before: Map<string, PromFamily>;

async function scrape() {
  const response = await fetch(api.server.metricsUrl as string, {
    headers: { authorization: `Bearer ${METRICS_KEY}` },
  });
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

function sample(families: Map<string, PromFamily>, name: string, labels: Record<string, string>) {
  const found = families
    .get(name)
    ?.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  if (found && found.length > 1) throw new Error(`${name} matches ${found.length} samples`);
  return found?.[0]?.value ?? 0;
}

async function gql(key: string, query: string, variables?: Record<string, unknown>) {
  const res = await api.gql(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as Record<string, unknown>;
}

const stepOf = (person: string, threshold: number) =>
  steps.find((s) => s.person === person && s.threshold === threshold) as QuotaStep;
const linkTo = (step: QuotaStep) => `${CONSOLE}/?escalation=${step.id}`;

beforeAll(async () => {
  api = await startTestApi({ metrics: { key: METRICS_KEY } });
  before = await scrape();
  // the seed `quotient serve` runs on an empty database, at a fixed date
  expect(await seedIfEmpty(api.store, { now })).toBe(true);
  activePolicyFor(api.store).setClock(() => now);

  hooks = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      captured.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  await addWebhook(
    api.store,
    'person',
    `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/quotient`,
    hookSecret,
  );

  // the demo's quota ladder: 70% notify person, 90% justification, 100% approval by
  // manager, 120% block
  const swept = await reevaluationFor(api.store).sweep();
  expect(swept.created).toBeGreaterThan(0);
  steps = (
    await api.store.query<{
      id: string;
      person: string;
      manager: string | null;
      threshold: string;
    }>(
      `select e.id::text as id, e.subject_id as person, p.manager_id as manager, e.threshold::text as threshold
         from escalations e join people p on p.id = e.subject_id
        where e.ladder = 'quota' and e.subject_kind = 'person'
        order by e.subject_id, e.threshold`,
    )
  ).map((s) => ({ ...s, threshold: Number(s.threshold) }));
  const reached = (threshold: number) => [
    ...new Set(steps.filter((s) => s.threshold === threshold).map((s) => s.person)),
  ];
  // at least two people past 100% (an approval to route), and a third past 70%
  const approvals = reached(100).filter((p) => stepOf(p, 100).manager);
  expect(approvals.length).toBeGreaterThanOrEqual(2);
  [ana, bea] = approvals;
  manager = stepOf(ana, 100).manager as string;
  cal = reached(70).find((p) => p !== ana && p !== bea && p !== manager) as string;
  expect(cal).toBeDefined();

  chat = await startChatReceiver({
    token: BOT_TOKEN,
    users: { [ana.toLowerCase()]: 'U0ANA', [manager.toLowerCase()]: 'U0MGR' },
    channels: ['#security', '#finance'],
  });
  inbox = await startSmtpInbox();
  senders = createSenders({
    smtp: { url: inbox.url, from: 'Quotient <quotient@halcyon.test>' },
    slackBot: { token: BOT_TOKEN, apiUrl: `${chat.url}/api` },
  });
  settings = {
    consoleUrl: CONSOLE,
    email: true,
    slackBot: true,
    groups: parseGroups(
      `security=slack:#security;finance=slack:#finance,teams:${chat.url}/teams/finance`,
    ),
  };
  const prefer = (person: string, channel: string, address: string | null) =>
    gql(
      api.keys.governance.key,
      `mutation($person: String, $channel: String!, $address: String, $mode: String) {
        setNotificationPreference(person: $person, channel: $channel, address: $address, mode: $mode) {
          __typename ... on Problem { message } } }`,
      { person, channel, address, mode: 'immediate' },
    );
  // no address: the bot finds ana's Slack user by her directory address
  expect((await prefer(ana, 'slack', null)).setNotificationPreference).toEqual({
    __typename: 'NotificationPreference',
  });
  await prefer(manager, 'teams', `${chat.url}/teams/${encodeURIComponent(manager)}`);
  await prefer(cal, 'slack', '#not-a-member');

  for (let round = 0; round < 20; round++) {
    const report = await notifyRound(api.store, settings, senders, { now, maxAttempts: 1 });
    if (report.announced === 0 && report.sent === 0 && report.failed === 0) break;
  }
}, 120_000);

afterAll(async () => {
  senders?.close();
  await chat?.close();
  await inbox?.close();
  await new Promise((resolve) => hooks?.close(resolve));
  await escalationEventsFor(api.store).close();
  await api?.stop();
});

describe('notifications on the demo organisation', () => {
  it('DMs the person on Slack through the bot, with the policy’s text and the console link', () => {
    expect(chat.slackLookups).toEqual([ana]);
    const toAna = chat.slackApi.filter((p) => p.channel === 'U0ANA');
    // 70%, 90%, 100% and (past 120%) the block, each once
    const thresholds = steps.filter((s) => s.person === ana).map((s) => s.threshold);
    expect(toAna).toHaveLength(thresholds.length);
    const seventy = toAna.find((p) =>
      String(p.body.text).startsWith('Your token quota reached 70%'),
    );
    expect(seventy?.body.text).toContain(
      '70% of your monthly tokens used: economy models suit routine work',
    );
    const blocks = seventy?.body.blocks as { type: string; elements?: Record<string, unknown>[] }[];
    expect(blocks.find((b) => b.type === 'actions')?.elements?.[0]).toMatchObject({
      type: 'button',
      text: { type: 'plain_text', text: 'Open in Quotient' },
      url: linkTo(stepOf(ana, 70)),
    });
    const approval = toAna.find((p) => String(p.body.text).includes('reached 100%'));
    expect(JSON.stringify(approval?.body.blocks)).toContain('Request approval');
    // her preference is Slack: no email
    expect(inbox.mail.filter((m) => m.to.includes(ana))).toEqual([]);
  });

  it('asks the manager on Teams to decide on the approval, with a link to it', () => {
    const toManager = chat.teams.filter((p) => p.path === `/teams/${encodeURIComponent(manager)}`);
    const cards = toManager.map(
      (p) => (p.body.attachments as { content: Record<string, unknown> }[])[0].content,
    );
    const decide = cards.filter((c) =>
      JSON.stringify(c.body).includes(`${ana} needs your approval`),
    );
    expect(decide).toHaveLength(1);
    expect(decide[0].actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Review and decide', url: linkTo(stepOf(ana, 100)) },
    ]);
    expect(chat.slackApi.filter((p) => p.channel === 'U0MGR')).toEqual([]);
  });

  it('emails a person with no preference at their directory address', () => {
    const toBea = inbox.mail.filter((m) => m.to.includes(bea));
    const thresholds = steps.filter((s) => s.person === bea).map((s) => s.threshold);
    expect(toBea).toHaveLength(thresholds.length);
    const text = toBea
      .map((m) =>
        m.raw
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16))),
      )
      .find((t) => t.includes('Subject: Your token quota reached 70%')) as string;
    expect(text).toContain('70% of your monthly tokens used: economy models suit routine work');
    expect(text).toContain(`Open in Quotient: ${linkTo(stepOf(bea, 70))}`);
    expect(text).toMatch(/^From: Quotient <quotient@halcyon\.test>/m);
  });

  it('lists a notice the bot could not post, with Slack’s reason', async () => {
    const failed = await gql(
      api.keys.admin.key,
      '{ notificationDeliveries(status: "failed") { channel address lastError } }',
    );
    const forCal = (
      failed.notificationDeliveries as { channel: string; address: string; lastError: string }[]
    ).filter((d) => d.address === '#not-a-member');
    expect(forCal.length).toBe(steps.filter((s) => s.person === cal).length);
    expect(forCal[0]).toMatchObject({
      channel: 'slack',
      lastError: 'Slack chat.postMessage: channel_not_found',
    });
  });

  it('is refused by the stand-in with a wrong token, as Slack refuses it', async () => {
    const message = {
      title: 't',
      summary: 's',
      action: null,
      facts: [],
      severity: 'info' as const,
    };
    const wrong = createSenders({
      smtp: null,
      slackBot: { token: 'xoxb-wrong', apiUrl: `${chat.url}/api` },
    });
    expect(await wrong.send('slack', '#security', message)).toEqual({
      status: 200,
      error: 'Slack chat.postMessage: invalid_auth',
    });
    const none = createSenders({ smtp: null });
    expect((await none.send('slack', '#security', message)).error).toBe(
      'no Slack bot token configured (QUOTIENT_SLACK_BOT_TOKEN)',
    );
    expect(await senders.send('slack', '#security', message)).toEqual({ status: 200, error: null });
    expect(chat.slackApi.at(-1)).toMatchObject({ channel: '#security', body: { text: 't: s' } });
    chat.slackApi.pop();
  });

  it('signs the webhook so the documented verifier takes it, and rejects it replayed later', async () => {
    await deliverDue(api.store, { now: new Date() });
    const toAna = captured.find((c) => JSON.parse(c.body).recipient === ana);
    expect(toAna).toBeDefined();
    const { body, headers } = toAna as (typeof captured)[number];
    const verifier = new Webhook(hookSecret);
    expect(verifier.verify(body, headers as Record<string, string>)).toMatchObject({
      type: 'escalation.raised',
      recipient: ana,
    });
    vi.useFakeTimers({ now: Date.now() + 10 * 60_000, toFake: ['Date'] });
    try {
      expect(() => verifier.verify(body, headers as Record<string, string>)).toThrow(
        /timestamp too old/i,
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts it all on /metrics', async () => {
    await gql(
      api.keys.ingest.key,
      `query Gate($p: String!) { checkQuota(person: $p, model: "claude-sonnet-4-5", estimatedTokens: 10) { ... on QuotaCheck { decision } } }`,
      { p: ana },
    );
    // the same decision over the plain HTTP endpoint
    const rest = await fetch(`${api.url}/v1/quota/check`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${api.keys.ingest.key}`,
      },
      body: JSON.stringify({ person: ana, model: 'claude-sonnet-4-5', estimatedTokens: 10 }),
    });
    expect(rest.status).toBe(200);
    await rest.arrayBuffer();
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    const D = 'quotient_notification_deliveries_total';
    expect(delta(D, { channel: 'slack', outcome: 'delivered' })).toBe(chat.slackApi.length);
    expect(delta(D, { channel: 'teams', outcome: 'delivered' })).toBe(chat.teams.length);
    expect(delta(D, { channel: 'email', outcome: 'delivered' })).toBe(inbox.mail.length);
    expect(delta(D, { channel: 'slack', outcome: 'gave_up' })).toBe(
      steps.filter((s) => s.person === cal).length,
    );
    expect(delta(D, { channel: 'webhook', outcome: 'delivered' })).toBe(captured.length);
    for (const threshold of [70, 90, 100])
      expect(
        sample(after, 'quotient_escalations', {
          step: `quota at ${threshold}%`,
          status: 'open',
        }),
      ).toBe(steps.filter((s) => s.threshold === threshold).length);
    const decisions = (families: Map<string, PromFamily>) =>
      (families.get('quotient_quota_decisions_total')?.samples ?? []).reduce(
        (sum, s) => sum + s.value,
        0,
      );
    expect(decisions(after) - decisions(before)).toBe(2);
    // requests per endpoint and operation, with their latency
    expect(
      delta('quotient_http_requests_total', {
        endpoint: '/graphql',
        operation: 'Gate',
        status: '200',
      }),
    ).toBe(1);
    expect(
      delta('quotient_http_requests_total', {
        endpoint: '/v1/quota/check',
        operation: '-',
        status: '200',
      }),
    ).toBe(1);
    const H = 'quotient_http_request_duration_seconds';
    expect(
      after
        .get(H)
        ?.samples.find((m) => m.name === `${H}_count` && m.labels.endpoint === '/v1/quota/check')
        ?.value,
    ).toBe(1);
    expect(sample(after, 'quotient_db_pool_connections', { state: 'max' })).toBe(
      api.store.maxConnections,
    );
    const events = await api.store.query<{ n: number }>(
      'select count(*)::int as n from usage_events',
    );
    expect(
      delta('quotient_ingest_events_total', { source: 'seed', status: 'accepted' }),
    ).toBeGreaterThanOrEqual(events[0].n);
    expect(after.get('quotient_budget_spent')?.samples.length).toBeGreaterThan(0);
  });
});
