// Holds: the budget and rule steps that currently stand in someone's way. Pure.
//
// A quota answer weighs the person's own tier live (their usage plus the request), and
// everything else the policy says through holds: each budget step or rule step that asks for
// justification or approval, or blocks, for the person, their team or the organisation.
// Re-evaluation derives holds from the same escalation drafts it records (after approved
// exceptions raised the limits) and replaces the evaluated subjects' holds with them, so a
// hold lasts exactly as long as an evaluation finds the step crossed.
import type { IrAction } from '../policy/ir.ts';
import type { EscalationDraft, SubjectRef } from './escalations.ts';

export type Hold = {
  subject: SubjectRef;
  /** the escalation key of the step, which links a hold to its justification or approval */
  key: string;
  source: 'budget' | 'rule';
  /** the budget key ("each team", "team platform@sandbox", "org") or the rule name */
  name: string;
  /** an environment-scoped budget holds only requests in that environment */
  environment: string | null;
  /** a project budget holds only requests for that project */
  project: string | null;
  threshold: number | null;
  /** the percent observed when the step was crossed (actual or forecast) */
  observed: number | null;
  action: IrAction;
  periodEnd: string;
  policyHash: string;
};

/** A hold as the quota check reads it: with the state of its escalation, when recorded. */
export type HoldState = Hold & {
  escalationId: string | null;
  escalationStatus: string | null;
};

const FRICTION = new Set<IrAction['kind']>(['require_justification', 'require_approval', 'block']);

/** Whether an action stands in the way of a request (notices do not). */
export function isFriction(action: IrAction): boolean {
  return FRICTION.has(action.kind);
}

/** The budget and rule steps of these drafts that hold requests back. */
export function holdsFrom(drafts: readonly EscalationDraft[]): Hold[] {
  const out: Hold[] = [];
  for (const d of drafts) {
    if (!isFriction(d.action)) continue;
    if (d.source === 'ladder' && d.ladder === 'quota') continue; // weighed live
    const budget = d.source === 'ladder';
    const name = budget ? (d.of ?? '') : (d.rule ?? '');
    const facts = d.facts as {
      observedPercent?: number;
      environment?: string | null;
      project?: string;
    };
    out.push({
      subject: d.subject,
      key: d.key,
      source: budget ? 'budget' : 'rule',
      name,
      // from the budget's own scope, not its key: a person's key holds an `@` of its own
      environment: budget ? (facts.environment ?? null) : null,
      project: budget ? (facts.project ?? null) : null,
      threshold: d.threshold,
      observed: budget ? (facts.observedPercent ?? null) : null,
      action: d.action,
      periodEnd: d.periodEnd,
      policyHash: d.policyHash,
    });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The holds that bear on one person: their own, their team's and the organisation's. */
export function holdsOfPerson<T extends Hold>(
  holds: readonly T[],
  personId: string,
  teamId: string | null,
): T[] {
  return holds.filter(
    (h) =>
      (h.subject.kind === 'person' && h.subject.id === personId) ||
      (h.subject.kind === 'team' && teamId !== null && h.subject.id === teamId) ||
      h.subject.kind === 'org',
  );
}
