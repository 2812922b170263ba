// Webhook delivery from the outbox: at-least-once, retried with exponential backoff and
// jitter, signed in the Standard Webhooks format (src/notify/webhook.ts) with the outbox
// row's id as the message id, so a receiver can drop repeats and a replayed capture fails
// verification. Delivery runs in the background: a receiver that is down only delays its
// own notifications, never ingest or quota decisions.
import { reportDelivery } from '../engine/telemetry.ts';
import { sendWebhook } from '../notify/webhook.ts';
import type { Store } from '../store/db.ts';
import { claimDeliveries, markDelivered, markFailed, type OutboxRow } from '../store/webhooks.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const EVENT_HEADER = 'x-quotient-event';

export type DeliveryOptions = {
  now: Date;
  /** rows claimed per round (default 50) */
  limit?: number;
  /** how long a claimed row is reserved for this worker (default 30 s) */
  leaseMs?: number;
  /** per-request timeout (default 5 s) */
  timeoutMs?: number;
  /** first retry delay; doubles per attempt up to maxDelayMs (default 1 s, 1 h) */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** attempts before giving up (default 15); the row stays listed as failed */
  maxAttempts?: number;
  /** a number in [0, 1) for the jitter (tests pass a fixed one) */
  random?: () => number;
};

export type DeliveryReport = {
  attempted: number;
  delivered: number;
  failed: number;
  gaveUp: number;
};

/**
 * Delay before attempt `attempts + 1`, after `attempts` failures: base × 2^(attempts-1),
 * capped, then scaled into [½, 1] of that by `random` ("equal jitter"), so receivers that
 * come back are not hit by every sender at the same instant.
 */
export function backoffMs(
  attempts: number,
  baseMs = 1_000,
  maxMs = 3_600_000,
  random: () => number = Math.random,
): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

/** The body sent for an outbox row: stable across retries. */
export function deliveryBody(row: OutboxRow): string {
  return JSON.stringify({ ...row.payload, idempotencyKey: row.idempotencyKey });
}

function post(row: OutboxRow, timeoutMs: number, at: Date) {
  return sendWebhook({
    url: row.url,
    secret: row.secret,
    messageId: `msg_${row.id}`,
    body: deliveryBody(row),
    at,
    extraHeaders: { [IDEMPOTENCY_HEADER]: row.idempotencyKey, [EVENT_HEADER]: row.eventType },
    timeoutMs,
  });
}

/** One round: claim due rows, post them in parallel, record each outcome. */
export async function deliverDue(store: Store, options: DeliveryOptions): Promise<DeliveryReport> {
  const report: DeliveryReport = { attempted: 0, delivered: 0, failed: 0, gaveUp: 0 };
  const rows = await claimDeliveries(
    store,
    options.now,
    options.limit ?? 50,
    options.leaseMs ?? 30_000,
  );
  report.attempted = rows.length;
  // signed at the real time of sending: a receiver checks the timestamp against its clock
  const outcomes = await Promise.all(
    rows.map((row) => post(row, options.timeoutMs ?? 5_000, new Date())),
  );
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const outcome = outcomes[i];
    if (outcome.error === null) {
      await markDelivered(store, row.id, outcome.status ?? 200, options.now);
      report.delivered++;
      reportDelivery({ channel: 'webhook', outcome: 'delivered' });
      continue;
    }
    report.failed++;
    // `attempts` already counts this one (the claim incremented it)
    const giveUp = row.attempts >= (options.maxAttempts ?? 15);
    if (giveUp) report.gaveUp++;
    reportDelivery({ channel: 'webhook', outcome: giveUp ? 'gave_up' : 'failed' });
    const retryAt = giveUp
      ? null
      : new Date(
          options.now.getTime() +
            backoffMs(row.attempts, options.baseDelayMs, options.maxDelayMs, options.random),
        );
    await markFailed(store, row.id, outcome.error, outcome.status, retryAt);
  }
  return report;
}
