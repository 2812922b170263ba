// Who may decide an approval: of an escalation's approval step or of an exception request.
// The rule itself is pure (engine/exceptions.ts mayDecide); this reads the subject's manager
// and team owner it needs, and records a refusal in the audit log before refusing.
import { mayDecide } from '../engine/exceptions.ts';
import type { Store } from '../store/db.ts';
import { relationsOf, teamOwnerOf } from '../store/exceptions.ts';
import type { Session } from './caller.ts';
import { ForbiddenError } from './errors.ts';

export type ApprovalRequest = {
  /** what is decided, for the audit entry: `escalation` or `exception` */
  what: 'escalation' | 'exception';
  id: string;
  subjectKind: string;
  subjectId: string;
  /** the approver the policy names (manager, team_owner, security, …) */
  approver: string;
  /** who asked (never allowed to decide their own request) */
  requestedBy: string | null;
};

/** Throws ForbiddenError (audited) unless the caller may decide this approval. */
export async function assertMayDecide(
  store: Store,
  { caller, audit }: Session,
  request: ApprovalRequest,
): Promise<void> {
  const relations =
    request.subjectKind === 'person'
      ? (await relationsOf(store, [request.subjectId])).get(request.subjectId)
      : undefined;
  const teamOwner =
    request.subjectKind === 'team'
      ? await teamOwnerOf(store, request.subjectId)
      : (relations?.teamOwner ?? null);
  const refusal = mayDecide(
    { role: caller.role, person: caller.person },
    {
      approver: request.approver,
      subjectId: request.subjectId,
      requestedBy: request.requestedBy,
      manager: relations?.manager ?? null,
      teamOwner,
    },
  );
  if (!refusal) return;
  await audit.record({
    action: `${request.what}.decide.refused`,
    subject: request.subjectId,
    detail: { [request.what]: request.id, reason: refusal },
  });
  throw new ForbiddenError(refusal);
}
