// Escalations: listing them (members their own), acknowledging or justifying one, deciding
// an approval step (the approver the policy names, or governance), and the live feed.

import { filter, map, pipe } from 'graphql-yoga';
import type { Store } from '../store/db.ts';
import {
  acknowledgeEscalation,
  decideEscalation,
  type EscalationFilter,
  type EscalationRow,
  getEscalation,
  listEscalations,
} from '../store/escalations.ts';
import { activePolicyFor } from './active-policy.ts';
import { assertMayDecide } from './approvals.ts';
import type { Caller, Session } from './caller.ts';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from './errors.ts';
import { escalationEventsFor } from './escalation-events.ts';
import { perStore } from './per-store.ts';
import { privacyFor, subjectVisible, withoutGroupRuleFigures } from './privacy.ts';
import { reevaluationFor } from './reevaluation.ts';
import { seesNames } from './roles.ts';

export type EscalationQuery = Omit<EscalationFilter, 'people' | 'approvableBy' | 'decidedBy'> & {
  /** only open approval steps the caller may decide (governance: all; a manager: their reports') */
  awaitingMe?: boolean;
  /** only approval steps the caller approved or denied */
  decidedByMe?: boolean;
};

export type Escalations = {
  list(
    session: Session,
    filter: EscalationQuery,
    page: { beforeId: string | null; limit: number },
  ): Promise<EscalationRow[]>;
  acknowledge(session: Session, id: string, justification: string | null): Promise<EscalationRow>;
  /** Approves or denies a `require approval` step; the hold it caused lifts on approval. */
  decide(
    session: Session,
    id: string,
    approve: boolean,
    note: string | null,
  ): Promise<EscalationRow>;
  /** New escalations this caller may see (a member: their own). */
  subscribe(caller: Caller, subjectKind: string | null): Promise<AsyncIterable<EscalationRow>>;
};

export const escalationsFor = perStore(createEscalations);

function createEscalations(store: Store): Escalations {
  const policy = activePolicyFor(store);

  /** Open approval steps the caller may decide (the same rule as assertMayDecide). */
  function awaiting(
    caller: Caller,
    { awaitingMe: _, ...filter }: EscalationQuery,
    page: { beforeId: string | null; limit: number },
  ): Promise<EscalationRow[]> {
    const steps = { ...filter, status: ['open'], actionKind: 'require_approval' };
    if (seesNames(caller.role)) return listEscalations(store, steps, page);
    if (!caller.person) return Promise.resolve([]);
    return listEscalations(store, { ...steps, approvableBy: caller.person }, page);
  }
  return {
    async list(session, filter, page) {
      const { caller } = session;
      if (
        filter.subjectId &&
        filter.subjectKind !== 'team' &&
        !seesNames(caller.role) &&
        filter.subjectId !== caller.person
      )
        throw new ForbiddenError('filtering by a person needs a governance key (or your own id)');
      if (filter.awaitingMe) return awaiting(caller, filter, page);
      if (filter.decidedByMe) {
        const { decidedByMe: _, ...rest } = filter;
        return listEscalations(store, { ...rest, decidedBy: caller.person ?? caller.keyId }, page);
      }
      const people = caller.role === 'member' ? [caller.person ?? ''] : null;
      const view = await privacyFor(store).view(session);
      if (view.named) return listEscalations(store, { ...filter, people }, page);
      // below governance: people's own only, visible teams', the org's while nobody is hidden
      const shown: EscalationRow[] = [];
      let beforeId = page.beforeId;
      for (let pass = 0; pass < 20 && shown.length < page.limit; pass++) {
        const rows = await listEscalations(store, { ...filter, people }, { beforeId, limit: 200 });
        for (const row of rows)
          if (subjectVisible(view, row)) shown.push(withoutGroupRuleFigures(row));
        if (rows.length < 200) break;
        beforeId = rows[rows.length - 1].id;
      }
      return shown.slice(0, page.limit);
    },

    async acknowledge({ caller, audit }, id, justification) {
      const found = await getEscalation(store, id);
      if (!found) throw new NotFoundError('escalation', id);
      if (
        !seesNames(caller.role) &&
        !(found.subjectKind === 'person' && found.subjectId === caller.person)
      )
        throw new ForbiddenError('a member may acknowledge only their own escalations');
      const text = justification?.trim() || null;
      if (found.action.kind === 'require_justification' && !text)
        throw new InvalidRequestError([
          {
            field: 'justification',
            message: 'this step requires a justification: say why the usage is needed',
          },
        ]);
      const updated = await acknowledgeEscalation(
        store,
        id,
        text,
        caller.person ?? caller.keyId,
        policy.now(),
      );
      if (!updated)
        throw new ConflictError(
          `escalation ${id} is ${found.status}; only open escalations can be acknowledged`,
        );
      await audit.record({
        action: 'escalation.acknowledge',
        subject: found.subjectId,
        detail: { escalation: id, status: updated.status, justification: text },
      });
      return updated;
    },

    async decide(session, id, approve, note) {
      const { caller, audit } = session;
      const found = await getEscalation(store, id);
      if (!found) throw new NotFoundError('escalation', id);
      if (found.action.kind !== 'require_approval')
        throw new ConflictError(
          `escalation ${id} asks for ${found.action.kind.replaceAll('_', ' ')}, not approval`,
        );
      await assertMayDecide(store, session, {
        what: 'escalation',
        id,
        subjectKind: found.subjectKind,
        subjectId: found.subjectId,
        approver: found.action.approver,
        requestedBy: null,
      });
      const decided = await decideEscalation(
        store,
        id,
        approve,
        note?.trim() || null,
        caller.person ?? caller.keyId,
        policy.now(),
      );
      if (!decided) throw new ConflictError(`escalation ${id} is already ${found.status}`);
      await audit.record({
        action: approve ? 'escalation.approve' : 'escalation.deny',
        subject: found.subjectId,
        detail: { escalation: id, note },
      });
      if (found.subjectKind === 'person')
        await reevaluationFor(store).reevaluatePeople([found.subjectId]);
      return decided;
    },

    async subscribe(caller, subjectKind) {
      const member = caller.role === 'member';
      const privacy = privacyFor(store);
      return pipe(
        await escalationEventsFor(store).subscribe(),
        filter(async (e: EscalationRow) => {
          if (subjectKind && e.subjectKind !== subjectKind) return false;
          if (member && !(e.subjectKind === 'person' && e.subjectId === caller.person))
            return false;
          // the same rule as the list, against the directory as it is when the event comes
          return subjectVisible(await privacy.viewNow(caller), e);
        }),
        map((e: EscalationRow) => (seesNames(caller.role) ? e : withoutGroupRuleFigures(e))),
      );
    },
  };
}
