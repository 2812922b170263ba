// Operational figures read at scrape time for /metrics: queue depths and escalation counts.
// Each is one aggregate statement over an indexed or small table.
import type { Queryable } from './sql-text.ts';

export type QueueDepths = {
  /** outbox rows waiting for a (first or next) delivery attempt */
  outboxPending: number;
  /** outbox rows that gave up after their last attempt (visible, re-drivable) */
  outboxFailed: number;
  /** entries in the re-evaluation queue (people touched by ingest, not yet re-evaluated) */
  reevaluationQueue: number;
};

export async function readQueueDepths(db: Queryable): Promise<QueueDepths> {
  const [row] = await db.query<{ pending: string; failed: string; dirty: string }>(
    `select
       (select count(*) from outbox where delivered_at is null and next_attempt_at is not null)::text as pending,
       (select count(*) from outbox where delivered_at is null and next_attempt_at is null)::text as failed,
       (select count(*) from enforcement_dirty)::text as dirty`,
  );
  return {
    outboxPending: Number(row?.pending ?? 0),
    outboxFailed: Number(row?.failed ?? 0),
    reevaluationQueue: Number(row?.dirty ?? 0),
  };
}

export type EscalationCount = { step: string; action: string; status: string; count: number };

/**
 * Escalations of the current periods (period not yet ended) by step, action and status.
 * The step names the ladder step (`quota at 70%`) or the rule (`rule leakage`): the policy
 * bounds how many there are, so they make safe metric labels. No subject is read.
 */
export async function countEscalationsByStep(db: Queryable, now: Date): Promise<EscalationCount[]> {
  const rows = await db.query<{ step: string; action: string; status: string; n: string }>(
    `select case when source = 'ladder'
                 then ladder || ' ' || coalesce(trigger, 'at') || ' ' || trim_scale(threshold)::text || '%'
                 else 'rule ' || rule end as step,
            action ->> 'kind' as action, status, count(*)::text as n
       from escalations
      where period_end > $1
      group by 1, 2, 3
      order by 1, 2, 3`,
    [now.toISOString()],
  );
  return rows.map((r) => ({
    step: r.step,
    action: r.action,
    status: r.status,
    count: Number(r.n),
  }));
}
