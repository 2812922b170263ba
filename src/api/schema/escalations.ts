// Escalations: the list, acknowledging or justifying one, deciding an approval step, and the
// escalationRaised subscription (SSE). The rules are in src/app/escalations.ts.

import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
} from '../../app/errors.ts';
import { escalationsFor } from '../../app/escalations.ts';
import { seesNames } from '../../app/roles.ts';
import type { EscalationRow } from '../../store/escalations.ts';
import { builder } from '../builder.ts';
import { pageById } from '../connections.ts';
import { type Context, identityFor, sessionOf } from '../context.ts';
import { DateTimeResolver, JSONResolver } from './scalars.ts';

export const EscalationStatusEnum = builder.enumType('EscalationStatus', {
  values: ['open', 'acknowledged', 'justified', 'approved', 'denied', 'resolved'] as const,
});

/** A person subject's id as this caller may see it (masked below governance). */
export function subjectShown(
  ctx: Context,
  kind: string,
  id: string,
): { id: string; masked: boolean } {
  return kind === 'person' ? identityFor(ctx, id) : { id, masked: false };
}

/**
 * The subject of an approval (an exception request or an approval step) as this caller may
 * see it: the subject's manager, who decides it, sees their report named.
 */
export function approvalSubjectShown(
  ctx: Context,
  row: { subjectKind: string; subjectId: string; subjectManager: string | null },
): { id: string; masked: boolean } {
  if (row.subjectManager !== null && row.subjectManager === ctx.caller.person)
    return { id: row.subjectId, masked: false };
  return subjectShown(ctx, row.subjectKind, row.subjectId);
}

export async function auditSubject(ctx: Context, kind: string, id: string, action: string) {
  if (kind === 'person' && seesNames(ctx.caller.role) && id !== ctx.caller.person)
    await ctx.audit.record({ action, subject: id });
}

const EscalationRef = builder.objectRef<EscalationRow>('Escalation').implement({
  description:
    'One crossed ladder step or fired rule for one subject in one period: created once, with the facts that triggered it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.string({
      description: '(step or rule, subject, period): the idempotency key. Masked below governance.',
      resolve: (e, _a, ctx) => (approvalSubjectShown(ctx, e).masked ? `${e.id}` : e.key),
    }),
    source: t.exposeString('source', { description: '`ladder` or `rule`.' }),
    ladder: t.exposeString('ladder', { nullable: true }),
    rule: t.exposeString('rule', { nullable: true }),
    of: t.exposeString('of', {
      nullable: true,
      description: 'Tier (quota) or budget key (budget).',
    }),
    trigger: t.exposeString('trigger', { nullable: true, description: '`at` or `forecast`.' }),
    threshold: t.exposeFloat('threshold', { nullable: true }),
    actionKind: t.string({ resolve: (e) => e.action.kind }),
    action: t.field({ type: JSONResolver, resolve: (e) => e.action }),
    severity: t.exposeString('severity', { nullable: true }),
    subjectKind: t.exposeString('subjectKind'),
    subject: t.string({
      description:
        "Subject id; a stable pseudonym for people below governance, except for the subject and their manager (who decides a manager's approval step).",
      resolve: async (e, _a, ctx) => {
        await auditSubject(ctx, e.subjectKind, e.subjectId, 'read.escalation');
        return approvalSubjectShown(ctx, e).id;
      },
    }),
    periodStart: t.field({ type: DateTimeResolver, resolve: (e) => e.periodStart }),
    periodEnd: t.field({ type: DateTimeResolver, resolve: (e) => e.periodEnd }),
    policyVersion: t.exposeString('policyVersion', { nullable: true }),
    policyHash: t.exposeString('policyHash'),
    facts: t.field({
      type: JSONResolver,
      description: 'The facts that triggered it.',
      resolve: (e) => e.facts,
    }),
    status: t.field({ type: EscalationStatusEnum, resolve: (e) => e.status }),
    justification: t.string({
      nullable: true,
      resolve: (e, _a, ctx) => (approvalSubjectShown(ctx, e).masked ? null : e.justification),
    }),
    decidedBy: t.string({
      nullable: true,
      description:
        "Who approved or denied this approval step (person or key id); null when an exception decision settled it, and below governance unless the step is the caller's own or their report's.",
      resolve: (e, _a, ctx) => (approvalSubjectShown(ctx, e).masked ? null : e.decidedBy),
    }),
    decidedAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (e) => e.decidedAt,
    }),
    decisionNote: t.string({
      nullable: true,
      description: "The decider's reason; shown to whom `decidedBy` is shown.",
      resolve: (e, _a, ctx) => (approvalSubjectShown(ctx, e).masked ? null : e.decisionNote),
    }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (e) => e.createdAt }),
    updatedAt: t.field({ type: DateTimeResolver, resolve: (e) => e.updatedAt }),
  }),
});

builder.queryField('escalations', (t) =>
  t.connection(
    {
      type: EscalationRef,
      description:
        "Escalations, newest first. Members see their own; viewers see people masked; governance reads are audited. `awaitingMe` lists the open `require approval` steps the caller may decide: all for governance, their reports' (approval by manager) and their team's (by team owner) for a member.",
      authScopes: { readDirectory: true },
      args: {
        status: t.arg({ type: [EscalationStatusEnum], required: false }),
        subject: t.arg.string({
          required: false,
          description: 'A person or team id (governance), or a team id.',
        }),
        subjectKind: t.arg.string({ required: false, description: '`person`, `team` or `org`.' }),
        ladder: t.arg.string({ required: false }),
        rule: t.arg.string({ required: false }),
        awaitingMe: t.arg.boolean({ required: false }),
        decidedByMe: t.arg.boolean({
          required: false,
          description: 'Only the approval steps the caller approved or denied.',
        }),
      },
      resolve: (_root, args, ctx) =>
        pageById(args, (beforeId, limit) =>
          escalationsFor(ctx.store).list(
            sessionOf(ctx),
            {
              status: args.status ?? null,
              subjectId: args.subject ?? null,
              subjectKind: args.subjectKind ?? null,
              ladder: args.ladder ?? null,
              rule: args.rule ?? null,
              awaitingMe: args.awaitingMe ?? false,
              decidedByMe: args.decidedByMe ?? false,
            },
            { beforeId, limit },
          ),
        ),
    },
    { description: 'A page of escalations.' },
  ),
);

builder.mutationFields((t) => ({
  acknowledgeEscalation: t.field({
    type: EscalationRef,
    description:
      'Acknowledge an escalation; with a justification, a `require justification` step becomes justified and stops asking this period.',
    authScopes: { self: true },
    args: {
      id: t.arg.id({ required: true }),
      justification: t.arg.string({ required: false }),
    },
    errors: {
      types: [NotFoundError, ForbiddenError, InvalidRequestError, ConflictError],
      directResult: true,
    },
    resolve: (_root, args, ctx) =>
      escalationsFor(ctx.store).acknowledge(
        sessionOf(ctx),
        String(args.id),
        args.justification ?? null,
      ),
  }),
  decideEscalation: t.field({
    type: EscalationRef,
    description:
      'Approve or deny a `require approval` step (of a rule or budget ladder). Allowed for the approver the policy names (manager, team owner) and governance; never for the subject. Approval lifts the hold checkQuota reports.',
    authScopes: { self: true },
    args: {
      id: t.arg.id({ required: true }),
      approve: t.arg.boolean({ required: true }),
      note: t.arg.string({ required: false }),
    },
    errors: { types: [NotFoundError, ForbiddenError, ConflictError], directResult: true },
    resolve: (_root, args, ctx) =>
      escalationsFor(ctx.store).decide(
        sessionOf(ctx),
        String(args.id),
        args.approve,
        args.note ?? null,
      ),
  }),
}));

builder.subscriptionType({});

builder.subscriptionField('escalationRaised', (t) =>
  t.field({
    type: EscalationRef,
    description:
      'New escalations, recorded by any instance on a PostgreSQL server (Server-Sent Events: POST with `accept: text/event-stream`). Members receive their own only.',
    authScopes: { readDirectory: true },
    args: { subjectKind: t.arg.string({ required: false }) },
    subscribe: (_root, args, ctx) =>
      escalationsFor(ctx.store).subscribe(ctx.caller, args.subjectKind ?? null),
    resolve: (e) => e,
  }),
);
