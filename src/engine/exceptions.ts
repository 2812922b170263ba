// Exceptions: validating a request and deciding who may approve it. Pure.
//
// An exception raises a subject's effective limit until it expires: extra tokens raise the
// quota limit, extra money raises the subject's budgets. The approver is the one the
// ladder names (`require approval by manager`), or governance when the ladder names none.
// Governance and admin roles may always decide; nobody decides their own request.

export type ExceptionRequest = {
  subjectKind: 'person' | 'team';
  subjectId: string;
  extraTokens: number | null;
  extraMoney: number | null;
  justification: string | null;
  expiresAt: Date;
};

export type Problem = { field: string; message: string };

export const MIN_JUSTIFICATION = 10;

export function validateExceptionRequest(
  request: ExceptionRequest,
  now: Date,
  maxDurationMs: number | null,
): Problem[] {
  const problems: Problem[] = [];
  if (!request.subjectId.trim()) problems.push({ field: 'subject', message: 'subject is empty' });
  if (request.extraTokens === null && request.extraMoney === null) {
    problems.push({ field: 'extraTokens', message: 'give extraTokens or extraMoney' });
  }
  if (request.extraTokens !== null && request.extraMoney !== null) {
    problems.push({ field: 'extraMoney', message: 'give extraTokens or extraMoney, not both' });
  }
  if (request.extraTokens !== null) {
    if (!Number.isInteger(request.extraTokens) || request.extraTokens <= 0)
      problems.push({
        field: 'extraTokens',
        message: `must be a positive whole number of tokens (got ${request.extraTokens})`,
      });
  }
  if (request.extraMoney !== null) {
    if (!Number.isFinite(request.extraMoney) || request.extraMoney <= 0)
      problems.push({
        field: 'extraMoney',
        message: `must be a positive amount (got ${request.extraMoney})`,
      });
  }
  const text = request.justification?.trim() ?? '';
  if (text.length === 0) problems.push({ field: 'justification', message: 'is required' });
  else if (text.length < MIN_JUSTIFICATION)
    problems.push({
      field: 'justification',
      message: `is too short: say why in at least ${MIN_JUSTIFICATION} characters`,
    });
  const expires = request.expiresAt.getTime();
  if (!Number.isFinite(expires)) problems.push({ field: 'expiresAt', message: 'is not a time' });
  else if (expires <= now.getTime())
    problems.push({
      field: 'expiresAt',
      message: `${request.expiresAt.toISOString()} is not in the future (now ${now.toISOString()})`,
    });
  else if (maxDurationMs !== null && expires - now.getTime() > maxDurationMs)
    problems.push({
      field: 'expiresAt',
      message: `${request.expiresAt.toISOString()} is beyond the policy's maximum exception duration of ${describeDuration(maxDurationMs)} (latest ${new Date(now.getTime() + maxDurationMs).toISOString()})`,
    });
  return problems;
}

function describeDuration(ms: number): string {
  const days = ms / 86_400_000;
  if (Number.isInteger(days)) return `${days}d`;
  const hours = ms / 3_600_000;
  return Number.isInteger(hours) ? `${hours}h` : `${ms / 60_000}m`;
}

export type Decider = {
  role: string;
  /** the person a member key is bound to */
  person: string | null;
};

export type ApprovalContext = {
  /** who the ladder says approves: manager, team_owner, governance, finance, security */
  approver: string;
  subjectId: string;
  requestedBy: string | null;
  /** the subject's manager (person subjects) */
  manager: string | null;
  /** the owner of the subject's team */
  teamOwner: string | null;
};

const OVERSEERS = new Set(['governance', 'admin']);

/** Null when `decider` may decide; otherwise the reason they may not. */
export function mayDecide(decider: Decider, ctx: ApprovalContext): string | null {
  if (decider.person !== null && decider.person === ctx.subjectId)
    return 'nobody may decide an exception for themselves';
  if (OVERSEERS.has(decider.role)) return null;
  if (decider.person === null) return `role ${decider.role} may not decide exceptions`;
  if (ctx.approver === 'manager' && ctx.manager !== null && decider.person === ctx.manager)
    return null;
  if (ctx.approver === 'team_owner' && ctx.teamOwner !== null && decider.person === ctx.teamOwner)
    return null;
  const who =
    ctx.approver === 'manager'
      ? `the manager of ${ctx.subjectId}${ctx.manager ? ` (${ctx.manager})` : ' (none on record)'}`
      : ctx.approver === 'team_owner'
        ? `the owner of ${ctx.subjectId}'s team${ctx.teamOwner ? ` (${ctx.teamOwner})` : ' (none on record)'}`
        : `the ${ctx.approver} role`;
  return `this exception needs approval by ${who} or governance; ${decider.person} is neither`;
}
