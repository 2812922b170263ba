// Delivery of queued notifications to their channels (src/notify/): claimed with SKIP
// LOCKED, sent in parallel, retried with backoff and jitter, given up after maxAttempts
// (then listed as failed and re-drivable). The daily digest job gathers held notices.
import { fanOutBadges } from '../app/badge-announcements.ts';
import type { Message, NotificationSettings } from '../app/notifications.ts';
import { collectDigests, fanOut } from '../app/notifications.ts';
import { reportDelivery } from '../engine/telemetry.ts';
import type { Senders } from '../notify/index.ts';
import type { Store } from '../store/db.ts';
import {
  claimDailyRun,
  claimNotifications,
  markNotificationFailed,
  markNotificationSent,
} from '../store/notifications.ts';
import { backoffMs } from './webhooks.ts';

export type NotificationDeliveryOptions = {
  now: Date;
  limit?: number;
  leaseMs?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
};

export type NotificationReport = {
  announced: number;
  queued: number;
  sent: number;
  failed: number;
  gaveUp: number;
};

/** One round: announce new escalations and badge awards, then send what is due. */
export async function notifyRound(
  store: Store,
  settings: NotificationSettings,
  senders: Senders,
  options: NotificationDeliveryOptions,
): Promise<NotificationReport> {
  const { now } = options;
  const fanned = await fanOut(store, settings, now);
  const badges = await fanOutBadges(store, settings, now);
  const report: NotificationReport = {
    announced: fanned.escalations + badges.awards,
    queued: fanned.notifications + badges.notifications,
    sent: 0,
    failed: 0,
    gaveUp: 0,
  };
  const rows = await claimNotifications(store, now, options.limit ?? 50, options.leaseMs ?? 30_000);
  const outcomes = await Promise.all(
    rows.map((row) => senders.send(row.channel, row.address, row.message as Message)),
  );
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const outcome = outcomes[i];
    if (outcome.error === null) {
      await markNotificationSent(store, row.id, now);
      report.sent++;
      reportDelivery({ channel: row.channel, outcome: 'delivered' });
      continue;
    }
    const giveUp = row.attempts >= (options.maxAttempts ?? 15);
    report.failed++;
    if (giveUp) report.gaveUp++;
    reportDelivery({ channel: row.channel, outcome: giveUp ? 'gave_up' : 'failed' });
    const retryAt = giveUp
      ? null
      : new Date(
          now.getTime() +
            backoffMs(row.attempts, options.baseDelayMs, options.maxDelayMs, options.random),
        );
    await markNotificationFailed(store, row.id, outcome.error, retryAt);
  }
  return report;
}

export const DIGEST_JOB = 'notification-digest';

/** The day's digest time: `hourUtc` o'clock UTC of `now`'s date. */
export function digestTime(now: Date, hourUtc: number): Date {
  const at = new Date(now);
  at.setUTCHours(hourUtc, 0, 0, 0);
  return at;
}

/** Sends the daily digests once a day, on whichever instance gets there first. */
export async function digestRound(
  store: Store,
  settings: NotificationSettings,
  now: Date,
  hourUtc: number,
): Promise<{ digests: number } | null> {
  if (!(await claimDailyRun(store, DIGEST_JOB, now, digestTime(now, hourUtc)))) return null;
  return { digests: await collectDigests(store, settings, now) };
}
