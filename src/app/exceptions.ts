// Exceptions: asking for extra tokens (quota) or money (budgets) until a time, deciding a
// request (the approver the policy names, or governance; never the subject), and listing.
// A decision re-evaluates the subject at once, so its holds follow the raised limit.

import { ladderApprover } from '../engine/escalations.ts';
import { validateExceptionRequest } from '../engine/exceptions.ts';
import type { Store } from '../store/db.ts';
import { settleApprovalEscalations } from '../store/escalations.ts';
import {
  createException,
  decideException,
  type ExceptionRow,
  getException,
  listExceptions,
  membersOf,
} from '../store/exceptions.ts';
import { MAX_KEY_BYTES, textProblem } from '../store/ingest/limits.ts';
import { activePolicyFor } from './active-policy.ts';
import { assertMayDecide } from './approvals.ts';
import type { Session } from './caller.ts';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from './errors.ts';
import { perStore } from './per-store.ts';
import { reevaluationFor } from './reevaluation.ts';
import { seesNames } from './roles.ts';

export type ExceptionRequestArgs = {
  subject: string | null;
  subjectKind: string | null;
  extraTokens: number | null;
  extraMoney: number | null;
  justification: string;
  expiresAt: Date;
};

/** An exception with the currency its money is in (the active policy's). */
export type ExceptionView = ExceptionRow & { currency: string };

export type ExceptionQuery = {
  status: string[] | null;
  subject: string | null;
  awaitingMe: boolean;
  /** only the requests the caller approved or denied (a manager's decision history) */
  decidedByMe?: boolean;
};

export type Exceptions = {
  request(session: Session, args: ExceptionRequestArgs): Promise<ExceptionView>;
  decide(
    session: Session,
    id: string,
    approve: boolean,
    note: string | null,
  ): Promise<ExceptionView>;
  list(
    session: Session,
    query: ExceptionQuery,
    page: { beforeId: string | null; limit: number },
  ): Promise<ExceptionView[]>;
  /** Approved and unexpired by the server clock. */
  isActive(row: ExceptionRow): boolean;
};

export const exceptionsFor = perStore(createExceptions);

function createExceptions(store: Store): Exceptions {
  const policy = activePolicyFor(store);
  const currency = async () => (await policy.current())?.ruleSet.ir.currency ?? 'USD';
  const view = async (row: ExceptionRow): Promise<ExceptionView> => ({
    ...row,
    currency: await currency(),
  });
  const views = async (rows: ExceptionRow[]): Promise<ExceptionView[]> => {
    const c = await currency();
    return rows.map((row) => ({ ...row, currency: c }));
  };
  return {
    async request({ caller, audit }, args) {
      const subjectKind = (args.subjectKind ?? 'person') as 'person' | 'team';
      if (subjectKind !== 'person' && subjectKind !== 'team')
        throw new InvalidRequestError([
          { field: 'subjectKind', message: 'must be person or team' },
        ]);
      const subject = args.subject ?? caller.person;
      if (!subject)
        throw new InvalidRequestError([
          { field: 'subject', message: 'this key is bound to no person: pass subject' },
        ]);
      // an id as ingest stores them: a longer one names no one, and would overflow the index
      const tooLong = textProblem(subject, MAX_KEY_BYTES);
      if (tooLong) throw new InvalidRequestError([{ field: 'subject', message: tooLong }]);
      if (!seesNames(caller.role) && !(subjectKind === 'person' && subject === caller.person))
        throw new ForbiddenError('a member may request exceptions only for themselves');
      const active = await policy.require();
      const now = policy.now();
      const request = {
        subjectKind,
        subjectId: subject,
        extraTokens: args.extraTokens,
        extraMoney: args.extraMoney,
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
        store,
        {
          ...request,
          justification: request.justification.trim(),
          approver,
          requestedBy: caller.person ?? caller.keyId,
        },
        now,
      );
      await audit.record({
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
      return { ...created, currency: active.ruleSet.ir.currency };
    },

    async decide(session, id, approve, note) {
      const { caller, audit } = session;
      const found = await getException(store, id);
      if (!found) throw new NotFoundError('exception', id);
      await assertMayDecide(store, session, {
        what: 'exception',
        id,
        subjectKind: found.subjectKind,
        subjectId: found.subjectId,
        approver: found.approver,
        requestedBy: found.requestedBy,
      });
      const now = policy.now();
      const decided = await decideException(
        store,
        id,
        approve,
        note?.trim() || null,
        caller.person ?? caller.keyId,
        now,
      );
      if (!decided) throw new ConflictError(`exception ${id} is already ${found.status}`);
      if (found.subjectKind === 'person' && found.extraTokens !== null)
        await settleApprovalEscalations(store, found.subjectId, approve, now);
      await audit.record({
        action: approve ? 'exception.approve' : 'exception.deny',
        subject: found.subjectId,
        detail: { exception: id, note: decided.note },
      });
      if (approve) {
        // the raised limit lifts the subject's holds now, not at the next sweep
        const people =
          found.subjectKind === 'person'
            ? [found.subjectId]
            : await membersOf(store, found.subjectId);
        await reevaluationFor(store).reevaluatePeople(people);
      }
      return view(decided);
    },

    async list({ caller }, query, page) {
      const governance = seesNames(caller.role);
      const me = caller.person;
      if (query.awaitingMe) {
        if (governance)
          return views(
            await listExceptions(store, { status: ['requested'], subjectId: query.subject }, page),
          );
        if (!me) return [];
        return views(await listExceptions(store, { approvableBy: me }, page));
      }
      if (query.decidedByMe) {
        const decidedBy = me ?? caller.keyId;
        return views(await listExceptions(store, { status: query.status, decidedBy }, page));
      }
      if (!governance) {
        if (!me) throw new ForbiddenError('listing exceptions needs a member or governance key');
        return views(await listExceptions(store, { status: query.status, subjects: [me] }, page));
      }
      return views(
        await listExceptions(store, { status: query.status, subjectId: query.subject }, page),
      );
    },

    isActive(row: ExceptionRow) {
      return (
        row.status === 'approved' && new Date(row.expiresAt).getTime() > policy.now().getTime()
      );
    },
  };
}
