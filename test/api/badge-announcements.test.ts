// Badge announcements end to end on a real database: the sweep records a newly earned badge
// once per person and window, the notification round emails it through a local SMTP server,
// a second sweep announces nothing, the next window announces it again, and people who
// have not opted in or sit in a restricted team hear nothing. The clock is injected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyRound } from '../../src/api/notification-delivery.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import type { NotificationSettings } from '../../src/app/notifications.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { createSenders, type Senders } from '../../src/notify/index.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { type ReceivedMail, startSmtpInbox } from '../support/chat-receivers.ts';
import { startTestApi, type TestApi, usageLine } from './support.ts';

const POLICY = `policy "recognition" version "1"
currency USD
timezone "UTC"
class standard "S"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
tier t "T" { limit 10M tokens per month }
assign t otherwise
badge busy "Busy month" {
  window month
  when tokens >= 1k
}
`;

const CONSOLE = 'https://quotient.acme.test';
let clock = new Date('2026-10-20T12:00:00Z');
let api: TestApi;
let inbox: Awaited<ReturnType<typeof startSmtpInbox>>;
let senders: Senders;
const settings: NotificationSettings = {
  consoleUrl: CONSOLE,
  email: true,
  slackBot: false,
  groups: {},
};

const usage = (id: string, person: string, ts: string) => usageLine(id, person, ts, 2_000);

function mailTo(address: string): ReceivedMail[] {
  return inbox.mail.filter((m) => m.to.includes(address));
}

/** The decoded text of a MIME message (nodemailer writes quoted-printable). */
function decoded(mail: ReceivedMail): string {
  return Buffer.from(
    mail.raw
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h) => `%${h}`)
      .replace(/%(?![0-9A-F]{2})/g, '%25'),
    'utf8',
  )
    .toString()
    .replace(/(%[0-9A-F]{2})+/g, (seq) => decodeURIComponent(seq));
}

beforeAll(async () => {
  api = await startTestApi();
  inbox = await startSmtpInbox();
  senders = createSenders({ smtp: { url: inbox.url, from: 'Quotient <quotient@acme.test>' } });
  activePolicyFor(api.store).setClock(() => clock);
  await publishPolicySource(api.store, { source: POLICY, activate: true });
  const people = [
    ['ana@acme.test', 'eng', true],
    ['bo@acme.test', 'eng', false],
    ['cy@acme.test', 'vault', true],
  ] as const;
  await ingestBatch(
    api.store,
    [
      { line: 1, data: { type: 'team', team: 'eng', sensitivity: 'normal' } },
      { line: 2, data: { type: 'team', team: 'vault', sensitivity: 'restricted' } },
      ...people.map(([person, team, opted_in], i) => ({
        line: i + 3,
        data: { type: 'person', person, team, opted_in },
      })),
      ...people.map(([person], i) => usage(`oct-${i}`, person, '2026-10-05T10:00:00Z')),
    ],
    { now: clock.getTime() },
  );
}, 120_000);

afterAll(async () => {
  senders?.close();
  await inbox?.close();
  await api?.stop();
});

describe('badge announcements', () => {
  it('announces a newly earned badge once, to the person, by email', async () => {
    const sweep = await reevaluationFor(api.store).sweep({ force: true });
    // bo has not opted in and cy's team is restricted: only ana's award is recorded
    expect(sweep.newBadges).toBe(1);
    const round = await notifyRound(api.store, settings, senders, { now: clock });
    expect(round).toMatchObject({ announced: 1, queued: 1, sent: 1, failed: 0 });
    expect(mailTo('ana@acme.test')).toHaveLength(1);
    const text = decoded(mailTo('ana@acme.test')[0]);
    expect(text).toContain('You earned the badge “Busy month”');
    expect(text).toContain('tokens (month): 2,000');
    expect(text).toContain('2026-10-01 to 2026-10-31');
    expect(mailTo('bo@acme.test')).toHaveLength(0);
    expect(mailTo('cy@acme.test')).toHaveLength(0);
  });

  it('announces nothing on a second sweep in the same window', async () => {
    await ingestBatch(api.store, [usage('oct-again', 'ana@acme.test', '2026-10-06T10:00:00Z')], {
      now: clock.getTime(),
    });
    const sweep = await reevaluationFor(api.store).sweep({ force: true });
    expect(sweep.newBadges).toBe(0);
    const round = await notifyRound(api.store, settings, senders, { now: clock });
    expect(round).toMatchObject({ announced: 0, queued: 0, sent: 0 });
    expect(mailTo('ana@acme.test')).toHaveLength(1);
  });

  it('announces the badge again when it is earned in the next window', async () => {
    clock = new Date('2026-11-10T12:00:00Z');
    const sweepBefore = await reevaluationFor(api.store).sweep({ force: true });
    // November has no usage yet: nothing earned
    expect(sweepBefore.newBadges).toBe(0);
    await ingestBatch(api.store, [usage('nov-0', 'ana@acme.test', '2026-11-09T10:00:00Z')], {
      now: clock.getTime(),
    });
    const sweep = await reevaluationFor(api.store).sweep({ force: true });
    expect(sweep.newBadges).toBe(1);
    const round = await notifyRound(api.store, settings, senders, { now: clock });
    expect(round).toMatchObject({ announced: 1, sent: 1 });
    expect(mailTo('ana@acme.test')).toHaveLength(2);
    expect(decoded(mailTo('ana@acme.test')[1])).toContain('2026-11-01 to 2026-11-30');
  });

  it('records no announcement for a person whose preference is none, and sends nothing', async () => {
    await api.store.query(
      `insert into notification_preferences (person_id, channel, address, mode)
       values ('ana@acme.test', 'none', null, 'immediate')`,
    );
    clock = new Date('2026-12-10T12:00:00Z');
    await ingestBatch(api.store, [usage('dec-0', 'ana@acme.test', '2026-12-09T10:00:00Z')], {
      now: clock.getTime(),
    });
    expect((await reevaluationFor(api.store).sweep({ force: true })).newBadges).toBe(1);
    const round = await notifyRound(api.store, settings, senders, { now: clock });
    expect(round).toMatchObject({ announced: 1, queued: 0, sent: 0 });
    expect(mailTo('ana@acme.test')).toHaveLength(2);
  });
});
