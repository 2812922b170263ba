// Notifications to people: the escalations still to announce (with the directory relations
// that name their recipients), per-person preferences, the notification queue with its
// claims and retries, held notices for digests, and re-driving failures.
import type { IrAction } from '../policy/ir.ts';
import type { Store } from './db.ts';
import { isoText, type Queryable } from './sql-text.ts';

export type EscalationToNotify = {
  id: string;
  key: string;
  source: 'ladder' | 'rule';
  ladder: string | null;
  rule: string | null;
  of: string | null;
  trigger: string | null;
  threshold: number | null;
  action: IrAction;
  severity: string | null;
  subjectKind: 'person' | 'team' | 'org';
  subjectId: string;
  periodStart: string;
  periodEnd: string;
  facts: Record<string, unknown>;
  /** the subject person's manager */
  manager: string | null;
  /** the owner of the subject team, or of the subject person's team */
  teamOwner: string | null;
};

/** Locks up to `limit` unannounced escalations for this transaction (others skip them). */
export async function claimUnnotifiedEscalations(
  db: Queryable,
  limit: number,
): Promise<EscalationToNotify[]> {
  return db.query<EscalationToNotify>(
    `select e.id::text, e.key, e.source, e.ladder, e.rule, e.of, e.trigger,
            e.threshold::float8 as threshold, e.action, e.severity,
            e.subject_kind as "subjectKind", e.subject_id as "subjectId",
            ${isoText('e.period_start')} as "periodStart", ${isoText('e.period_end')} as "periodEnd",
            e.facts, p.manager_id as manager, t.owner as "teamOwner"
       from escalations e
       left join people p on e.subject_kind = 'person' and p.id = e.subject_id
       left join teams t on t.id = case when e.subject_kind = 'team' then e.subject_id else p.team_id end
      where e.notified_at is null
      order by e.id
      limit $1
      for update of e skip locked`,
    [limit],
  );
}

export async function markNotified(db: Queryable, ids: string[], now: Date): Promise<void> {
  await db.query('update escalations set notified_at = $2 where id = any ($1::bigint[])', [
    ids,
    now.toISOString(),
  ]);
}

export type PreferenceRow = {
  channel: 'email' | 'slack' | 'teams' | 'none';
  address: string | null;
  mode: 'immediate' | 'digest';
};

export async function readPreferences(
  db: Queryable,
  people: string[],
): Promise<Map<string, PreferenceRow>> {
  if (people.length === 0) return new Map();
  const rows = await db.query<PreferenceRow & { person: string }>(
    `select person_id as person, channel, address, mode from notification_preferences
      where person_id = any ($1::text[])`,
    [people],
  );
  return new Map(rows.map(({ person, ...rest }) => [person, rest]));
}

export async function setPreference(
  db: Queryable,
  person: string,
  preference: PreferenceRow,
): Promise<void> {
  await db.query(
    `insert into notification_preferences (person_id, channel, address, mode) values ($1, $2, $3, $4)
     on conflict (person_id) do update set channel = excluded.channel, address = excluded.address,
       mode = excluded.mode, updated_at = now()`,
    [person, preference.channel, preference.address, preference.mode],
  );
}

export type NewNotification = {
  escalationId: string | null;
  recipient: string;
  role: string;
  channel: string;
  address: string;
  held: boolean;
  dedupKey: string;
  message: unknown;
};

/** Inserts notifications; one already queued under the same dedup key is left alone. */
export async function insertNotifications(
  db: Queryable,
  rows: NewNotification[],
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await db.query(
    `insert into notifications (escalation_id, recipient, role, channel, address, dedup_key, status,
                                message, next_attempt_at, created_at)
     select (r ->> 'escalationId')::bigint, r ->> 'recipient', r ->> 'role', r ->> 'channel',
            r ->> 'address', r ->> 'dedupKey',
            case when (r ->> 'held')::boolean then 'held' else 'pending' end,
            r -> 'message', case when (r ->> 'held')::boolean then null else $2::timestamptz end, $2
       from jsonb_array_elements($1::jsonb) as r
     on conflict (dedup_key) do nothing
     returning id`,
    [JSON.stringify(rows), now.toISOString()],
  );
  return inserted.length;
}

export type NotificationRow = {
  id: string;
  escalationId: string | null;
  recipient: string;
  role: string;
  channel: 'email' | 'slack' | 'teams';
  address: string;
  status: string;
  message: Record<string, unknown>;
  attempts: number;
  nextAttemptAt: string | null;
  sentAt: string | null;
  lastError: string | null;
  createdAt: string;
};

const columns = (t: string) => `${t}.id::text, ${t}.escalation_id::text as "escalationId",
  ${t}.recipient, ${t}.role, ${t}.channel, ${t}.address, ${t}.status, ${t}.message, ${t}.attempts,
  ${isoText(`${t}.next_attempt_at`)} as "nextAttemptAt", ${isoText(`${t}.sent_at`)} as "sentAt",
  ${t}.last_error as "lastError", ${isoText(`${t}.created_at`)} as "createdAt"`;

/** Claims due notifications, reserving each for `leaseMs` (as the webhook outbox does). */
export async function claimNotifications(
  db: Queryable,
  now: Date,
  limit: number,
  leaseMs: number,
): Promise<NotificationRow[]> {
  return db.query<NotificationRow>(
    `with due as (
       select id from notifications
        where status = 'pending' and next_attempt_at <= $1
        order by next_attempt_at, id
        limit $2
        for update skip locked
     )
     update notifications n set attempts = n.attempts + 1,
            next_attempt_at = $1::timestamptz + make_interval(secs => $3::float8 / 1000)
       from due where n.id = due.id
     returning ${columns('n')}`,
    [now.toISOString(), limit, leaseMs],
  );
}

export async function markNotificationSent(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query(
    `update notifications set status = 'sent', sent_at = $2, last_error = null, next_attempt_at = null
      where id = $1::bigint`,
    [id, now.toISOString()],
  );
}

/** A failed attempt: retried at `retryAt`, or given up (status failed) when it is null. */
export async function markNotificationFailed(
  db: Queryable,
  id: string,
  error: string,
  retryAt: Date | null,
): Promise<void> {
  await db.query(
    `update notifications set last_error = $2, next_attempt_at = $3,
            status = case when $3::timestamptz is null then 'failed' else 'pending' end
      where id = $1::bigint`,
    [id, error, retryAt?.toISOString() ?? null],
  );
}

export async function listNotifications(
  db: Queryable,
  filter: { status?: string | null; limit?: number },
): Promise<NotificationRow[]> {
  return db.query<NotificationRow>(
    `select ${columns('n')} from notifications n
      where ($1::text is null or status = $1)
      order by n.id desc limit $2`,
    [filter.status ?? null, filter.limit ?? 100],
  );
}

/**
 * Sends given-up deliveries again at `now`: notifications (status failed) and webhook
 * outbox rows (no next attempt, not delivered). `ids` limits it to those ids (webhook ids
 * prefixed `w`, notification ids `n`); none means every failure. Returns the rows re-queued.
 */
export async function redriveFailed(
  db: Queryable,
  now: Date,
  ids: string[] | null,
): Promise<{ notifications: number; webhooks: number }> {
  const pick = (prefix: string) =>
    ids === null ? null : ids.filter((i) => i.startsWith(prefix)).map((i) => i.slice(1));
  const notes = pick('n');
  const hooks = pick('w');
  const n = await db.query(
    `update notifications set status = 'pending', attempts = 0, next_attempt_at = $1
      where status = 'failed' and ($2::bigint[] is null or id = any ($2::bigint[])) returning id`,
    [now.toISOString(), notes],
  );
  const w = await db.query(
    `update outbox set attempts = 0, next_attempt_at = $1
      where delivered_at is null and next_attempt_at is null
        and ($2::bigint[] is null or id = any ($2::bigint[])) returning id`,
    [now.toISOString(), hooks],
  );
  return { notifications: n.length, webhooks: w.length };
}

/**
 * Moves every held notice into one digest per (channel, address): the digest is queued
 * for delivery now and the notices it lists are marked digested, in one transaction.
 */
export async function takeHeldNotifications(
  store: Store,
  now: Date,
  compose: (held: never[]) => unknown,
): Promise<number> {
  return store.transaction(async (client) => {
    const held = (
      await client.query<{
        id: string;
        channel: string;
        address: string;
        recipient: string;
        message: unknown;
      }>(
        `select id::text, channel, address, recipient, message from notifications
          where status = 'held' order by channel, address, id for update skip locked`,
      )
    ).rows;
    const groups = new Map<string, typeof held>();
    for (const row of held) {
      const key = `${row.channel}\u0000${row.address}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    const digests: NewNotification[] = [...groups.values()].map((rows) => ({
      escalationId: null,
      recipient: rows[0].recipient,
      role: 'digest',
      channel: rows[0].channel,
      address: rows[0].address,
      held: false,
      dedupKey: `digest:${rows[0].channel}:${rows[0].address.toLowerCase()}|${rows.map((r) => r.id).join(',')}`,
      message: compose(rows.map((r) => r.message) as never[]),
    }));
    const db = {
      query: async (text: string, params?: unknown[]) => (await client.query(text, params)).rows,
    };
    await insertNotifications(db as never, digests, now);
    await client.query(
      `update notifications set status = 'digested' where id = any ($1::bigint[])`,
      [held.map((r) => r.id)],
    );
    return digests.length;
  });
}

/**
 * Claims today's digest run: true for exactly one caller per day, once `now` has passed
 * the day's digest time (`dueAt`). Uses the job_leases row `name` to remember the last run.
 */
export async function claimDailyRun(
  db: Queryable,
  name: string,
  now: Date,
  dueAt: Date,
): Promise<boolean> {
  if (now < dueAt) return false;
  await db.query('insert into job_leases (name) values ($1) on conflict (name) do nothing', [name]);
  const rows = await db.query(
    `update job_leases set last_run_at = $2
      where name = $1 and (last_run_at is null or last_run_at < $3) returning name`,
    [name, now.toISOString(), dueAt.toISOString()],
  );
  return rows.length === 1;
}
