// Webhook delivery from the outbox: at-least-once, retried with exponential backoff,
// signed with HMAC-SHA256 over the exact body, and carrying an idempotency key so a
// receiver can drop repeats. Delivery runs in the background: a receiver that is down
// only delays its own notifications, never ingest or quota decisions.
import { createHmac } from 'node:crypto';
import { reportDelivery } from '../engine/telemetry.ts';
import type { Store } from '../store/db.ts';
import { claimDeliveries, markDelivered, markFailed, type OutboxRow } from '../store/webhooks.ts';

export const SIGNATURE_HEADER = 'x-quotient-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const EVENT_HEADER = 'x-quotient-event';
export const DELIVERY_HEADER = 'x-quotient-delivery';

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
};

export type DeliveryReport = {
  attempted: number;
  delivered: number;
  failed: number;
  gaveUp: number;
};

/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the endpoint's secret. */
export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delay before attempt `attempts + 1`, after `attempts` failures: base × 2^(attempts-1), capped. */
export function backoffMs(attempts: number, baseMs = 1_000, maxMs = 3_600_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

/** The body sent for an outbox row: stable across retries, so its signature is too. */
export function deliveryBody(row: OutboxRow): string {
  return JSON.stringify({ ...row.payload, idempotencyKey: row.idempotencyKey });
}

async function post(
  row: OutboxRow,
  timeoutMs: number,
): Promise<{ status: number | null; error: string | null }> {
  const body = deliveryBody(row);
  try {
    const response = await fetch(row.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'quotient-webhooks/1',
        [SIGNATURE_HEADER]: sign(row.secret, body),
        [IDEMPOTENCY_HEADER]: row.idempotencyKey,
        [EVENT_HEADER]: row.eventType,
        [DELIVERY_HEADER]: row.id,
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { status: response.status, error: null };
    return { status: response.status, error: `HTTP ${response.status} ${response.statusText}` };
  } catch (error) {
    const e = error as {
      name?: string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    const why =
      e.name === 'TimeoutError'
        ? `timed out after ${timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
    return { status: null, error: why };
  }
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
  const outcomes = await Promise.all(rows.map((row) => post(row, options.timeoutMs ?? 5_000)));
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
          options.now.getTime() + backoffMs(row.attempts, options.baseDelayMs, options.maxDelayMs),
        );
    await markFailed(store, row.id, outcome.error, outcome.status, retryAt);
  }
  return report;
}
