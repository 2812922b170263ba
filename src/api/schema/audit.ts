// `auditLog`: the audit trail for governance and admin, newest first, filtered by action,
// actor, subject and time. The rules are in src/app/audit-log.ts.
import { type AuditRecord, auditLogFor } from '../../app/audit-log.ts';
import { ForbiddenError, InvalidRequestError } from '../../app/errors.ts';
import { builder } from '../builder.ts';
import { pageById } from '../connections.ts';
import { DateTimeResolver, JSONResolver } from './scalars.ts';

const AuditEntryRef = builder.objectRef<AuditRecord>('AuditEntry').implement({
  description: 'One audited action: who (key id and role) did what, to whom, when.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: DateTimeResolver, resolve: (e) => new Date(e.at) }),
    actor: t.exposeString('actor', {
      nullable: true,
      description: 'The API key id; null for the local command line.',
    }),
    role: t.exposeString('role'),
    action: t.exposeString('action', {
      description: 'e.g. read.person, directory.person.team, policy.activate, key.create',
    }),
    subject: t.exposeString('subject', { nullable: true }),
    detail: t.field({ type: JSONResolver, resolve: (e) => e.detail }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.connection({
    type: AuditEntryRef,
    authScopes: { governance: true },
    description:
      'The audit log, newest first (governance and admin). `action` is exact, or a prefix ending in `*` (`directory.*`).',
    args: {
      action: t.arg.string({ required: false }),
      actor: t.arg.string({ required: false, description: 'An API key id.' }),
      subject: t.arg.string({ required: false }),
      from: t.arg({ type: DateTimeResolver, required: false, description: 'Inclusive.' }),
      to: t.arg({ type: DateTimeResolver, required: false, description: 'Exclusive.' }),
    },
    errors: { types: [ForbiddenError, InvalidRequestError], directResult: true },
    resolve: (_root, args, ctx) =>
      pageById(args, (beforeId, limit) =>
        auditLogFor(ctx.store).list(
          ctx.caller,
          {
            action: args.action,
            actor: args.actor,
            subject: args.subject,
            from: args.from,
            to: args.to,
          },
          { beforeId, limit },
        ),
      ),
  }),
);
