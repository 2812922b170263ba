// Exceptions: time-boxed raises of a limit, and the people relations their approvers need.
import { approvableBySql, SUBJECT_MANAGER_COLUMN } from './approvers.ts';
import { isoText, type Queryable } from './sql-text.ts';

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
  ${isoText('expires_at')} as "expiresAt", status, approver, requested_by as "requestedBy",
  decided_by as "decidedBy", note, ${isoText('created_at')} as "createdAt",
  ${isoText('decided_at')} as "decidedAt", ${SUBJECT_MANAGER_COLUMN}`;

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
  /** requests this person or key approved or denied */
  decidedBy?: string | null;
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
  if (filter.decidedBy) add('decided_by = ?', filter.decidedBy);
  if (filter.activeAt)
    add("status = 'approved' and expires_at > ?::timestamptz", filter.activeAt.toISOString());
  if (filter.approvableBy) {
    params.push(filter.approvableBy);
    where.push(`status = 'requested' and ${approvableBySql('approver', `$${params.length}`)}`);
  }
  if (page.beforeId) add('id < ?::bigint', page.beforeId);
  params.push(page.limit);
  return db.query<ExceptionRow>(
    `select ${EXCEPTION_COLUMNS} from exceptions ${where.length ? `where ${where.join(' and ')}` : ''}
      order by exceptions.id desc limit $${params.length}`,
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

/** A team's owner (null when the team has none or does not exist). */
export async function teamOwnerOf(db: Queryable, teamId: string): Promise<string | null> {
  const rows = await db.query<{ owner: string | null }>('select owner from teams where id = $1', [
    teamId,
  ]);
  return rows[0]?.owner ?? null;
}

/** The people whose current team is this one. */
export async function membersOf(db: Queryable, teamId: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>('select id from people where team_id = $1', [teamId]);
  return rows.map((r) => r.id);
}
