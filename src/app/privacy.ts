// Privacy: the one place that decides what a caller may learn, for every read path (GraphQL
// fields, plain HTTP, SSE, impact and diff output, exports). docs/privacy.md is the threat
// model these rules enforce; the role table (roles.ts) says who sees names.
//
// Below governance (viewer, member, ingest):
// - People are pseudonyms, scoped: the directory's pseudonyms differ from each board's, and
//   a board's differ per period, so no pseudonym joins one view to another.
// - A team is *hidden* when it is restricted or has fewer members than the active policy's
//   min_group_size; people with no team form one group, hidden the same way. Hidden people
//   are left out of every aggregate a lower role sees, org totals included, so a total
//   minus the visible parts reveals nothing about them.
// - Restricted teams and their members are absent altogether (lists, boards, escalations).
// - Person-level filters and groupings are governance work; a member sees their own.
import { createHmac } from 'node:crypto';
import type { HiddenOf } from '../engine/leaderboard.ts';
import type { Directory } from '../engine/ports.ts';
import { localDate } from '../engine/usage.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import type { BudgetState } from '../policy/evaluate/types.ts';
import { localMidnight } from '../policy/windows.ts';
import type { Store } from '../store/db.ts';
import { type Membership, membership } from '../store/directory.ts';
import { sharedSecret } from '../store/secrets.ts';
import { activePolicyFor } from './active-policy.ts';
import type { Audit } from './audit.ts';
import type { Caller, Session } from './caller.ts';
import { perStore } from './per-store.ts';
import { can, seesNames } from './roles.ts';

export const PSEUDONYM_SECRET = 'pseudonym-hmac-key';

/** A pseudonym per (scope, person): `anon-` + 12 hex digits of an HMAC under the server key. */
export type Pseudonymizer = (personId: string, scope?: string) => string;

export function pseudonymizer(secret: Buffer): Pseudonymizer {
  const cache = new Map<string, string>();
  return (personId, scope = '') => {
    const input = scope ? `${scope}\u0000${personId}` : personId;
    let value = cache.get(input);
    if (!value) {
      value = `anon-${createHmac('sha256', secret).update(input).digest('hex').slice(0, 12)}`;
      if (cache.size > 100_000) cache.clear();
      cache.set(input, value);
    }
    return value;
  };
}

export type Identity = { id: string; masked: boolean };

/** What one caller may see, under the active policy and the directory as it is now. */
export type PrivacyView = {
  caller: Caller;
  /** governance and admin: names, every group, no suppression */
  named: boolean;
  /** min_group_size of the ACTIVE policy (1 without one) */
  minGroupSize: number;
  restrictedTeams: ReadonlySet<string>;
  /** restricted teams and teams smaller than min_group_size (empty when named) */
  hiddenTeams: ReadonlySet<string>;
  /** the teams whose members lower roles see in aggregates (null when named: all) */
  visibleTeams: readonly string[] | null;
  /** people without a team are hidden (their group is smaller than min_group_size) */
  teamlessHidden: boolean;
  /** some people are hidden: org-wide figures would include them */
  anyHidden: boolean;
  teamSize(team: string): number;
  /** How a person is shown: real id to governance and to themselves, else a pseudonym. */
  identity(personId: string, scope?: string): Identity;
  /** May this caller see figures of this team as a group? */
  teamVisible(team: string | null): boolean;
  /** Is this team absent altogether (restricted) for this caller? */
  teamAbsent(team: string | null): boolean;
};

export type Privacy = {
  /** The caller's view; one per request (memoised on the request's audit trail). */
  view(session: Session): Promise<PrivacyView>;
  /** The caller's view as of now, not memoised (long-lived subscriptions). */
  viewNow(caller: Caller): Promise<PrivacyView>;
  pseudonym(): Promise<Pseudonymizer>;
};

export const privacyFor = perStore(createPrivacy);

function createPrivacy(store: Store): Privacy {
  const policy = activePolicyFor(store);
  let secret: Promise<Pseudonymizer> | null = null;
  let cached: { key: string; members: Membership } | null = null;
  const perRequest = new WeakMap<Audit, Promise<PrivacyView>>();
  const pseudonym = () => {
    secret ??= sharedSecret(store, PSEUDONYM_SECRET)
      .then(pseudonymizer)
      .catch((error) => {
        secret = null;
        throw error;
      });
    return secret;
  };
  return {
    pseudonym,
    viewNow: (caller) => viewNow(caller),
    view(session) {
      let view = perRequest.get(session.audit);
      if (!view) {
        view = viewNow(session.caller);
        perRequest.set(session.audit, view);
        view.catch(() => perRequest.delete(session.audit));
      }
      return view;
    },
  };

  async function viewNow(caller: Caller): Promise<PrivacyView> {
    const active = await policy.current();
    const k = active?.ruleSet.ir.privacy.minGroupSize ?? 1;
    // the watermark changes with the directory: one membership read per change
    const key = active?.watermark ?? '';
    if (!cached || cached.key !== key || !active)
      cached = { key, members: await membership(store) };
    return viewOf(caller, cached.members, k, await pseudonym());
  }
}

/** The view from membership counts (also used over an evaluation's own directory). */
export function viewOf(
  caller: Caller,
  members: Membership,
  minGroupSize: number,
  pseudonym: Pseudonymizer,
): PrivacyView {
  const named = seesNames(caller.role);
  const restricted = new Set(
    members.teams.filter((t) => t.sensitivity === 'restricted').map((t) => t.id),
  );
  const sizes = new Map(members.teams.map((t) => [t.id, t.members]));
  const hidden = new Set<string>();
  if (!named)
    for (const t of members.teams)
      if (restricted.has(t.id) || t.members < minGroupSize) hidden.add(t.id);
  const teamlessHidden = !named && members.teamless > 0 && members.teamless < minGroupSize;
  const anyHidden = teamlessHidden || members.teams.some((t) => hidden.has(t.id) && t.members > 0);
  return {
    caller,
    named,
    minGroupSize,
    restrictedTeams: restricted,
    hiddenTeams: hidden,
    visibleTeams: named ? null : members.teams.filter((t) => !hidden.has(t.id)).map((t) => t.id),
    teamlessHidden,
    anyHidden,
    teamSize: (team) => sizes.get(team) ?? 0,
    identity(personId, scope) {
      if (named || personId === caller.person) return { id: personId, masked: false };
      return { id: pseudonym(personId, scope), masked: true };
    },
    teamVisible: (team) => named || (team === null ? !teamlessHidden : !hidden.has(team)),
    teamAbsent: (team) => !named && team !== null && restricted.has(team),
  };
}

/** Membership counts from an evaluation's directory (boards judge by the data they rank). */
export function membershipOf(directory: Directory): Membership {
  const counts = new Map<string, number>();
  let teamless = 0;
  for (const p of directory.people) {
    if (p.team) counts.set(p.team, (counts.get(p.team) ?? 0) + 1);
    else teamless++;
  }
  const teams = directory.teams.map((t) => ({
    id: t.id,
    sensitivity: t.sensitivity,
    members: counts.get(t.id) ?? 0,
  }));
  for (const [id, n] of counts)
    if (!directory.teams.some((t) => t.id === id))
      teams.push({ id, sensitivity: 'normal', members: n });
  return { teams, teamless };
}

/**
 * Subjects of a board a lower role may not see: hidden people (members of restricted teams
 * and of teams under min_group_size) on person boards; restricted teams and teams with
 * fewer members than min_group_size on team boards. Judged by the evaluation's directory
 * (the data it ranks) and by the directory now (the view's): a team restricted or shrunk
 * since the evaluation is hidden before a new one replaces it. Null for named callers.
 */
export function hiddenBoardSubjects(
  view: PrivacyView,
  kind: 'person' | 'team' | 'org',
  directory: Directory,
): ReadonlySet<string> | null {
  if (view.named) return null;
  const own = viewOf(view.caller, membershipOf(directory), view.minGroupSize, () => '');
  const teamHidden = (team: string | null) => !own.teamVisible(team) || !view.teamVisible(team);
  const out = new Set<string>();
  if (kind === 'team') for (const t of [...own.hiddenTeams, ...view.hiddenTeams]) out.add(t);
  else if (kind === 'person')
    for (const p of directory.people) if (teamHidden(p.team)) out.add(p.id);
  return out;
}

/** The hidden subjects of a board, per evaluation, for the engine's board view. */
export function boardHiddenOf(view: PrivacyView, kind: 'person' | 'team' | 'org'): HiddenOf | null {
  if (view.named) return null;
  // the memo key names the directory now as well, so a change in it is never served from memo
  const now = [...view.hiddenTeams].sort().join(',');
  return {
    key: `public|${now}|${view.teamlessHidden}`,
    of: (evaluation) => hiddenBoardSubjects(view, kind, evaluation.directory),
  };
}

/** Callers below governance all lose the same board subjects: what any of them sees. */
const PUBLIC_CALLER: Caller = { keyId: '', name: 'below governance', role: 'viewer', person: null };

/** The board subjects hidden from every caller below governance (persisted boards keep their explanations). */
export function publicBoardHiddenOf(ruleSet: RuleSet, kind: 'person' | 'team' | 'org'): HiddenOf {
  const members = { teams: [], teamless: 0 };
  const view = viewOf(PUBLIC_CALLER, members, ruleSet.ir.privacy.minGroupSize, () => '');
  return boardHiddenOf(view, kind) as HiddenOf;
}

/**
 * The team-day floor a board is ranked on for this caller (R5, R11), or null for the live
 * board. Below governance a team board's facts are the team's closed team-days with at
 * least k active people, so two reads, or two windows, differ only by whole team-days of k
 * or more people; a team entry's score and explanation are team figures like usage.
 * Person boards stay live: their entries are masked and in cohorts of at least k.
 */
export function teamBoardFloor(view: PrivacyView, kind: 'person' | 'team' | 'org'): number | null {
  return view.named || kind !== 'team' ? null : view.minGroupSize;
}

/**
 * The start of today in `timeZone`: below governance figures read closed days only (R11),
 * so nothing at or after this instant is in them.
 */
export function todayStart(now: Date, timeZone: string): Date {
  const [year, month, day] = localDate(now, timeZone).split('-').map(Number);
  return localMidnight(year, month, day, timeZone);
}

/**
 * May this caller see an escalation (or any record about one subject)? A person's only by
 * that person; a team's when the team is visible; the org's when nobody is hidden.
 */
export function subjectVisible(
  view: PrivacyView,
  subject: { subjectKind: string; subjectId: string },
): boolean {
  if (view.named) return true;
  if (subject.subjectKind === 'person') return subject.subjectId === view.caller.person;
  if (subject.subjectKind === 'team') return view.teamVisible(subject.subjectId);
  return !view.anyHidden;
}

/**
 * A manager's view (readReports): the people who name the caller's person as their manager
 * in the directory are shown to them named, with their own figures (band, quota use,
 * metrics), whatever their team; nobody else is. Changing a manager needs governance and is
 * audited (R9), and the caller audits every such read (R11).
 */
export function reportsOf<P extends { id: string; managerId: string | null }>(
  caller: Caller,
  people: readonly P[],
): P[] {
  if (!caller.person || !can(caller.role, 'readReports')) return [];
  return people.filter((p) => p.managerId === caller.person && p.id !== caller.person);
}

/** Suppresses counts of people below min_group_size (0 stays 0: nobody is no one). */
export function countShown(view: PrivacyView, n: number): boolean {
  return view.named || n === 0 || n >= view.minGroupSize;
}

/**
 * Live group figures below governance are rounded down to a tenth of their limit (R13). A
 * team budget's spend includes today and every team-day, so read exactly it would let two
 * reads, or the budget against the usage read (R11), differ by what a few people did; on
 * this grid a difference says only that the spend crossed a step.
 */
export const LIVE_FIGURE_STEPS = 10;

/**
 * A team's (or the org's) rule escalation below governance (R16): which rule fired and,
 * for a detector, which one and over what window, without the figures. Those are live
 * group figures of a day (the team's usage today against its usual day), which two reads,
 * or the escalation against the usage read, would let one answer for a few people.
 */
export function withoutGroupRuleFigures<
  E extends { source: string; subjectKind: string; facts: Record<string, unknown> },
>(row: E): E {
  if (row.source !== 'rule' || row.subjectKind === 'person') return row;
  const detector = row.facts.detector as Record<string, unknown> | undefined;
  const facts: Record<string, unknown> = {
    label: row.facts.label ?? null,
    formula: row.facts.formula ?? null,
    withheld: 'a group rule fired on live figures: governance sees them',
  };
  if (detector)
    facts.detector = {
      detector: detector.detector,
      fact: detector.fact,
      window: detector.window,
      minHistory: detector.minHistory,
      fired: detector.fired,
    };
  return { ...row, facts };
}

/** floor(percent) to the grid, for percents shown beside a band */
export function coarsePercent(percent: number): number {
  const step = 100 / LIVE_FIGURE_STEPS;
  return Math.floor(percent / step + 1e-9) * step;
}

/** A budget's standing with spend, remaining, percent and forecast on the grid. */
export function coarseBudgetState(state: BudgetState): BudgetState {
  const step = state.limit / LIVE_FIGURE_STEPS;
  const spent = step > 0 ? Math.floor(state.spent / step + 1e-9) * step : 0;
  const percent = state.limit > 0 ? (spent / state.limit) * 100 : 0;
  const elapsed = state.forecast.elapsedFraction;
  // the forecast's divisor from its own figures (it counts at least one day)
  const divisor = state.forecast.value > 0 ? state.spent / state.forecast.value : elapsed;
  const value = divisor > 0 ? spent / divisor : spent;
  return {
    ...state,
    spent,
    remaining: state.limit - spent,
    percent,
    bandReason: `${state.band}: about ${percent}% (below governance a group's live spend is shown rounded down to a tenth of the limit)`,
    forecast: {
      ...state.forecast,
      value,
      percent: state.limit > 0 ? (value / state.limit) * 100 : 0,
      formula: `rounded spend ÷ elapsed fraction of the ${state.period} = ${spent} ÷ ${Math.round(divisor * 1e6) / 1e6}`,
    },
  };
}
