import { defineEntity, p } from '@mikro-orm/core';

// One audited action: a governance read of named individual data, a policy activation, a
// key change. `actor` is the API key id (null for the local CLI).
export const AuditEntrySchema = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_log',
  properties: {
    id: p.bigint().primary().autoincrement(),
    at: p.datetime().onCreate(() => new Date()),
    actor: p.string().nullable(),
    role: p.string(),
    action: p.string(),
    subject: p.string().nullable(),
    detail: p.json<Record<string, unknown>>(),
  },
});

export class AuditEntry extends AuditEntrySchema.class {}
AuditEntrySchema.setClass(AuditEntry);
