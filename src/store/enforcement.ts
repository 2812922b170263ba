// Enforcement storage: the one-query quota snapshot, escalation records with their outbox
// rows (one statement, so one transaction), exceptions, webhook endpoints, the outbox
// worker's claims, job leases and the queue of people touched by ingest.
import { createHash } from 'node:crypto';
import type { EscalationDraft } from '../engine/escalations.ts';
import type { FactWindow } from '../engine/ports.ts';
import type { QuotaSnapshot } from '../engine/quota-check.ts';
import type { FactValues } from '../policy/evaluate/types.ts';
import type { Store } from './db.ts';

type Queryable = Pick<Store, 'query'>;

const iso = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Each fact as a sum over daily_rollups columns (tokens counts every kind of token). */
const ROLLUP_FACT: Record<string, string> = {
  tokens: 'input_tokens + output_tokens + cache_read_tokens + cache_write_tokens',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  cache_read_tokens: 'cache_read_tokens',
  cache_write_tokens: 'cache_write_tokens',
  cost: 'cost',
  requests: 'requests',
  tasks: 'tasks',
  accepted: 'accepted',
  rejected: 'rejected',
  reworked: 'reworked',
  completed: 'completed',
  minutes_saved: 'minutes_saved',
  redaction_failures: 'redaction_failures',
  sensitive_flags: 'sensitive_flags',
  policy_exceptions: 'policy_exceptions',
};

/** The same facts over raw usage events, for sub-day windows. */
const EVENT_FACT: Record<string, string> = {
  tokens: 'input_tokens + output_tokens + cache_read_tokens + cache_write_tokens',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  cache_read_tokens: 'cache_read_tokens',
  cache_write_tokens: 'cache_write_tokens',
  cost: 'coalesce(cost, 0)',
  requests: 'requests',
};

function lit(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** One person's quota snapshot (see readQuotaSnapshots). */
export async function readQuotaSnapshot(
  db: Queryable,
  personId: string,
  windows: readonly FactWindow[],
  now: Date,
): Promise<QuotaSnapshot> {
  return (await readQuotaSnapshots(db, [personId], windows, now))[0];
}

const statementNames = new Map<string, string>();

/** A stable prepared-statement name for a statement text (hashed once per text). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `quota_snapshot_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    if (statementNames.size > 256) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/** One person's row of the quota snapshot statement. */
type SnapshotRow = {
  policy_hash: string | null;
  person: Record<string, unknown> | null;
  team: Record<string, unknown> | null;
  rollups: Record<string, string | number>;
  spans: Record<string, FactValues> | null;
  exception_tokens: string;
  satisfied: { threshold: number; period_start: string }[] | null;
};

/**
 * Everything a quota answer needs for these people, in one statement: the active policy's
 * hash, each person and their team, their sums over the windows, approved token exceptions
 * and the quota steps already satisfied. One snapshot per entry of `personIds`, in order
 * (one statement sees one database snapshot, so every answer in a batch is as current as
 * the moment the statement started).
 */
export async function readQuotaSnapshots(
  db: Queryable,
  personIds: readonly string[],
  windows: readonly FactWindow[],
  now: Date,
): Promise<QuotaSnapshot[]> {
  const params: unknown[] = [personIds, now.toISOString()];
  const fields: string[] = [];
  let minFrom: string | null = null;
  let maxTo: string | null = null;
  const spans: string[] = [];
  for (const w of windows) {
    const env = w.environment ? ` and environment = ${lit(w.environment)}` : '';
    if (w.kind === 'days') {
      params.push(w.from, w.to);
      const from = `$${params.length - 1}::date`;
      const to = `$${params.length}::date`;
      if (minFrom === null || w.from < minFrom) minFrom = w.from;
      if (maxTo === null || w.to > maxTo) maxTo = w.to;
      for (const f of w.facts) {
        const expr =
          f === 'active_days'
            ? `count(distinct day) filter (where day >= ${from} and day < ${to} and requests > 0${env})`
            : `coalesce(sum(${ROLLUP_FACT[f] ?? '0'}) filter (where day >= ${from} and day < ${to}${env}), 0)`;
        fields.push(`${lit(`${w.key}|${f}`)}, ${expr}`);
      }
    } else {
      params.push(w.start.toISOString(), w.end.toISOString());
      const start = `$${params.length - 1}::timestamptz`;
      const end = `$${params.length}::timestamptz`;
      const sums = w.facts.map((f) => `${lit(f)}, coalesce(sum(${EVENT_FACT[f] ?? '0'}), 0)`);
      spans.push(
        `${lit(w.key)}, (select jsonb_build_object(${sums.join(', ') || "'_', 0"}) from usage_events
           where person_id = q.id and ts > ${start} and ts <= ${end}${env})`,
      );
    }
  }
  let rollups = "'{}'::jsonb";
  if (fields.length > 0) {
    params.push(minFrom, maxTo);
    // jsonb_build_object takes at most 100 arguments: build in chunks and merge
    const parts: string[] = [];
    for (let i = 0; i < fields.length; i += 50)
      parts.push(`jsonb_build_object(${fields.slice(i, i + 50).join(', ')})`);
    rollups = `(select ${parts.join(' || ')} from daily_rollups
       where person_id = q.id and day >= $${params.length - 1}::date and day < $${params.length}::date)`;
  }
  const text = `select
       (select hash from policy_versions where status = 'active' limit 1) as policy_hash,
       (select to_jsonb(p) from people p where p.id = q.id) as person,
       (select to_jsonb(t) from teams t where t.id = (select team_id from people where id = q.id)) as team,
       ${rollups} as rollups,
       ${spans.length ? `jsonb_build_object(${spans.join(', ')})` : 'null'} as spans,
       (select coalesce(sum(extra_tokens), 0) from exceptions
         where subject_id = q.id and subject_kind = 'person' and status = 'approved'
           and expires_at > $2::timestamptz and extra_tokens is not null) as exception_tokens,
       (select jsonb_agg(jsonb_build_object('threshold', threshold, 'period_start', ${iso('period_start')}))
          from escalations
         where subject_kind = 'person' and subject_id = q.id and ladder = 'quota'
           and status in ('justified', 'approved') and period_end > $2::timestamptz) as satisfied
     from unnest($1::text[]) with ordinality as q(id, n)
    order by q.n`;
  // a named statement is parsed once per connection and soon runs on a cached generic
  // plan: planning this statement costs more than executing it
  const rows =
    'pool' in db
      ? (
          await (db as Store).pool.query<SnapshotRow>({
            name: statementName(text),
            text,
            values: params,
          })
        ).rows
      : await db.query<SnapshotRow>(text, params);
  if (rows.length !== personIds.length)
    throw new Error(`quota snapshot: ${rows.length} rows for ${personIds.length} people`);
  return rows.map((row) => snapshotOf(row, windows));
}

function snapshotOf(row: SnapshotRow, windows: readonly FactWindow[]): QuotaSnapshot {
  const facts: QuotaSnapshot['facts'] = {};
  for (const w of windows) {
    const values: FactValues = {};
    for (const f of w.facts) {
      const raw = w.kind === 'days' ? row.rollups?.[`${w.key}|${f}`] : row.spans?.[w.key]?.[f];
      values[f] = raw === undefined || raw === null ? 0 : Number(raw);
    }
    facts[w.key] = values;
  }
  const p = row.person;
  const t = row.team;
  return {
    policyHash: row.policy_hash,
    person: p
      ? {
          id: String(p.id),
          name: (p.name as string | null) ?? null,
          team: (p.team_id as string | null) ?? null,
          role: (p.role as string | null) ?? null,
          manager: (p.manager_id as string | null) ?? null,
          optedIn: p.opted_in === true,
          fromDirectory: p.from_directory === true,
          attributes: (p.attributes as Record<string, unknown>) ?? {},
        }
      : null,
    team: t
      ? {
          id: String(t.id),
          name: String(t.name),
          parent: (t.parent_id as string | null) ?? null,
          costCenter: (t.cost_center as string | null) ?? null,
          sensitivity: String(t.sensitivity),
          owner: (t.owner as string | null) ?? null,
          fromDirectory: t.from_directory === true,
        }
      : null,
    facts,
    exceptionTokens: Number(row.exception_tokens),
    satisfied: (row.satisfied ?? []).map((s) => ({
      threshold: Number(s.threshold),
      periodStart: s.period_start,
    })),
  };
}

// ---------------------------------------------------------------------------------------
// Escalations
// ---------------------------------------------------------------------------------------

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
  createdAt: string;
  updatedAt: string;
};

const ESCALATION_COLUMNS = `id::text, key, source, ladder, rule, of, trigger, threshold::float8 as threshold,
  action, severity, subject_kind as "subjectKind", subject_id as "subjectId",
  ${iso('period_start')} as "periodStart", ${iso('period_end')} as "periodEnd",
  policy_version as "policyVersion", policy_hash as "policyHash", facts, status, justification,
  acknowledged_by as "acknowledgedBy", ${iso('created_at')} as "createdAt",
  ${iso('updated_at')} as "updatedAt"`;

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
  return rows;
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
    `select ${ESCALATION_COLUMNS} from escalations ${where} order by id desc limit $${params.length}`,
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
    `update escalations set status = $2, updated_at = $3
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

// ---------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------

export type ExceptionRow = {
  id: string;
  subjectKind: 'person' | 'team';
  subjectId: string;
  extraTokens: number | null;
  extraMoney: string | null;
  justification: string;
  expiresAt: string;
  status: 'requested' | 'approved' | 'denied' | 'expired';
  approver: string;
  requestedBy: string | null;
  decidedBy: string | null;
  note: string | null;
  createdAt: string;
  decidedAt: string | null;
  /** the subject's manager (person subjects), who may see and decide the request */
  subjectManager: string | null;
};

const EXCEPTION_COLUMNS = `id::text, subject_kind as "subjectKind", subject_id as "subjectId",
  extra_tokens::float8 as "extraTokens", extra_money::text as "extraMoney", justification,
  ${iso('expires_at')} as "expiresAt", status, approver, requested_by as "requestedBy",
  decided_by as "decidedBy", note, ${iso('created_at')} as "createdAt",
  ${iso('decided_at')} as "decidedAt",
  case when subject_kind = 'person'
       then (select p.manager_id from people p where p.id = subject_id) end as "subjectManager"`;

export async function createException(
  db: Queryable,
  input: {
    subjectKind: 'person' | 'team';
    subjectId: string;
    extraTokens: number | null;
    extraMoney: number | null;
    justification: string;
    expiresAt: Date;
    approver: string;
    requestedBy: string | null;
  },
  now: Date,
): Promise<ExceptionRow> {
  const rows = await db.query<ExceptionRow>(
    `insert into exceptions (subject_kind, subject_id, extra_tokens, extra_money, justification,
                             expires_at, approver, requested_by, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${EXCEPTION_COLUMNS}`,
    [
      input.subjectKind,
      input.subjectId,
      input.extraTokens,
      input.extraMoney === null ? null : String(input.extraMoney),
      input.justification,
      input.expiresAt.toISOString(),
      input.approver,
      input.requestedBy,
      now.toISOString(),
    ],
  );
  return rows[0];
}

export async function getException(db: Queryable, id: string): Promise<ExceptionRow | null> {
  if (!/^\d+$/.test(id)) return null;
  const rows = await db.query<ExceptionRow>(
    `select ${EXCEPTION_COLUMNS} from exceptions where id = $1::bigint`,
    [id],
  );
  return rows[0] ?? null;
}

/** Decides a requested exception; null when it was already decided (a race lost). */
export async function decideException(
  db: Queryable,
  id: string,
  approve: boolean,
  note: string | null,
  by: string | null,
  now: Date,
): Promise<ExceptionRow | null> {
  const rows = await db.query<ExceptionRow>(
    `update exceptions set status = $2, note = $3, decided_by = $4, decided_at = $5
      where id = $1::bigint and status = 'requested'
      returning ${EXCEPTION_COLUMNS}`,
    [id, approve ? 'approved' : 'denied', note, by, now.toISOString()],
  );
  return rows[0] ?? null;
}

export type ExceptionFilter = {
  status?: string[] | null;
  subjectId?: string | null;
  /** only these subjects (a member's own, or the people a manager approves for) */
  subjects?: string[] | null;
  /** open requests awaiting this approver kind */
  approver?: string[] | null;
  /** only exceptions active at this instant (approved and unexpired) */
  activeAt?: Date | null;
  /** open requests this person may decide as the subject's manager or team owner */
  approvableBy?: string | null;
};

export async function listExceptions(
  db: Queryable,
  filter: ExceptionFilter,
  page: { beforeId?: string | null; limit: number },
): Promise<ExceptionRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (filter.status?.length) add('status = any (?::text[])', filter.status);
  if (filter.subjectId) add('subject_id = ?', filter.subjectId);
  if (filter.subjects) add('subject_id = any (?::text[])', filter.subjects);
  if (filter.approver) add('approver = any (?::text[])', filter.approver);
  if (filter.activeAt)
    add("status = 'approved' and expires_at > ?::timestamptz", filter.activeAt.toISOString());
  if (filter.approvableBy)
    add(
      `status = 'requested' and subject_id <> ? and (
         (approver = 'manager' and subject_kind = 'person'
            and subject_id in (select id from people where manager_id = ?))
         or (approver = 'team_owner' and (
              (subject_kind = 'team' and subject_id in (select id from teams where owner = ?))
              or (subject_kind = 'person' and subject_id in (
                    select p.id from people p join teams t on t.id = p.team_id where t.owner = ?)))))`,
      filter.approvableBy,
    );
  if (page.beforeId) add('id < ?::bigint', page.beforeId);
  params.push(page.limit);
  return db.query<ExceptionRow>(
    `select ${EXCEPTION_COLUMNS} from exceptions ${where.length ? `where ${where.join(' and ')}` : ''}
      order by id desc limit $${params.length}`,
    params,
  );
}

/**
 * Extra tokens and money of approved, unexpired exceptions, keyed `person:<id>` or
 * `team:<id>` (all subjects, or only the given people and teams).
 */
export async function activeExtras(
  db: Queryable,
  now: Date,
  subjects: { people?: readonly string[]; teams?: readonly string[] } | null = null,
): Promise<{ tokens: Map<string, number>; money: Map<string, number> }> {
  const rows = await db.query<{ key: string; tokens: string | null; money: string | null }>(
    `select subject_kind || ':' || subject_id as key, sum(extra_tokens)::text as tokens,
            sum(extra_money)::text as money
       from exceptions
      where status = 'approved' and expires_at > $1::timestamptz
        and ($2::boolean or (subject_kind = 'person' and subject_id = any ($3::text[]))
             or (subject_kind = 'team' and subject_id = any ($4::text[])))
      group by 1`,
    [
      now.toISOString(),
      subjects === null,
      [...(subjects?.people ?? [])],
      [...(subjects?.teams ?? [])],
    ],
  );
  const tokens = new Map<string, number>();
  const money = new Map<string, number>();
  for (const r of rows) {
    if (r.tokens !== null) tokens.set(r.key, Number(r.tokens));
    if (r.money !== null) money.set(r.key, Number(r.money));
  }
  return { tokens, money };
}

/**
 * Approved exceptions past their expiry are marked expired (they stopped counting already).
 * Returns the person subjects whose limit just dropped, for re-evaluation.
 */
export async function expireExceptions(db: Queryable, now: Date): Promise<string[]> {
  const rows = await db.query<{ subject_id: string; subject_kind: string }>(
    `update exceptions set status = 'expired'
      where status = 'approved' and expires_at <= $1::timestamptz
      returning subject_id, subject_kind`,
    [now.toISOString()],
  );
  return [...new Set(rows.filter((r) => r.subject_kind === 'person').map((r) => r.subject_id))];
}

/** The people someone manages (for a member deciding as a manager). */
export async function reportsOf(db: Queryable, managerId: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>('select id from people where manager_id = $1', [
    managerId,
  ]);
  return rows.map((r) => r.id);
}

/** The subject's manager and team owner, for approver rules and notification recipients. */
export async function relationsOf(
  db: Queryable,
  personIds: readonly string[],
): Promise<Map<string, { manager: string | null; team: string | null; teamOwner: string | null }>> {
  if (personIds.length === 0) return new Map();
  const rows = await db.query<{
    id: string;
    manager: string | null;
    team: string | null;
    owner: string | null;
  }>(
    `select p.id, p.manager_id as manager, p.team_id as team, t.owner
       from people p left join teams t on t.id = p.team_id where p.id = any ($1::text[])`,
    [[...new Set(personIds)]],
  );
  return new Map(rows.map((r) => [r.id, { manager: r.manager, team: r.team, teamOwner: r.owner }]));
}

// ---------------------------------------------------------------------------------------
// Webhooks and the outbox
// ---------------------------------------------------------------------------------------

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
     returning id::text, audience, url, secret, ${iso('created_at')} as "createdAt"`,
    [audience, url, secret],
  );
  return rows[0];
}

export async function listWebhooks(db: Queryable): Promise<WebhookRow[]> {
  return db.query<WebhookRow>(
    `select id::text, audience, url, secret, ${iso('created_at')} as "createdAt"
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
  ${iso('o.next_attempt_at')} as "nextAttemptAt", ${iso('o.delivered_at')} as "deliveredAt",
  o.last_error as "lastError", o.last_status as "lastStatus", ${iso('o.created_at')} as "createdAt"`;

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

// ---------------------------------------------------------------------------------------
// Job leases and the dirty-people queue
// ---------------------------------------------------------------------------------------

/**
 * Takes the named lease if it is free or expired: one conditional UPDATE, so of N
 * instances trying at once exactly one wins. Leases use the database clock.
 */
export async function tryLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  await db.query('insert into job_leases (name) values ($1) on conflict (name) do nothing', [name]);
  const rows = await db.query(
    `update job_leases set holder = $2,
            locked_until = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
      where name = $1 and (locked_until is null or locked_until < clock_timestamp() or holder = $2)
      returning name`,
    [name, holder, ttlMs],
  );
  return rows.length === 1;
}

export async function releaseLease(
  db: Queryable,
  name: string,
  holder: string,
  result: unknown,
): Promise<void> {
  await db.query(
    `update job_leases set locked_until = null, last_run_at = clock_timestamp(), last_result = $3
      where name = $1 and holder = $2`,
    [name, holder, JSON.stringify(result ?? null)],
  );
}

/** Takes up to `limit` people marked by ingest; concurrent workers take disjoint sets. */
export async function takeDirtyPeople(
  db: Queryable,
  limit: number,
  throughSeq?: string | null,
): Promise<string[]> {
  // The queue is append-only: a busy person is queued once per ingest batch that touched
  // them. One take removes up to QUEUE_ROWS_PER_PERSON rows per wanted person, so a backlog
  // of repeats collapses into one evaluation each; fewer than `limit` people back means
  // the queue is empty (up to `throughSeq`, when given).
  const rows = await db.query<{ person_id: string }>(
    `delete from enforcement_dirty where seq in (
       select seq from enforcement_dirty where $2::bigint is null or seq <= $2::bigint
        order by seq limit $1 for update skip locked)
     returning person_id`,
    [limit * QUEUE_ROWS_PER_PERSON, throughSeq ?? null],
  );
  return [...new Set(rows.map((r) => r.person_id))].sort();
}

/** The newest queue position, or null when the queue is empty: a drain round's end. */
export async function lastDirtySeq(db: Queryable): Promise<string | null> {
  const rows = await db.query<{ seq: string | null }>(
    'select max(seq)::text as seq from enforcement_dirty',
  );
  return rows[0]?.seq ?? null;
}

const QUEUE_ROWS_PER_PERSON = 20;

/** Puts people back (their evaluation failed); they are retried on the next drain. */
export async function markDirty(db: Queryable, people: readonly string[]): Promise<void> {
  if (people.length === 0) return;
  await db.query('insert into enforcement_dirty (person_id) select unnest($1::text[])', [
    [...people],
  ]);
}
