// Exceptions: requesting extra tokens or money, deciding a request, and the list (with the
// requests awaiting the caller). The rules are in src/app/exceptions.ts.
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NoActivePolicyError,
  NotFoundError,
} from '../../app/errors.ts';
import { type ExceptionView, exceptionsFor } from '../../app/exceptions.ts';
import { builder } from '../builder.ts';
import { pageById } from '../connections.ts';
import { sessionOf } from '../context.ts';
import { approvalSubjectShown, auditSubject } from './escalations.ts';
import { DecimalResolver, MoneyRef } from './money.ts';
import { DateTimeResolver } from './scalars.ts';

const ExceptionStatusEnum = builder.enumType('ExceptionStatus', {
  values: ['requested', 'approved', 'denied', 'expired'] as const,
});

const ExceptionRef = builder.objectRef<ExceptionView>('QuotaException').implement({
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
        return approvalSubjectShown(ctx, x).id;
      },
    }),
    extraTokens: t.exposeFloat('extraTokens', { nullable: true }),
    extraMoney: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Extra money for the budgets, in the policy currency.',
      resolve: (x) =>
        x.extraMoney === null ? null : { amount: x.extraMoney, currency: x.currency },
    }),
    justification: t.string({
      nullable: true,
      resolve: (x, _a, ctx) => (approvalSubjectShown(ctx, x).masked ? null : x.justification),
    }),
    expiresAt: t.field({ type: DateTimeResolver, resolve: (x) => x.expiresAt }),
    status: t.field({ type: ExceptionStatusEnum, resolve: (x) => x.status }),
    active: t.boolean({
      description: 'Approved and not yet expired (by the server clock).',
      resolve: (x, _a, ctx) => exceptionsFor(ctx.store).isActive(x),
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
      'Exceptions, newest first. `awaitingMe` lists open requests the caller may decide: all for governance, their reports for a manager; `decidedByMe` the requests the caller approved or denied.',
    authScopes: { readDirectory: true },
    args: {
      status: t.arg({ type: [ExceptionStatusEnum], required: false }),
      subject: t.arg.string({ required: false }),
      awaitingMe: t.arg.boolean({ required: false }),
      decidedByMe: t.arg.boolean({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      pageById(args, (beforeId, limit) =>
        exceptionsFor(ctx.store).list(
          sessionOf(ctx),
          {
            status: args.status ?? null,
            subject: args.subject ?? null,
            awaitingMe: args.awaitingMe ?? false,
            decidedByMe: args.decidedByMe ?? false,
          },
          { beforeId, limit },
        ),
      ),
  }),
);

builder.mutationFields((t) => ({
  requestException: t.field({
    type: ExceptionRef,
    description:
      'Ask for extra tokens (quota) or money (budgets) until `expiresAt`. A member asks for themselves; governance for anyone. The policy names the approver.',
    authScopes: { self: true },
    args: {
      subject: t.arg.string({ required: false, description: "Defaults to the key's own person." }),
      subjectKind: t.arg.string({ required: false, description: '`person` (default) or `team`.' }),
      extraTokens: t.arg.float({ required: false }),
      extraMoney: t.arg({
        type: DecimalResolver,
        required: false,
        description: 'Extra money, an exact decimal in the policy currency.',
      }),
      justification: t.arg.string({ required: true }),
      expiresAt: t.arg({ type: DateTimeResolver, required: true }),
    },
    errors: {
      types: [InvalidRequestError, ForbiddenError, NoActivePolicyError],
      directResult: true,
    },
    resolve: (_root, args, ctx) =>
      exceptionsFor(ctx.store).request(sessionOf(ctx), {
        subject: args.subject ?? null,
        subjectKind: args.subjectKind ?? null,
        extraTokens: args.extraTokens ?? null,
        extraMoney: args.extraMoney == null ? null : Number(args.extraMoney),
        justification: args.justification,
        expiresAt: args.expiresAt,
      }),
  }),
  decideException: t.field({
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
    resolve: (_root, args, ctx) =>
      exceptionsFor(ctx.store).decide(
        sessionOf(ctx),
        String(args.id),
        args.approve,
        args.note ?? null,
      ),
  }),
}));
