// The audit log table.
import type { Queryable } from './sql-text.ts';

export type AuditEntry = {
  actor: string | null;
  role: string;
  action: string;
  subject: string | null;
  detail: Record<string, unknown>;
};

export async function appendAudit(db: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `insert into audit_log (actor, role, action, subject, detail)
     select actor, role, action, subject, detail
       from jsonb_to_recordset($1::jsonb)
         as x(actor text, role text, action text, subject text, detail jsonb)`,
    [JSON.stringify(entries)],
  );
}
