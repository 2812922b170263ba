// Escalation records with their outbox rows (one statement, so one transaction).

import type { EscalationDraft } from '../engine/escalations.ts';
import { reportEscalationsOpened } from '../engine/telemetry.ts';
import { approvableBySql, SUBJECT_MANAGER_COLUMN } from './approvers.ts';
import { isoText, type Queryable } from './sql-text.ts';

export type EscalationStatus =
  | 'open'
  | 'acknowledged'
  | 'justified'
  | 'approved'
  | 'denied'
  | 'resolved';

export type EscalationRow = {
  id: string;
  key: string;
  source: 'ladder' | 'rule';
  ladder: string | null;
  rule: string | null;
  of: string | null;
  trigger: string | null;
  threshold: number | null;
  action: EscalationDraft['action'];
  severity: string | null;
  subjectKind: 'person' | 'team' | 'org';
  subjectId: string;
  periodStart: string;
  periodEnd: string;
  policyVersion: string | null;
  policyHash: string;
  facts: Record<string, unknown>;
  status: EscalationStatus;
  justification: string | null;
  acknowledgedBy: string | null;
  /** who approved or denied an approval step (person id or key id); null when an exception decision settled it */
  decidedBy: string | null;
  decidedAt: string | null;
  /** the decider's reason */
  decisionNote: string | null;
  createdAt: string;
  updatedAt: string;
  /** the subject's manager (person subjects), who sees the step named when it is theirs to decide */
  subjectManager: string | null;
};

const ESCALATION_COLUMNS = `id::text, key, source, ladder, rule, of, trigger, threshold::float8 as threshold,
  action, severity, subject_kind as "subjectKind", subject_id as "subjectId",
  ${isoText('period_start')} as "periodStart", ${isoText('period_end')} as "periodEnd",
  policy_version as "policyVersion", policy_hash as "policyHash", facts, status, justification,
  acknowledged_by as "acknowledgedBy", decided_by as "decidedBy",
  ${isoText('decided_at')} as "decidedAt",
  decision_note as "decisionNote", ${isoText('created_at')} as "createdAt",
  ${isoText('updated_at')} as "updatedAt", ${SUBJECT_MANAGER_COLUMN}`;

/** Who each audience is for one escalation: person id, manager, team owner … */
export type Recipients = Record<string, string | null>;

export type EscalationToRecord = EscalationDraft & {
  audiences: string[];
  recipients: Recipients;
};

/**
 * Inserts escalations that do not exist yet (by key) and, in the same statement, one outbox
 * row per matching webhook (its audience, or `all`). Returns only the rows created now, so
 * a repeated sweep creates nothing and notifies nobody twice.
 */
export async function recordEscalations(
  db: Queryable,
  drafts: readonly EscalationToRecord[],
  now: Date,
): Promise<EscalationRow[]> {
  // Re-evaluating after every ingest batch finds the same crossed steps again and again;
  // keys already stored are skipped here instead of being sent and ignored by the database.
  const stored = storedKeysFor(db);
  const fresh = drafts.filter((d) => !stored.has(d.key));
  if (fresh.length === 0) return [];
  const rows = await insertEscalations(db, fresh, now);
  if (stored.size + fresh.length > MAX_STORED_KEYS) stored.clear();
  for (const d of fresh) stored.add(d.key);
  reportEscalationsOpened(rows.map(stepOf));
  return rows;
}

/** The step that opened an escalation, named as in /metrics: "quota at 70%", "rule leakage". */
function stepOf(row: EscalationRow): { step: string; action: string } {
  const step =
    row.source === 'ladder'
      ? `${row.ladder} ${row.trigger ?? 'at'} ${row.threshold}%`
      : `rule ${row.rule}`;
  return { step, action: row.action.kind };
}

/**
 * Escalation keys known to be stored, per database handle. Escalations are never deleted,
 * and each insert is its own committed statement, so a key seen once stays true.
 */
const storedKeys = new WeakMap<Queryable, Set<string>>();
const MAX_STORED_KEYS = 200_000;

function storedKeysFor(db: Queryable): Set<string> {
  let keys = storedKeys.get(db);
  if (!keys) {
    keys = new Set();
    storedKeys.set(db, keys);
  }
  return keys;
}

async function insertEscalations(
  db: Queryable,
  drafts: readonly EscalationToRecord[],
  now: Date,
): Promise<EscalationRow[]> {
  const input = [...drafts]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((d) => ({
      key: d.key,
      source: d.source,
      ladder: d.ladder,
      rule: d.rule,
      of: d.of,
      trigger: d.trigger,
      threshold: d.threshold,
      action: d.action,
      severity: d.severity,
      subject_kind: d.subject.kind,
      subject_id: d.subject.id,
      period_start: d.periodStart,
      period_end: d.periodEnd,
      policy_version: d.policyVersion,
      policy_hash: d.policyHash,
      facts: d.facts,
      audiences: d.audiences,
      recipients: d.recipients,
    }));
  return db.query<EscalationRow>(
    `with input as (
       select * from jsonb_to_recordset($1::jsonb) as t(
         key text, source text, ladder text, rule text, of text, trigger text, threshold numeric,
         action jsonb, severity text, subject_kind text, subject_id text, period_start timestamptz,
         period_end timestamptz, policy_version text, policy_hash text, facts jsonb,
         audiences text[], recipients jsonb)
     ),
     inserted as (
       insert into escalations (key, source, ladder, rule, of, trigger, threshold, action, severity,
                                subject_kind, subject_id, period_start, period_end, policy_version,
                                policy_hash, facts, created_at, updated_at)
       select key, source, ladder, rule, of, trigger, threshold, action, severity, subject_kind,
              subject_id, period_start, period_end, policy_version, policy_hash, facts, $2, $2
         from input order by key
       on conflict (key) do nothing
       returning *
     ),
     queued as (
       insert into outbox (webhook_id, event_type, payload, idempotency_key, next_attempt_at)
       select w.id, 'escalation.raised',
              jsonb_build_object(
                'type', 'escalation.raised',
                'audience', w.audience,
                'recipient', i.recipients -> w.audience,
                'escalation', jsonb_build_object(
                  'id', e.id::text, 'key', e.key, 'source', e.source, 'ladder', e.ladder,
                  'rule', e.rule, 'of', e.of, 'trigger', e.trigger, 'threshold', e.threshold,
                  'action', e.action, 'severity', e.severity,
                  'subject', jsonb_build_object('kind', e.subject_kind, 'id', e.subject_id),
                  'periodStart', e.period_start, 'periodEnd', e.period_end,
                  'policyVersion', e.policy_version, 'policyHash', e.policy_hash,
                  'facts', e.facts, 'status', e.status, 'createdAt', e.created_at)),
              'escalation:' || e.key || '|webhook:' || w.id, $2
         from inserted e
         join input i on i.key = e.key
         join webhooks w on w.audience = 'all' or w.audience = any (i.audiences)
        order by e.key, w.id
       on conflict (idempotency_key) do nothing
     )
     select ${ESCALATION_COLUMNS} from inserted order by key`,
    [JSON.stringify(input), now.toISOString()],
  );
}

export type EscalationFilter = {
  status?: string[] | null;
  subjectKind?: string | null;
  subjectId?: string | null;
  ladder?: string | null;
  rule?: string | null;
  /** only escalations of these people (a member sees their own) */
  people?: string[] | null;
  /** open approval steps this person may decide as the subject's manager or team owner */
  approvableBy?: string | null;
  /** only steps of this action kind (`require_approval` …) */
  actionKind?: string | null;
  /** only approval steps this person or key approved or denied */
  decidedBy?: string | null;
};

function escalationWhere(filter: EscalationFilter, params: unknown[]): string {
  const where: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.status?.length) add('status = any (?::text[])', filter.status);
  if (filter.subjectKind) add('subject_kind = ?', filter.subjectKind);
  if (filter.subjectId) add('subject_id = ?', filter.subjectId);
  if (filter.ladder) add('ladder = ?', filter.ladder);
  if (filter.rule) add('rule = ?', filter.rule);
  if (filter.people) add("subject_kind = 'person' and subject_id = any (?::text[])", filter.people);
  if (filter.actionKind) add("action ->> 'kind' = ?", filter.actionKind);
  if (filter.decidedBy) add('decided_by = ?', filter.decidedBy);
  if (filter.approvableBy) {
    params.push(filter.approvableBy);
    where.push(
      `status = 'open' and action ->> 'kind' = 'require_approval' and ${approvableBySql("action ->> 'approver'", `$${params.length}`)}`,
    );
  }
  return where.length ? `where ${where.join(' and ')}` : '';
}

/** Newest first, keyset-paged by id. */
export async function listEscalations(
  db: Queryable,
  filter: EscalationFilter,
  page: { beforeId?: string | null; limit: number },
): Promise<EscalationRow[]> {
  const params: unknown[] = [];
  let where = escalationWhere(filter, params);
  if (page.beforeId) {
    params.push(page.beforeId);
    where += `${where ? ' and' : 'where'} id < $${params.length}::bigint`;
  }
  params.push(page.limit);
  return db.query<EscalationRow>(
    `select ${ESCALATION_COLUMNS} from escalations ${where} order by escalations.id desc limit $${params.length}`,
    params,
  );
}

export async function getEscalation(db: Queryable, id: string): Promise<EscalationRow | null> {
  if (!/^\d+$/.test(id)) return null;
  const rows = await db.query<EscalationRow>(
    `select ${ESCALATION_COLUMNS} from escalations where id = $1::bigint`,
    [id],
  );
  return rows[0] ?? null;
}

/** Records a justification or acknowledgement; justified when the step asked for one. */
export async function acknowledgeEscalation(
  db: Queryable,
  id: string,
  justification: string | null,
  by: string | null,
  now: Date,
): Promise<EscalationRow | null> {
  const rows = await db.query<EscalationRow>(
    `update escalations set
       status = case when $2::text is not null and action ->> 'kind' = 'require_justification'
                     then 'justified' else 'acknowledged' end,
       justification = coalesce($2::text, justification), acknowledged_by = $3, updated_at = $4
     where id = $1::bigint and status in ('open', 'acknowledged')
     returning ${ESCALATION_COLUMNS}`,
    [id, justification, by, now.toISOString()],
  );
  return rows[0] ?? null;
}

/** Open quota-approval escalations of a subject in periods still running take the decision. */
export async function settleApprovalEscalations(
  db: Queryable,
  subjectId: string,
  approved: boolean,
  now: Date,
): Promise<number> {
  const rows = await db.query(
    `update escalations set status = $2, updated_at = $3, decided_at = $3
      where subject_kind = 'person' and subject_id = $1 and status in ('open', 'acknowledged')
        and action ->> 'kind' = 'require_approval' and period_end > $3::timestamptz
      returning id`,
    [subjectId, approved ? 'approved' : 'denied', now.toISOString()],
  );
  return rows.length;
}

/** Escalations of periods that have ended and were never settled become resolved. */
export async function resolveEndedEscalations(db: Queryable, now: Date): Promise<number> {
  const rows = await db.query(
    `update escalations set status = 'resolved', updated_at = $1
      where status in ('open', 'acknowledged') and period_end <= $1::timestamptz returning id`,
    [now.toISOString()],
  );
  return rows.length;
}

/** Approves or denies an open `require approval` escalation; null when it is not open. */
export async function decideEscalation(
  db: Queryable,
  id: string,
  approve: boolean,
  note: string | null,
  by: string | null,
  now: Date,
): Promise<EscalationRow | null> {
  const rows = await db.query<EscalationRow>(
    `update escalations set status = $2, decision_note = $3::text, decided_by = $4,
            decided_at = $5, updated_at = $5
      where id = $1::bigint and status in ('open', 'acknowledged')
        and action ->> 'kind' = 'require_approval'
      returning ${ESCALATION_COLUMNS}`,
    [id, approve ? 'approved' : 'denied', note, by, now.toISOString()],
  );
  return rows[0] ?? null;
}
