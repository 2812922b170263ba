// Notifications that reach people, end to end on a real database: escalations from a real
// sweep are delivered to a Slack stand-in and a Teams stand-in that check the payloads
// against the documented Block Kit and Adaptive Card shapes, and to a local SMTP server.
// Recipients follow the policy and the directory, preferences pick the channel, the team
// owner's notices wait for the daily digest, repeats reach an address once, and a failed
// delivery is listed and re-driven. The clock is injected; nothing waits on timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestRound, notifyRound } from '../../src/api/notification-delivery.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { escalationEventsFor } from '../../src/app/escalation-events.ts';
import { type NotificationSettings, parseGroups } from '../../src/app/notifications.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { createSenders, type Senders } from '../../src/notify/index.ts';
import {
  type ChatReceiver,
  type ReceivedMail,
  startChatReceiver,
  startSmtpInbox,
} from '../support/chat-receivers.ts';
import { startTestApi, type TestApi } from './support.ts';

const POLICY = `
policy "notify-test" version "n1"
currency USD
timezone "UTC"
class standard "General"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
tier baseline "Everyone" { limit 1M tokens per month models standard }
assign baseline otherwise
budget each team { 20 USD per month }
escalation quota {
  at 70%  notify person "70% of your monthly tokens used: economy models suit routine work"
  at 100% require approval by manager
}
escalation budget {
  at 80% notify finance, team_owner
}
`;

const CONSOLE = 'https://quotient.acme.test';
const now = new Date('2026-10-20T12:00:00Z');

let api: TestApi;
let chat: ChatReceiver;
let inbox: Awaited<ReturnType<typeof startSmtpInbox>>;
let senders: Senders;
let settings: NotificationSettings;

async function gql(key: string, query: string, variables?: Record<string, unknown>) {
  const res = await api.gql(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as Record<string, unknown>;
}

const SET_PREFERENCE = `mutation($person: String, $channel: String!, $address: String, $mode: String) {
  setNotificationPreference(person: $person, channel: $channel, address: $address, mode: $mode) {
    __typename ... on NotificationPreference { person channel mode } ... on Problem { message }
  } }`;

function mailTo(address: string): ReceivedMail[] {
  return inbox.mail.filter((m) => m.to.includes(address));
}

/** The decoded text of a MIME message (nodemailer writes quoted-printable for long lines). */
function decoded(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16)));
}

beforeAll(async () => {
  api = await startTestApi();
  chat = await startChatReceiver();
  inbox = await startSmtpInbox();
  senders = createSenders({ smtp: { url: inbox.url, from: 'Quotient <quotient@acme.test>' } });
  settings = {
    consoleUrl: CONSOLE,
    email: true,
    slackBot: false,
    groups: parseGroups(
      `finance=slack:${chat.url}/slack/finance,teams:${chat.url}/teams/finance,email:finance@acme.test,email:ed@acme.test`,
    ),
  };
  activePolicyFor(api.store).setClock(() => now);
  await gql(
    api.keys.admin.key,
    `mutation($teams: [TeamInput!], $people: [PersonInput!]) { upsertDirectory(teams: $teams, people: $people) { __typename } }`,
    {
      teams: [{ team: 'platform', name: 'Platform', owner: 'ed@acme.test' }],
      people: [
        { person: 'ana@acme.test', team: 'platform', manager: 'bo@acme.test' },
        { person: 'di@acme.test', team: 'platform', manager: 'bo@acme.test' },
        { person: 'bo@acme.test', team: 'platform' },
        { person: 'ed@acme.test', team: 'platform' },
      ],
    },
  );
  await gql(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
}, 60_000);

afterAll(async () => {
  senders?.close();
  await chat?.close();
  await inbox?.close();
  await escalationEventsFor(api.store).close();
  await api?.stop();
});

describe('notifications', () => {
  it('keeps preferences: members set their own, governance anyone’s, addresses checked', async () => {
    // the test member key acts for ana@acme.test
    const other = await gql(api.keys.member.key, SET_PREFERENCE, {
      person: 'di@acme.test',
      channel: 'email',
    });
    expect(other.setNotificationPreference).toMatchObject({ __typename: 'Forbidden' });
    const bad = await gql(api.keys.governance.key, SET_PREFERENCE, {
      person: 'di@acme.test',
      channel: 'slack',
      address: 'not-a-url',
    });
    expect(JSON.stringify(bad)).toContain(
      'is not a Slack webhook URL, #channel, channel or user ID, or email address',
    );
    const own = await gql(api.keys.member.key, SET_PREFERENCE, { channel: 'email' });
    expect(own.setNotificationPreference).toMatchObject({
      person: 'ana@acme.test',
      channel: 'email',
    });
    await gql(api.keys.governance.key, SET_PREFERENCE, {
      person: 'di@acme.test',
      channel: 'slack',
      address: `${chat.url}/slack/di`,
    });
    await gql(api.keys.governance.key, SET_PREFERENCE, {
      person: 'bo@acme.test',
      channel: 'teams',
      address: `${chat.url}/teams/bo`,
    });
  });

  it('delivers a quota step to Slack, Teams and email with the right recipient and action', async () => {
    // ana 750k input tokens (75%, 2.25 USD); di 1.1M output tokens (110%, 16.50 USD):
    // the team spent 18.75 of 20 USD (93.75%)
    const rows = [
      {
        id: 'n-1',
        ts: '2026-10-05T10:00:00Z',
        person: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 750_000,
        outputTokens: 0,
      },
      {
        id: 'n-2',
        ts: '2026-10-05T10:00:00Z',
        person: 'di@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 0,
        outputTokens: 1_100_000,
      },
    ];
    await gql(
      api.keys.ingest.key,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { __typename } }',
      { rows },
    );
    // ana 70%; di 70% and 100%; the team's budget at 80%
    expect((await reevaluationFor(api.store).sweep()).created).toBe(4);
    chat.down.add('/teams/finance');
    const report = await notifyRound(api.store, settings, senders, { now, maxAttempts: 1 });
    expect(report).toMatchObject({ announced: 4, sent: 6, failed: 1, gaveUp: 1 });
    // ana: 1 email, di: 2 Slack messages, bo (approver): 1 Teams card, finance: Slack,
    // Teams (down) and email; ed, in finance and the team owner, one notice held for the digest
    expect(report.queued).toBe(8);

    const [anaMail] = mailTo('ana@acme.test');
    expect(mailTo('ana@acme.test')).toHaveLength(1);
    const anaText = decoded(anaMail.raw);
    expect(anaText).toContain('Subject: Your token quota reached 70%');
    expect(anaText).toContain('70% of your monthly tokens used: economy models suit routine work');
    expect(anaText).toMatch(/Content-Type: text\/plain/);
    expect(anaText).toMatch(/Content-Type: text\/html/);
    expect(anaText).toContain(`${CONSOLE}/?escalation=`);

    const di = chat.slack.filter((p) => p.path === '/slack/di');
    expect(di).toHaveLength(2);
    const approvalForDi = di.find((p) => JSON.stringify(p.body).includes('Request approval'));
    expect(approvalForDi?.body.text).toContain('approval by your manager');
    const button = (
      (approvalForDi?.body.blocks ?? []) as { type: string; elements?: { url: string }[] }[]
    ).find((b) => b.type === 'actions')?.elements?.[0];
    expect(button?.url).toMatch(new RegExp(`^${CONSOLE}/\\?escalation=\\d+$`));

    const toBo = chat.teams.filter((p) => p.path === '/teams/bo');
    expect(toBo).toHaveLength(1);
    const card = (toBo[0].body.attachments as { content: Record<string, unknown> }[])[0].content;
    expect(JSON.stringify(card.body)).toContain('di@acme.test needs your approval');
    expect(card.actions).toEqual([
      {
        type: 'Action.OpenUrl',
        title: 'Review and decide',
        url: expect.stringMatching(`^${CONSOLE}/`),
      },
    ]);

    expect(chat.slack.filter((p) => p.path === '/slack/finance')).toHaveLength(1);
    expect(mailTo('finance@acme.test')).toHaveLength(1);
    expect(decoded(mailTo('finance@acme.test')[0].raw)).toContain(
      'Budget each team of team platform reached 80%',
    );
    // ed is both in the finance group and the team owner: one notice, held for the digest
    expect(mailTo('ed@acme.test')).toHaveLength(0);
  });

  it('does not announce an escalation twice', async () => {
    const again = await notifyRound(api.store, settings, senders, { now });
    expect(again).toMatchObject({ announced: 0, queued: 0, sent: 0 });
  });

  it('lists a failed delivery and sends it again when re-driven', async () => {
    const failed = await gql(
      api.keys.admin.key,
      '{ notificationDeliveries(status: "failed") { id channel address lastError attempts } }',
    );
    const list = failed.notificationDeliveries as {
      id: string;
      address: string;
      lastError: string;
    }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      address: `${chat.url}/teams/finance`,
      lastError: 'HTTP 500 Internal Server Error',
    });
    const member = await api.gql(api.keys.member.key, '{ notificationDeliveries { id } }');
    expect(member.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');

    chat.down.delete('/teams/finance');
    const redriven = await gql(
      api.keys.admin.key,
      'mutation($ids: [String!]) { redriveDeliveries(ids: $ids) { notifications webhooks } }',
      { ids: [`n${list[0].id}`] },
    );
    expect(redriven.redriveDeliveries).toEqual({ notifications: 1, webhooks: 0 });
    const round = await notifyRound(api.store, settings, senders, { now });
    expect(round).toMatchObject({ sent: 1, failed: 0 });
    expect(chat.teams.filter((p) => p.path === '/teams/finance')).toHaveLength(1);
  });

  it('sends the daily digest once a day, with what was held', async () => {
    const early = await digestRound(api.store, settings, new Date('2026-10-20T07:59:00Z'), 8);
    expect(early).toBeNull();
    expect(await digestRound(api.store, settings, now, 8)).toEqual({ digests: 1 });
    expect(await digestRound(api.store, settings, now, 8)).toBeNull();
    await notifyRound(api.store, settings, senders, { now });
    const ed = mailTo('ed@acme.test');
    expect(ed).toHaveLength(1);
    const text = decoded(ed[0].raw);
    expect(text).toContain('Subject: Quotient daily digest for 2026-10-20: 1 notice');
    expect(text).toContain('Budget each team of team platform reached 80%');
  });
});
