// Enforcement: the quota decision (checkQuota), escalations, exceptions with approval,
// webhook deliveries, the escalationRaised subscription (SSE), and bands on people and
// teams. Rules live in src/engine; this file checks who may do what and shapes results.

import { randomBytes } from 'node:crypto';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import { filter, pipe } from 'graphql-yoga';
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NoActivePolicyError,
  NotFoundError,
} from '../../app/errors.ts';
import { can, seesNames } from '../../app/roles.ts';
import { bandFor, type Decision, decideQuota } from '../../engine/decision.ts';
import { ladderApprover, WEBHOOK_AUDIENCES } from '../../engine/escalations.ts';
import { mayDecide, validateExceptionRequest } from '../../engine/exceptions.ts';
import { factWindows, personAttributes, teamAttributes } from '../../engine/facts.ts';
import { type CheckQuotaRequest, quotaPlan } from '../../engine/quota-check.ts';
import { evaluate } from '../../policy/evaluate/index.ts';
import type { Band } from '../../policy/evaluate/types.ts';
import {
  acknowledgeEscalation,
  type EscalationRow,
  getEscalation,
  listEscalations,
  settleApprovalEscalations,
} from '../../store/escalations.ts';
import {
  activeExtras,
  createException,
  decideException,
  type ExceptionRow,
  getException,
  listExceptions,
  relationsOf,
} from '../../store/exceptions.ts';
import { usageReader } from '../../store/usage-reader.ts';
import {
  addWebhook,
  listDeliveries,
  listWebhooks,
  type OutboxRow,
  removeWebhook,
} from '../../store/webhooks.ts';
import type { Caller } from '../auth.ts';
import { builder } from '../builder.ts';
import { type Context, identityFor } from '../context.ts';
import { enforcementFor } from '../enforcement.ts';
import { BandEnum } from './band.ts';
import { PersonRef, TeamRef } from './directory.ts';
import { DateTimeResolver, JSONResolver } from './scalars.ts';

// ---------- checkQuota ----------

const DecisionEnum = builder.enumType('QuotaDecision', {
  description: 'What a gateway should do with the request.',
  values: [
    'allow',
    'allow_with_notice',
    'require_justification',
    'require_approval',
    'block',
  ] as const satisfies readonly Decision[],
});

type QuotaCheckShape = Awaited<ReturnType<ReturnType<typeof enforcementFor>['checkQuota']>>;

const QuotaCheckRef = builder.objectRef<QuotaCheckShape>('QuotaCheck').implement({
  description:
    'The answer for one request: the strongest ladder step the usage after this request reaches, against the limit raised by approved exceptions.',
  fields: (t) => ({
    decision: t.field({ type: DecisionEnum, resolve: (q) => q.decision }),
    reason: t.exposeString('reason'),
    band: t.field({
      type: BandEnum,
      description: 'The band before this request.',
      resolve: (q) => q.band,
    }),
    tier: t.string({ nullable: true, resolve: (q) => q.quota?.tier ?? null }),
    period: t.string({ nullable: true, resolve: (q) => q.quota?.period ?? null }),
    periodStart: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (q) => q.quota?.periodStart ?? null,
    }),
    limit: t.float({
      description: 'The tier limit in tokens.',
      resolve: (q) => q.quota?.limit ?? 0,
    }),
    exceptionTokens: t.float({
      description: 'Tokens added by approved, unexpired exceptions.',
      resolve: (q) => q.exceptionTokens,
    }),
    effectiveLimit: t.exposeFloat('effectiveLimit'),
    used: t.float({
      description: 'Tokens used this period before the request.',
      resolve: (q) => q.quota?.used ?? 0,
    }),
    estimatedTokens: t.exposeInt('estimatedTokens'),
    percentAfter: t.exposeFloat('percentAfter'),
    remainingAfter: t.exposeFloat('remainingAfter', {
      description: 'Tokens left after this request; negative once over the limit.',
    }),
    threshold: t.float({
      nullable: true,
      description: 'The percent of the step that decided.',
      resolve: (q) => q.step?.threshold ?? null,
    }),
    notice: t.exposeString('notice', { nullable: true }),
    approver: t.exposeString('approver', { nullable: true }),
    model: t.exposeString('model'),
    modelClass: t.exposeString('modelClass', { nullable: true }),
    allowedClasses: t.stringList({
      description: '["any"] when the tier allows every class.',
      resolve: (q) =>
        q.quota ? (q.quota.allowedClasses === 'any' ? ['any'] : [...q.quota.allowedClasses]) : [],
    }),
    cheaperClass: t.exposeString('cheaperClass', {
      nullable: true,
      description: 'A cheaper model class the tier allows, when one exists.',
    }),
    policyHash: t.exposeString('policyHash'),
  }),
});

/**
 * Who may ask checkQuota, and what a well-formed question is: the same rules for the
 * GraphQL field and for POST /v1/quota/check. Ingest keys (gateways), governance and admin
 * ask for anyone; a member only for their own person; viewers not at all.
 */
export function quotaCheckRequest(
  caller: Caller,
  args: { person: string; model: string; estimatedTokens: number },
): CheckQuotaRequest {
  if (!can(caller.role, 'writeEvents') && !can(caller.role, 'self'))
    throw new ForbiddenError(
      `role "${caller.role}" may not check quotas (allowed for: ingest, admin, member, governance)`,
    );
  if (caller.role === 'member' && caller.person !== args.person)
    throw new ForbiddenError(`role "${caller.role}" may check quotas only for its own person`);
  const problems: { field: string; message: string }[] = [];
  if (!Number.isSafeInteger(args.estimatedTokens))
    problems.push({ field: 'estimatedTokens', message: 'must be a whole number' });
  else if (args.estimatedTokens < 0)
    problems.push({ field: 'estimatedTokens', message: 'must not be negative' });
  if (!args.person.trim()) problems.push({ field: 'person', message: 'is empty' });
  if (problems.length > 0) throw new InvalidRequestError(problems);
  return { personId: args.person, model: args.model, estimatedTokens: args.estimatedTokens };
}

/** The QuotaCheck type's fields as plain JSON (POST /v1/quota/check answers with this). */
export function quotaCheckJson(q: QuotaCheckShape) {
  return {
    decision: q.decision,
    reason: q.reason,
    band: q.band,
    tier: q.quota?.tier ?? null,
    period: q.quota?.period ?? null,
    periodStart: q.quota?.periodStart ?? null,
    limit: q.quota?.limit ?? 0,
    exceptionTokens: q.exceptionTokens,
    effectiveLimit: q.effectiveLimit,
    used: q.quota?.used ?? 0,
    estimatedTokens: q.estimatedTokens,
    percentAfter: q.percentAfter,
    remainingAfter: q.remainingAfter,
    threshold: q.step?.threshold ?? null,
    notice: q.notice,
    approver: q.approver,
    model: q.model,
    modelClass: q.modelClass,
    allowedClasses: q.quota
      ? q.quota.allowedClasses === 'any'
        ? ['any']
        : [...q.quota.allowedClasses]
      : [],
    cheaperClass: q.cheaperClass,
    policyHash: q.policyHash,
  };
}

builder.queryField('checkQuota', (t) =>
  t.field({
    type: QuotaCheckRef,
    description:
      'May this person send this request? Asked by gateways before each call: one indexed read, no full evaluation.',
    authScopes: { $any: { writeEvents: true, self: true } },
    args: {
      person: t.arg.string({ required: true }),
      model: t.arg.string({ required: true }),
      estimatedTokens: t.arg.int({
        required: true,
        description: 'Input plus expected output tokens.',
      }),
    },
    errors: {
      types: [InvalidRequestError, ForbiddenError, NoActivePolicyError],
      directResult: true,
    },
    resolve: async (_root, args, ctx) => {
      const request = quotaCheckRequest(ctx.caller, args);
      try {
        return await enforcementFor(ctx.store).checkQuota(request);
      } catch (error) {
        if (error instanceof NoActivePolicyError) throw new NoActivePolicyError();
        throw error;
      }
    },
  }),
);

// ---------- escalations ----------

const EscalationStatusEnum = builder.enumType('EscalationStatus', {
  values: ['open', 'acknowledged', 'justified', 'approved', 'denied', 'resolved'] as const,
});

/** A person subject's id as this caller may see it (masked below governance). */
function subjectShown(ctx: Context, kind: string, id: string): { id: string; masked: boolean } {
  return kind === 'person' ? identityFor(ctx, id) : { id, masked: false };
}

async function auditSubject(ctx: Context, kind: string, id: string, action: string) {
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
      resolve: (e, _a, ctx) =>
        subjectShown(ctx, e.subjectKind, e.subjectId).masked ? `${e.id}` : e.key,
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
      description: 'Subject id; a stable pseudonym for people below governance.',
      resolve: async (e, _a, ctx) => {
        await auditSubject(ctx, e.subjectKind, e.subjectId, 'read.escalation');
        return subjectShown(ctx, e.subjectKind, e.subjectId).id;
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
      resolve: (e, _a, ctx) =>
        subjectShown(ctx, e.subjectKind, e.subjectId).masked ? null : e.justification,
    }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (e) => e.createdAt }),
    updatedAt: t.field({ type: DateTimeResolver, resolve: (e) => e.updatedAt }),
  }),
});

/** Forward key-set paging by id, newest first. */
function pageById<T extends { id: string }>(
  args: {
    first?: number | null;
    after?: string | null;
    last?: number | null;
    before?: string | null;
  },
  load: (beforeId: string | null, limit: number) => Promise<T[]>,
) {
  if (args.last != null || args.before != null)
    throw new InvalidRequestError([
      { field: 'last', message: 'page forward with first/after (newest first)' },
    ]);
  return resolveCursorConnection<Promise<T[]>>(
    { args, toCursor: (row: T) => row.id, defaultSize: 50, maxSize: 500 },
    ({ after, limit }) => load(after ?? null, limit),
  );
}

builder.queryField('escalations', (t) =>
  t.connection(
    {
      type: EscalationRef,
      description:
        'Escalations, newest first. Members see their own; viewers see people masked; governance reads are audited.',
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
      },
      resolve: (_root, args, ctx) =>
        pageById(args, (beforeId, limit) => {
          const member = ctx.caller.role === 'member';
          if (
            args.subject &&
            args.subjectKind !== 'team' &&
            !seesNames(ctx.caller.role) &&
            args.subject !== ctx.caller.person
          )
            throw new ForbiddenError(
              'filtering by a person needs a governance key (or your own id)',
            );
          return listEscalations(
            ctx.store,
            {
              status: args.status ?? null,
              subjectId: args.subject ?? null,
              subjectKind: args.subjectKind ?? null,
              ladder: args.ladder ?? null,
              rule: args.rule ?? null,
              people: member ? [ctx.caller.person ?? ''] : null,
            },
            { beforeId, limit },
          );
        }),
    },
    { description: 'A page of escalations.' },
  ),
);

builder.mutationField('acknowledgeEscalation', (t) =>
  t.field({
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
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      const found = await getEscalation(ctx.store, id);
      if (!found) throw new NotFoundError('escalation', id);
      if (
        !seesNames(ctx.caller.role) &&
        !(found.subjectKind === 'person' && found.subjectId === ctx.caller.person)
      )
        throw new ForbiddenError('a member may acknowledge only their own escalations');
      const justification = args.justification?.trim() || null;
      if (found.action.kind === 'require_justification' && !justification)
        throw new InvalidRequestError([
          {
            field: 'justification',
            message: 'this step requires a justification: say why the usage is needed',
          },
        ]);
      const updated = await acknowledgeEscalation(
        ctx.store,
        id,
        justification,
        ctx.caller.person ?? ctx.caller.keyId,
        enforcementFor(ctx.store).now(),
      );
      if (!updated)
        throw new ConflictError(
          `escalation ${id} is ${found.status}; only open escalations can be acknowledged`,
        );
      await ctx.audit.record({
        action: 'escalation.acknowledge',
        subject: found.subjectId,
        detail: { escalation: id, status: updated.status, justification },
      });
      return updated;
    },
  }),
);

// ---------- exceptions ----------

const ExceptionStatusEnum = builder.enumType('ExceptionStatus', {
  values: ['requested', 'approved', 'denied', 'expired'] as const,
});

/** The approver must see who asks and why: a manager sees their reports' requests named. */
function exceptionSubjectShown(ctx: Context, x: ExceptionRow): { id: string; masked: boolean } {
  if (x.subjectManager !== null && x.subjectManager === ctx.caller.person)
    return { id: x.subjectId, masked: false };
  return subjectShown(ctx, x.subjectKind, x.subjectId);
}

const ExceptionRef = builder.objectRef<ExceptionRow>('QuotaException').implement({
  description:
    'A time-boxed raise of a limit: extra tokens raise the quota, extra money the budgets, once approved and until it expires.',
  fields: (t) => ({
    id: t.exposeID('id'),
    subjectKind: t.exposeString('subjectKind'),
    subject: t.string({
      description:
        'Masked below governance, except for the subject and their manager (the approver).',
      resolve: async (x, _a, ctx) => {
        await auditSubject(ctx, x.subjectKind, x.subjectId, 'read.exception');
        return exceptionSubjectShown(ctx, x).id;
      },
    }),
    extraTokens: t.exposeFloat('extraTokens', { nullable: true }),
    extraMoney: t.exposeString('extraMoney', {
      nullable: true,
      description: 'Exact decimal, policy currency.',
    }),
    justification: t.string({
      nullable: true,
      resolve: (x, _a, ctx) => (exceptionSubjectShown(ctx, x).masked ? null : x.justification),
    }),
    expiresAt: t.field({ type: DateTimeResolver, resolve: (x) => x.expiresAt }),
    status: t.field({ type: ExceptionStatusEnum, resolve: (x) => x.status }),
    active: t.boolean({
      description: 'Approved and not yet expired (by the server clock).',
      resolve: (x, _a, ctx) =>
        x.status === 'approved' &&
        new Date(x.expiresAt).getTime() > enforcementFor(ctx.store).now().getTime(),
    }),
    approver: t.exposeString('approver', {
      description: 'Who the policy says decides: manager, governance …',
    }),
    requestedBy: t.exposeString('requestedBy', { nullable: true }),
    decidedBy: t.exposeString('decidedBy', { nullable: true }),
    note: t.exposeString('note', { nullable: true }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (x) => x.createdAt }),
    decidedAt: t.field({ type: DateTimeResolver, nullable: true, resolve: (x) => x.decidedAt }),
  }),
});

builder.queryField('exceptions', (t) =>
  t.connection({
    type: ExceptionRef,
    description:
      'Exceptions, newest first. `awaitingMe` lists open requests the caller may decide: all for governance, their reports for a manager.',
    authScopes: { readDirectory: true },
    args: {
      status: t.arg({ type: [ExceptionStatusEnum], required: false }),
      subject: t.arg.string({ required: false }),
      awaitingMe: t.arg.boolean({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      pageById(args, async (beforeId, limit) => {
        const governance = seesNames(ctx.caller.role);
        const me = ctx.caller.person;
        if (args.awaitingMe) {
          if (governance)
            return listExceptions(
              ctx.store,
              { status: ['requested'], subjectId: args.subject ?? null },
              { beforeId, limit },
            );
          if (!me) return [];
          return listExceptions(ctx.store, { approvableBy: me }, { beforeId, limit });
        }
        if (!governance) {
          if (!me) throw new ForbiddenError('listing exceptions needs a member or governance key');
          return listExceptions(
            ctx.store,
            { status: args.status ?? null, subjects: [me] },
            { beforeId, limit },
          );
        }
        return listExceptions(
          ctx.store,
          { status: args.status ?? null, subjectId: args.subject ?? null },
          { beforeId, limit },
        );
      }),
  }),
);

builder.mutationField('requestException', (t) =>
  t.field({
    type: ExceptionRef,
    description:
      'Ask for extra tokens (quota) or money (budgets) until `expiresAt`. A member asks for themselves; governance for anyone. The policy names the approver.',
    authScopes: { self: true },
    args: {
      subject: t.arg.string({ required: false, description: "Defaults to the key's own person." }),
      subjectKind: t.arg.string({ required: false, description: '`person` (default) or `team`.' }),
      extraTokens: t.arg.float({ required: false }),
      extraMoney: t.arg.float({ required: false }),
      justification: t.arg.string({ required: true }),
      expiresAt: t.arg({ type: DateTimeResolver, required: true }),
    },
    errors: {
      types: [InvalidRequestError, ForbiddenError, NoActivePolicyError],
      directResult: true,
    },
    resolve: async (_root, args, ctx) => {
      const service = enforcementFor(ctx.store);
      const subjectKind = (args.subjectKind ?? 'person') as 'person' | 'team';
      if (subjectKind !== 'person' && subjectKind !== 'team')
        throw new InvalidRequestError([
          { field: 'subjectKind', message: 'must be person or team' },
        ]);
      const subject = args.subject ?? ctx.caller.person;
      if (!subject)
        throw new InvalidRequestError([
          { field: 'subject', message: 'this key is bound to no person: pass subject' },
        ]);
      if (
        !seesNames(ctx.caller.role) &&
        !(subjectKind === 'person' && subject === ctx.caller.person)
      )
        throw new ForbiddenError('a member may request exceptions only for themselves');
      const active = await service.activeRuleSet();
      if (!active) throw new NoActivePolicyError();
      const now = service.now();
      const request = {
        subjectKind,
        subjectId: subject,
        extraTokens: args.extraTokens ?? null,
        extraMoney: args.extraMoney ?? null,
        justification: args.justification,
        expiresAt: args.expiresAt,
      };
      const problems = validateExceptionRequest(
        request,
        now,
        active.ruleSet.ir.exceptions.maxDurationMs,
      );
      if (subjectKind === 'team' && request.extraTokens !== null)
        problems.push({
          field: 'extraTokens',
          message: 'quotas are per person: ask for extraMoney for a team',
        });
      if (problems.length) throw new InvalidRequestError(problems);
      const approver =
        ladderApprover(active.ruleSet, request.extraTokens !== null ? 'quota' : 'budget') ??
        'governance';
      const created = await createException(
        ctx.store,
        {
          ...request,
          justification: request.justification.trim(),
          approver,
          requestedBy: ctx.caller.person ?? ctx.caller.keyId,
        },
        now,
      );
      await ctx.audit.record({
        action: 'exception.request',
        subject,
        detail: {
          exception: created.id,
          extraTokens: request.extraTokens,
          extraMoney: request.extraMoney,
          expiresAt: created.expiresAt,
          approver,
        },
      });
      return created;
    },
  }),
);

builder.mutationField('decideException', (t) =>
  t.field({
    type: ExceptionRef,
    description:
      'Approve or deny a requested exception. Allowed for the approver the policy names (the subject’s manager, or team owner) and for governance; never for the subject.',
    authScopes: { self: true },
    args: {
      id: t.arg.id({ required: true }),
      approve: t.arg.boolean({ required: true }),
      note: t.arg.string({ required: false }),
    },
    errors: { types: [NotFoundError, ForbiddenError, ConflictError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      const found = await getException(ctx.store, id);
      if (!found) throw new NotFoundError('exception', id);
      const relations =
        found.subjectKind === 'person'
          ? (await relationsOf(ctx.store, [found.subjectId])).get(found.subjectId)
          : undefined;
      let teamOwner = relations?.teamOwner ?? null;
      if (found.subjectKind === 'team') {
        const rows = await ctx.store.query<{ owner: string | null }>(
          'select owner from teams where id = $1',
          [found.subjectId],
        );
        teamOwner = rows[0]?.owner ?? null;
      }
      const refusal = mayDecide(
        { role: ctx.caller.role, person: ctx.caller.person },
        {
          approver: found.approver,
          subjectId: found.subjectId,
          requestedBy: found.requestedBy,
          manager: relations?.manager ?? null,
          teamOwner,
        },
      );
      if (refusal) {
        await ctx.audit.record({
          action: 'exception.decide.refused',
          subject: found.subjectId,
          detail: { exception: id, reason: refusal },
        });
        throw new ForbiddenError(refusal);
      }
      const service = enforcementFor(ctx.store);
      const now = service.now();
      const decided = await decideException(
        ctx.store,
        id,
        args.approve,
        args.note?.trim() || null,
        ctx.caller.person ?? ctx.caller.keyId,
        now,
      );
      if (!decided) throw new ConflictError(`exception ${id} is already ${found.status}`);
      if (found.subjectKind === 'person' && found.extraTokens !== null)
        await settleApprovalEscalations(ctx.store, found.subjectId, args.approve, now);
      await ctx.audit.record({
        action: args.approve ? 'exception.approve' : 'exception.deny',
        subject: found.subjectId,
        detail: { exception: id, note: decided.note },
      });
      return decided;
    },
  }),
);

// ---------- webhook deliveries ----------

const DeliveryRef = builder.objectRef<OutboxRow>('WebhookDelivery').implement({
  description: 'One notification in the outbox: delivered, waiting for a retry, or given up.',
  fields: (t) => ({
    id: t.exposeID('id'),
    webhookId: t.exposeID('webhookId'),
    url: t.exposeString('url'),
    audience: t.exposeString('audience'),
    eventType: t.exposeString('eventType'),
    idempotencyKey: t.exposeString('idempotencyKey'),
    attempts: t.exposeInt('attempts'),
    state: t.string({
      description: '`delivered`, `pending` (not yet tried or retrying) or `failed` (gave up).',
      resolve: (d) => (d.deliveredAt ? 'delivered' : d.nextAttemptAt ? 'pending' : 'failed'),
    }),
    nextAttemptAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (d) => (d.deliveredAt ? null : d.nextAttemptAt),
    }),
    deliveredAt: t.field({ type: DateTimeResolver, nullable: true, resolve: (d) => d.deliveredAt }),
    lastError: t.exposeString('lastError', { nullable: true }),
    lastStatus: t.exposeInt('lastStatus', { nullable: true }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (d) => d.createdAt }),
    payload: t.field({ type: JSONResolver, resolve: (d) => d.payload }),
  }),
});

builder.queryField('webhookDeliveries', (t) =>
  t.connection({
    type: DeliveryRef,
    description: 'Outbox rows, newest first. `failed: true` lists those whose last attempt failed.',
    authScopes: { admin: true },
    args: {
      failed: t.arg.boolean({ required: false }),
      delivered: t.arg.boolean({ required: false }),
      webhook: t.arg.id({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      pageById(args, (beforeId, limit) =>
        listDeliveries(
          ctx.store,
          {
            failed: args.failed ?? null,
            delivered: args.delivered ?? null,
            webhookId: args.webhook ? String(args.webhook) : null,
          },
          { beforeId, limit },
        ),
      ),
  }),
);

type WebhookShape = {
  id: string;
  audience: string;
  url: string;
  createdAt: string;
  secret?: string;
};

const WebhookRef = builder.objectRef<WebhookShape>('Webhook').implement({
  description: 'An endpoint that receives the notifications of one audience (or `all`).',
  fields: (t) => ({
    id: t.exposeID('id'),
    audience: t.exposeString('audience'),
    url: t.exposeString('url'),
    createdAt: t.field({ type: DateTimeResolver, resolve: (w) => w.createdAt }),
    secret: t.string({
      nullable: true,
      description: 'The signing secret: returned once, by addWebhook; null afterwards.',
      resolve: (w) => w.secret ?? null,
    }),
  }),
});

builder.queryField('webhooks', (t) =>
  t.field({
    type: [WebhookRef],
    authScopes: { admin: true },
    resolve: async (_root, _args, ctx) =>
      (await listWebhooks(ctx.store)).map(({ secret: _secret, ...rest }) => rest),
  }),
);

builder.mutationFields((t) => ({
  addWebhook: t.field({
    type: WebhookRef,
    description:
      'Send the notifications of an audience to a URL, signed with HMAC-SHA256 (`x-quotient-signature: sha256=<hex>`). Same as `quotient webhooks add`.',
    authScopes: { admin: true },
    args: {
      audience: t.arg.string({ required: true }),
      url: t.arg.string({ required: true }),
      secret: t.arg.string({
        required: false,
        description: 'Default: a random secret, returned once.',
      }),
    },
    errors: { types: [InvalidRequestError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const problems: { field: string; message: string }[] = [];
      if (!WEBHOOK_AUDIENCES.includes(args.audience))
        problems.push({ field: 'audience', message: `use one of ${WEBHOOK_AUDIENCES.join(', ')}` });
      let url: URL | null = null;
      try {
        url = new URL(args.url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          problems.push({ field: 'url', message: 'must be http or https' });
      } catch {
        problems.push({ field: 'url', message: `not a URL: ${args.url}` });
      }
      if (args.secret != null && args.secret.length < 8)
        problems.push({ field: 'secret', message: 'must be at least 8 characters' });
      if (problems.length || !url) throw new InvalidRequestError(problems);
      const secret = args.secret ?? randomBytes(24).toString('base64url');
      const hook = await addWebhook(ctx.store, args.audience, url.toString(), secret);
      await ctx.audit.record({
        action: 'webhook.add',
        subject: hook.id,
        detail: { audience: hook.audience, url: hook.url },
      });
      return hook;
    },
  }),
  removeWebhook: t.field({
    type: 'Int',
    description: 'Remove endpoints by id or URL; returns how many were removed.',
    authScopes: { admin: true },
    args: { idOrUrl: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const removed = await removeWebhook(ctx.store, args.idOrUrl);
      if (removed) await ctx.audit.record({ action: 'webhook.remove', subject: args.idOrUrl });
      return removed;
    },
  }),
}));

// ---------- subscription (SSE) ----------

builder.subscriptionType({});

builder.subscriptionField('escalationRaised', (t) =>
  t.field({
    type: EscalationRef,
    description:
      'New escalations, recorded by any instance on a PostgreSQL server (Server-Sent Events: POST with `accept: text/event-stream`). Members receive their own only.',
    authScopes: { readDirectory: true },
    args: { subjectKind: t.arg.string({ required: false }) },
    subscribe: async (_root, args, ctx) =>
      pipe(
        await enforcementFor(ctx.store).subscribe(),
        filter((e: EscalationRow) => {
          if (args.subjectKind && e.subjectKind !== args.subjectKind) return false;
          if (ctx.caller.role === 'member')
            return e.subjectKind === 'person' && e.subjectId === ctx.caller.person;
          return true;
        }),
      ),
    resolve: (e) => e,
  }),
);

// ---------- bands on people and teams ----------

type BandInfo = { band: Band; percent: number };

const WORST: Record<Band, number> = { green: 0, yellow: 1, red: 2 };

/** Per request: the quota band of a batch of people, in three queries for the whole batch. */
function personBands(ctx: Context) {
  return loaderFor(ctx, 'personBand', async (ids: readonly string[]) => {
    const service = enforcementFor(ctx.store);
    const active = await service.activeRuleSet();
    if (!active) return ids.map(() => null);
    const now = service.now();
    const plan = quotaPlan(active.ruleSet);
    const reader = usageReader(ctx.store);
    const scope = { people: [...ids] };
    const [directory, sums, extras] = await Promise.all([
      reader.directory(scope),
      reader.sumFacts(plan.windows(now), ['person'], scope),
      activeExtras(ctx.store, now, { people: [...ids] }),
    ]);
    const extra = new Map([...ids].map((id) => [id, extras.tokens.get(`person:${id}`) ?? 0]));
    const people = directory.people;
    const result = evaluate(plan.ruleSet, {
      now,
      subjects: [
        ...people.map((p) => ({
          kind: 'person' as const,
          id: p.id,
          attributes: personAttributes(p),
          facts: Object.fromEntries(
            plan
              .windows(now)
              .map((w) => [
                w.key,
                Object.fromEntries(
                  w.facts.map((f) => [f, sums.person?.get(w.key)?.get(p.id)?.[f] ?? 0]),
                ),
              ]),
          ),
        })),
        ...directory.teams.map((team) => ({
          kind: 'team' as const,
          id: team.id,
          attributes: teamAttributes(team),
          facts: {},
        })),
      ],
    });
    const byId = new Map<string, BandInfo>();
    for (const s of result.subjects) {
      if (s.kind !== 'person' || !s.quota) continue;
      const d = decideQuota({
        quota: {
          tier: s.quota.tier,
          limit: s.quota.limit,
          used: s.quota.used,
          allowedClasses: 'any',
        },
        ladder: active.ruleSet.ladders.quota ?? null,
        exceptionTokens: extra.get(s.id) ?? 0,
        estimatedTokens: 0,
        modelClass: null,
        classPrices: {},
      });
      byId.set(s.id, {
        band: d.band,
        percent: (s.quota.used / Math.max(d.effectiveLimit, 1)) * 100,
      });
    }
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** Per request: each team's worst budget band. */
function teamBands(ctx: Context) {
  return loaderFor(ctx, 'teamBand', async (ids: readonly string[]) => {
    const service = enforcementFor(ctx.store);
    const active = await service.activeRuleSet();
    if (!active) return ids.map(() => null);
    const now = service.now();
    const rs = active.ruleSet;
    const reader = usageReader(ctx.store);
    const windows = factWindows(rs.required.team, now, rs.ir.timezone);
    const rows = await ctx.store.query<Record<string, unknown>>(
      'select id, name, parent_id, cost_center, sensitivity, owner, from_directory from teams where id = any ($1::text[])',
      [[...ids]],
    );
    const sums = windows.length
      ? await reader.sumFacts(windows, ['team'], { teams: [...ids] })
      : {};
    const result = evaluate(rs, {
      now,
      subjects: rows.map((t) => ({
        kind: 'team' as const,
        id: String(t.id),
        attributes: {
          name: t.name,
          parent: t.parent_id,
          cost_center: t.cost_center,
          sensitivity: t.sensitivity,
          owner: t.owner,
        },
        facts: Object.fromEntries(
          windows.map((w) => [
            w.key,
            Object.fromEntries(
              w.facts.map((f) => [f, sums.team?.get(w.key)?.get(String(t.id))?.[f] ?? 0]),
            ),
          ]),
        ),
      })),
    });
    const extras = await activeExtras(ctx.store, now, { teams: [...ids] });
    const ladder = rs.ladders.budget ?? null;
    const byId = new Map<string, BandInfo>();
    for (const s of result.subjects) {
      if (s.kind !== 'team' || s.budgets.length === 0) continue;
      // approved money exceptions raise every budget of the team
      const extra = extras.money.get(`team:${s.id}`) ?? 0;
      let worst: BandInfo | null = null;
      for (const b of s.budgets) {
        const percent = b.limit + extra > 0 ? (b.spent / (b.limit + extra)) * 100 : 0;
        const band = bandFor(ladder, percent);
        if (
          !worst ||
          WORST[band] > WORST[worst.band] ||
          (band === worst.band && percent > worst.percent)
        )
          worst = { band, percent };
      }
      if (worst) byId.set(s.id, worst);
    }
    return ids.map((id) => byId.get(id) ?? null);
  });
}

const loaders = new WeakMap<Context, Map<string, DataLoader<string, BandInfo | null>>>();

function loaderFor(
  ctx: Context,
  name: string,
  batch: (ids: readonly string[]) => Promise<(BandInfo | null)[]>,
): DataLoader<string, BandInfo | null> {
  let map = loaders.get(ctx);
  if (!map) {
    map = new Map();
    loaders.set(ctx, map);
  }
  let loader = map.get(name);
  if (!loader) {
    loader = new DataLoader(batch, { maxBatchSize: 1000 });
    map.set(name, loader);
  }
  return loader;
}

builder.objectFields(PersonRef, (t) => ({
  band: t.field({
    type: BandEnum,
    nullable: true,
    description:
      "The person's quota band under the active policy (null without a quota). Batched: a page of people costs three queries.",
    resolve: async (p, _a, ctx) => (await personBands(ctx).load(p.id))?.band ?? null,
  }),
  quotaPercent: t.float({
    nullable: true,
    description: 'Percent of the (exception-raised) quota used this period.',
    resolve: async (p, _a, ctx) => (await personBands(ctx).load(p.id))?.percent ?? null,
  }),
}));

builder.objectFields(TeamRef, (t) => ({
  band: t.field({
    type: BandEnum,
    nullable: true,
    description:
      "The team's worst budget band under the active policy (null when no budget applies).",
    resolve: async (team, _a, ctx) => (await teamBands(ctx).load(team.id))?.band ?? null,
  }),
  budgetPercent: t.float({
    nullable: true,
    description: 'Percent spent of the budget that sets the band.',
    resolve: async (team, _a, ctx) => (await teamBands(ctx).load(team.id))?.percent ?? null,
  }),
}));
