// Explaining one stored person: their tier, quota band, escalation steps, rules and
// leaderboard scores under the active policy, from the database, with the facts and the
// rule behind each. Evaluated over the whole organisation (from the evaluation cache) so
// ranks are real ranks within the cohort.
//
// Who may ask (the role table in roles.ts, as for a person's quota): a role that sees names
// (governance, admin) explains anyone, and each such read of another person is audited; a
// role with `self` (member) explains only the person its key is bound to; viewer and ingest
// keys explain no one, since an explanation is individual data by definition.
import { parseWindow, replayClock, WindowError } from '../engine/impact-window.ts';
import type { BudgetState, SubjectResult } from '../policy/evaluate/types.ts';
import type { Store } from '../store/db.ts';
import { listExceptions } from '../store/exceptions.ts';
import type { Session } from './caller.ts';
import {
  ForbiddenError,
  InvalidWindowError,
  NoActivePolicyError,
  NotFoundError,
} from './errors.ts';
import { perStore } from './per-store.ts';
import { type Identity, privacyFor } from './privacy.ts';
import { readServiceFor } from './reads.ts';
import { can, seesNames } from './roles.ts';

export type ExplainRequest = {
  person: string;
  /** only this leaderboard (default: every board the policy has) */
  board?: string | null;
  /** evaluate at the end of this window (`2026-Q3`, `last-month`; default: now) */
  window?: string | null;
};

export type PersonExplanation = {
  person: Identity;
  team: string | null;
  policy: { name: string | null; version: string | null; hash: string };
  currency: string;
  timezone: string;
  /** the window asked for, or null for now */
  window: { label: string; from: string; to: string } | null;
  evaluatedAt: string;
  /** the person's result; `leaderboards` holds only the board asked for, when one was */
  result: SubjectResult;
  /** the budgets of the person's team, which their spending counts towards */
  teamBudgets: BudgetState[];
  /** approved exceptions active at the evaluation time; they raise the quota limit */
  exceptions: { id: string; extraTokens: number | null; expiresAt: string; approver: string }[];
  /** the quota limit with exceptions added (null without a quota) */
  effectiveLimit: number | null;
};

export type ExplainService = {
  explain(session: Session, request: ExplainRequest): Promise<PersonExplanation>;
};

export const explainFor = perStore(createExplainService);

/** May this caller see this person's explanation? Throws when not. */
export function checkMayExplain(caller: Session['caller'], person: string): void {
  if (seesNames(caller.role)) return;
  if (can(caller.role, 'self') && caller.person === person) return;
  throw new ForbiddenError(
    can(caller.role, 'self')
      ? `role "${caller.role}" may explain only its own person; other people need a governance key`
      : `role "${caller.role}" may not explain people (an explanation is individual data)`,
  );
}

function createExplainService(store: Store): ExplainService {
  const reads = readServiceFor(store);
  const privacy = privacyFor(store);
  return {
    async explain(session, request) {
      checkMayExplain(session.caller, request.person);
      const active = await reads.active();
      if (!active) throw new NoActivePolicyError();
      const { ruleSet, watermark } = active;
      const ir = ruleSet.ir;
      if (request.board != null && !(request.board in ir.leaderboards))
        throw new NotFoundError('leaderboard', request.board);
      const now = reads.now();
      let clock = now;
      let window: PersonExplanation['window'] = null;
      if (request.window) {
        try {
          const w = parseWindow(request.window, ir.timezone, now);
          clock = replayClock(w, now);
          window = { label: w.label, from: w.from, to: w.to };
        } catch (error) {
          if (error instanceof WindowError)
            throw new InvalidWindowError(request.window, error.message);
          throw error;
        }
      }
      const { evaluation } = await reads.cache.current(ruleSet, clock, watermark);
      const result = evaluation.result.subjects.find(
        (s) => s.kind === 'person' && s.id === request.person,
      );
      const entry = evaluation.directory.people.find((p) => p.id === request.person);
      if (!result || !entry) throw new NotFoundError('person', request.person);
      const view = await privacy.view(session);
      const shown = view.identity(request.person);
      if (!shown.masked && request.person !== session.caller.person)
        await session.audit.record({
          action: 'person.explain',
          subject: request.person,
          detail: { window: window?.label ?? null, board: request.board ?? null },
        });
      const exceptions = (
        await listExceptions(store, { subjectId: request.person, activeAt: clock }, { limit: 100 })
      ).filter((e) => e.subjectKind === 'person');
      const team = entry.team ?? null;
      const teamResult = team
        ? evaluation.result.subjects.find((s) => s.kind === 'team' && s.id === team)
        : undefined;
      const extra = exceptions.reduce((sum, e) => sum + (e.extraTokens ?? 0), 0);
      return {
        person: shown,
        team,
        policy: evaluation.result.policy,
        currency: ir.currency,
        timezone: ir.timezone,
        window,
        evaluatedAt: clock.toISOString(),
        result:
          request.board == null
            ? result
            : {
                ...result,
                leaderboards: Object.fromEntries(
                  Object.entries(result.leaderboards).filter(([name]) => name === request.board),
                ),
              },
        teamBudgets: teamResult?.budgets ?? [],
        exceptions: exceptions.map((e) => ({
          id: e.id,
          extraTokens: e.extraTokens,
          expiresAt: e.expiresAt,
          approver: e.approver,
        })),
        effectiveLimit: result.quota ? result.quota.limit + extra : null,
      };
    },
  };
}
