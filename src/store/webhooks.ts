// Webhook endpoints and the outbox worker's claims.
import { isoText, type Queryable } from './sql-text.ts';

export type WebhookRow = {
  id: string;
  audience: string;
  url: string;
  secret: string;
  createdAt: string;
};

export async function addWebhook(
  db: Queryable,
  audience: string,
  url: string,
  secret: string,
): Promise<WebhookRow> {
  const rows = await db.query<WebhookRow>(
    `insert into webhooks (audience, url, secret) values ($1, $2, $3)
     on conflict (audience, url) do update set secret = excluded.secret
     returning id::text, audience, url, secret, ${isoText('created_at')} as "createdAt"`,
    [audience, url, secret],
  );
  return rows[0];
}

export async function listWebhooks(db: Queryable): Promise<WebhookRow[]> {
  return db.query<WebhookRow>(
    `select id::text, audience, url, secret, ${isoText('created_at')} as "createdAt"
       from webhooks order by id`,
  );
}

export async function removeWebhook(db: Queryable, idOrUrl: string): Promise<number> {
  const rows = await db.query(
    `delete from webhooks where (id::text = $1 or url = $1) returning id`,
    [idOrUrl],
  );
  return rows.length;
}

export type OutboxRow = {
  id: string;
  webhookId: string;
  url: string;
  audience: string;
  secret: string;
  eventType: string;
  payload: Record<string, unknown>;
  idempotencyKey: string;
  attempts: number;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: string;
};

const OUTBOX_COLUMNS = `o.id::text, o.webhook_id::text as "webhookId", w.url, w.audience, w.secret,
  o.event_type as "eventType", o.payload, o.idempotency_key as "idempotencyKey", o.attempts,
  ${isoText('o.next_attempt_at')} as "nextAttemptAt", ${isoText('o.delivered_at')} as "deliveredAt",
  o.last_error as "lastError", o.last_status as "lastStatus", ${isoText('o.created_at')} as "createdAt"`;

/**
 * Claims due deliveries: each claimed row's next attempt moves `leaseMs` ahead, so another
 * worker skips it while this one delivers (SKIP LOCKED keeps concurrent claims apart). A
 * worker that dies mid-delivery leaves the row to be retried when the lease runs out.
 */
export async function claimDeliveries(
  db: Queryable,
  now: Date,
  limit: number,
  leaseMs: number,
): Promise<OutboxRow[]> {
  return db.query<OutboxRow>(
    `with due as (
       select id from outbox
        where delivered_at is null and next_attempt_at <= $1::timestamptz
        order by next_attempt_at, id limit $2 for update skip locked
     ),
     claimed as (
       update outbox o set attempts = o.attempts + 1,
              next_attempt_at = $1::timestamptz + make_interval(secs => $3::float8 / 1000)
         from due where o.id = due.id returning o.*
     )
     select ${OUTBOX_COLUMNS} from claimed o join webhooks w on w.id = o.webhook_id order by o.id`,
    [now.toISOString(), limit, leaseMs],
  );
}

export async function markDelivered(
  db: Queryable,
  id: string,
  status: number,
  now: Date,
): Promise<void> {
  await db.query(
    'update outbox set delivered_at = $2, last_status = $3, last_error = null where id = $1::bigint',
    [id, now.toISOString(), status],
  );
}

/** Records a failed attempt; `retryAt` null gives up (the row stays visible as failed). */
export async function markFailed(
  db: Queryable,
  id: string,
  error: string,
  status: number | null,
  retryAt: Date | null,
): Promise<void> {
  await db.query(
    'update outbox set last_error = $2, last_status = $3, next_attempt_at = $4 where id = $1::bigint',
    [id, error.slice(0, 1000), status, retryAt?.toISOString() ?? null],
  );
}

export type DeliveryFilter = {
  /** only rows whose last attempt failed (pending retry or given up) */
  failed?: boolean | null;
  delivered?: boolean | null;
  webhookId?: string | null;
};

export async function listDeliveries(
  db: Queryable,
  filter: DeliveryFilter,
  page: { beforeId?: string | null; limit: number },
): Promise<OutboxRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (filter.failed === true) where.push('o.delivered_at is null and o.last_error is not null');
  if (filter.failed === false) where.push('o.last_error is null');
  if (filter.delivered === true) where.push('o.delivered_at is not null');
  if (filter.delivered === false) where.push('o.delivered_at is null');
  if (filter.webhookId) {
    params.push(filter.webhookId);
    where.push(`o.webhook_id = $${params.length}::bigint`);
  }
  if (page.beforeId) {
    params.push(page.beforeId);
    where.push(`o.id < $${params.length}::bigint`);
  }
  params.push(page.limit);
  return db.query<OutboxRow>(
    `select ${OUTBOX_COLUMNS} from outbox o join webhooks w on w.id = o.webhook_id
      ${where.length ? `where ${where.join(' and ')}` : ''} order by o.id desc limit $${params.length}`,
    params,
  );
}
