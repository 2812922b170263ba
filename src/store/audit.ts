// The audit log table.
import { isoText, type Queryable } from './sql-text.ts';

export type AuditEntry = {
  actor: string | null;
  role: string;
  action: string;
  subject: string | null;
  detail: Record<string, unknown>;
};

/**
 * Bytes of a subject as stored: the subject is an index key (a btree entry holds at most
 * 2,704 bytes). A longer one comes from an argument naming nothing real (ids are at most
 * 256 bytes at ingest); it is cut, and the whole of it kept in `detail.subject`, so one
 * entry cannot fail the batch of audited reads it is written with.
 */
export const MAX_SUBJECT_BYTES = 512;

function storable(entry: AuditEntry): AuditEntry {
  const { subject } = entry;
  if (subject === null || Buffer.byteLength(subject, 'utf8') <= MAX_SUBJECT_BYTES) return entry;
  // cut on a code point, within the bytes
  let cut = '';
  for (const char of subject) {
    if (Buffer.byteLength(cut + char, 'utf8') > MAX_SUBJECT_BYTES - 3) break;
    cut += char;
  }
  return { ...entry, subject: `${cut}…`, detail: { ...entry.detail, subject } };
}

export async function appendAudit(db: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  entries = entries.map(storable);
  await db.query(
    `insert into audit_log (actor, role, action, subject, detail)
     select actor, role, action, subject, detail
       from jsonb_to_recordset($1::jsonb)
         as x(actor text, role text, action text, subject text, detail jsonb)`,
    [JSON.stringify(entries)],
  );
}

export type AuditRecord = AuditEntry & { id: string; at: string };

export type AuditFilter = {
  actions: readonly string[] | null;
  /** an action prefix such as `directory.` */
  actionPrefix: string | null;
  actor: string | null;
  subject: string | null;
  /** inclusive start, exclusive end (ISO instants) */
  from: string | null;
  to: string | null;
};

/** Audit entries newest first; key-set pages by id. */
export async function listAudit(
  db: Queryable,
  filter: AuditFilter,
  page: { beforeId: string | null; limit: number },
): Promise<AuditRecord[]> {
  const params: unknown[] = [];
  const add = (v: unknown, cast = '') => {
    params.push(v);
    return `$${params.length}${cast}`;
  };
  const where: string[] = [];
  if (filter.actions?.length) where.push(`action = any(${add([...filter.actions], '::text[]')})`);
  if (filter.actionPrefix) where.push(`starts_with(action, ${add(filter.actionPrefix)})`);
  if (filter.actor) where.push(`actor = ${add(filter.actor)}`);
  if (filter.subject) where.push(`subject = ${add(filter.subject)}`);
  if (filter.from) where.push(`at >= ${add(filter.from, '::timestamptz')}`);
  if (filter.to) where.push(`at < ${add(filter.to, '::timestamptz')}`);
  if (page.beforeId) where.push(`id < ${add(page.beforeId, '::bigint')}`);
  return db.query<AuditRecord>(
    `select id::text as id, ${isoText('at')} as at, actor, role, action, subject, detail
       from audit_log ${where.length ? `where ${where.join(' and ')}` : ''}
      order by audit_log.id desc limit ${add(page.limit)}`,
    params,
  );
}
