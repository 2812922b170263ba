// Reading the audit log: governance and admin only (the role table's `governance`
// capability). Filters by action, actor (key id), subject and time; pages newest first.

import { type AuditFilter, type AuditRecord, listAudit } from '../store/audit.ts';
import type { Store } from '../store/db.ts';
import { auditTrailFor } from './audit.ts';
import type { Caller } from './caller.ts';
import { ForbiddenError, InvalidRequestError } from './errors.ts';
import { can } from './roles.ts';

export type { AuditRecord };

export type AuditQuery = {
  /** exact actions, or one ending in `*` for a prefix (`directory.*`) */
  action?: string | null;
  actor?: string | null;
  subject?: string | null;
  from?: Date | string | null;
  to?: Date | string | null;
};

export type AuditLog = {
  list(
    caller: Caller,
    query: AuditQuery,
    page: { beforeId: string | null; limit: number },
  ): Promise<AuditRecord[]>;
};

export function auditLogFor(store: Store): AuditLog {
  return {
    async list(caller, query, page) {
      if (!can(caller.role, 'governance'))
        throw new ForbiddenError('reading the audit log needs a governance or admin key');
      const filter: AuditFilter = {
        actions: null,
        actionPrefix: null,
        actor: query.actor ?? null,
        subject: query.subject ?? null,
        from: instant(query.from, 'from'),
        to: instant(query.to, 'to'),
      };
      if (filter.from && filter.to && filter.from >= filter.to)
        throw new InvalidRequestError([
          {
            field: 'to',
            message: `the end (${filter.to}) must be after the start (${filter.from})`,
          },
        ]);
      if (query.action?.endsWith('*')) filter.actionPrefix = query.action.slice(0, -1);
      else if (query.action) filter.actions = [query.action];
      if (page.beforeId !== null && !/^\d{1,19}$/.test(page.beforeId))
        throw new InvalidRequestError([
          { field: 'after', message: 'invalid cursor: use a cursor returned by auditLog' },
        ]);
      // reads audited a moment ago are still queued: write them first
      await auditTrailFor(store).flush();
      return listAudit(store, filter, page);
    },
  };
}

function instant(value: Date | string | null | undefined, field: string): string | null {
  if (value == null) return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidRequestError([
      { field, message: `expected an ISO-8601 instant, got ${JSON.stringify(value)}` },
    ]);
  return date.toISOString();
}
