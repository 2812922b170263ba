// Board views: the ranked, published part of a leaderboard as a caller may see it, with
// movement against the previous window. Ranking itself (scores, eligibility, cohorts,
// ties) is the evaluator's; this module only selects, filters for privacy and compares.
//
// - Eligibility and exclusion (opt-in, restricted teams, ...) are the policy's `eligible`
//   and `exclude` rules, applied by the evaluator.
// - Public views leave out the subjects src/app/privacy.ts hides (restricted teams and
//   their members, teams smaller than min_group_size), whatever the policy says;
//   ranks are then renumbered so the gaps do not betray where someone was.
// - Public views also leave out cohorts with fewer than the policy's min_group_size
//   ranked subjects (k-anonymity).
// - `top` limits the published entries (per cohort).
// - Movement compares with the same view of the previous window, evaluated at the last
//   instant of the previous period: `change` = previous rank − rank (positive = up).
import type { RuleSet } from '../policy/compile/ruleset.ts';
import type { Explanation } from '../policy/evaluate/types.ts';
import type { BoardWindow, IrLeaderboard, SubjectKind } from '../policy/ir.ts';
import { boardBounds } from '../policy/windows.ts';
import type { Evaluation } from './evaluation.ts';

export type Movement = {
  status: 'up' | 'down' | 'same' | 'new';
  previousRank: number | null;
  /** previous rank − rank: positive when the subject moved up */
  change: number | null;
};

export type BoardViewEntry = {
  rank: number;
  subject: SubjectKind;
  /** the real subject id: the API masks it for the caller */
  id: string;
  cohort: string | null;
  score: number;
  explanation: Explanation;
  movement: Movement;
};

export type BoardView = {
  name: string;
  label: string | null;
  subject: SubjectKind;
  window: BoardWindow;
  periodStart: string;
  periodEnd: string;
  /** the evaluation clock */
  asOf: string;
  previousPeriodStart: string;
  top: number | null;
  /** every cohort on the board (before the cohort filter) */
  cohorts: string[];
  cohort: string | null;
  entries: readonly BoardViewEntry[];
};

export class UnknownBoardError extends Error {
  readonly board: string;
  readonly known: string[];
  constructor(board: string, known: string[]) {
    super(
      `no leaderboard "${board}" in the active policy` +
        (known.length ? ` (boards: ${known.join(', ')})` : ' (it defines none)'),
    );
    this.board = board;
    this.known = known;
  }
}

export type BoardOptions = {
  /** keep only this cohort */
  cohort?: string | null;
  /**
   * Subjects this caller may not see (src/app/privacy.ts decides), or null for callers who
   * see everything; with a set, cohorts smaller than min_group_size are left off too.
   */
  hidden: HiddenOf | null;
};

/** Hidden subjects per evaluation; `key` names the view in the per-evaluation memo. */
export type HiddenOf = {
  key: string;
  of: (evaluation: Evaluation) => ReadonlySet<string> | null;
};

/** The instant whose evaluation gives the previous window of a board evaluated at `now`. */
export function previousClock(ruleSet: RuleSet, board: string, now: Date): Date {
  const b = ruleSet.ir.leaderboards[board];
  if (!b) throw new UnknownBoardError(board, Object.keys(ruleSet.ir.leaderboards));
  const { start } = boardBounds(ruleSet.ir, b.window, now);
  return new Date(start.getTime() - 1);
}

type Ranked = Map<
  string,
  { rows: { rank: number; score: number; id: string }[]; rankOf: Map<string, number> }
>;

// Per evaluation (cached and shared by many requests), the visible ranks per (board, view)
// and the subject index are computed once: a cached board request then costs O(entries).
const memo = new WeakMap<Evaluation, Map<string, unknown>>();

function memoized<T>(evaluation: Evaluation, key: string, make: () => T): T {
  let m = memo.get(evaluation);
  if (!m) {
    m = new Map();
    memo.set(evaluation, m);
  }
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}

/** Ranked rows per cohort as the caller may see them (restricted left off, ranks renumbered). */
function visibleRanks(
  ruleSet: RuleSet,
  evaluation: Evaluation,
  board: string,
  hidden: (evaluation: Evaluation) => ReadonlySet<string> | null,
  view: string,
): Ranked {
  // the hidden set depends only on the evaluation's directory and whether names are seen
  return memoized(evaluation, `ranks|${board}|${view}`, () =>
    computeVisibleRanks(ruleSet, evaluation, board, hidden(evaluation)),
  );
}

function subjectIndex(evaluation: Evaluation, kind: SubjectKind) {
  return memoized(
    evaluation,
    `subjects|${kind}`,
    () => new Map(evaluation.result.subjects.filter((s) => s.kind === kind).map((s) => [s.id, s])),
  );
}

function computeVisibleRanks(
  ruleSet: RuleSet,
  evaluation: Evaluation,
  board: string,
  hidden: ReadonlySet<string> | null,
): Ranked {
  const result = evaluation.result.leaderboards[board];
  const kind = ruleSet.ir.leaderboards[board].subject;
  const out: Ranked = new Map();
  for (const [cohort, ranked] of Object.entries(result?.cohorts ?? {})) {
    const kept = hidden ? ranked.filter((r) => !hidden.has(r.id)) : ranked;
    // k-anonymity: a public cohort of fewer than min_group_size people is not shown at all
    // (each team on a team board already has that many members)
    if (hidden && kind === 'person' && kept.length < ruleSet.ir.privacy.minGroupSize) continue;
    const rows = kept.map((r, i) => ({ rank: i + 1, score: r.score, id: r.id }));
    out.set(cohort, { rows, rankOf: new Map(rows.map((r) => [r.id, r.rank])) });
  }
  return out;
}

/** The evaluation a board without a previous window is kept under. */
const NO_PREVIOUS = {} as Evaluation;

/**
 * The board as a caller with these options sees it, built once per (current, previous)
 * evaluation pair and view: a request for a cached board then costs the page it shows.
 */
export function boardView(
  ruleSet: RuleSet,
  board: string,
  current: Evaluation,
  previous: Evaluation | null,
  options: BoardOptions,
): BoardView {
  const b = ruleSet.ir.leaderboards[board];
  if (!b) throw new UnknownBoardError(board, Object.keys(ruleSet.ir.leaderboards));
  const build = () => buildBoardView(ruleSet, { name: board, ...b }, current, previous, options);
  // a cohort the board does not have is shown empty and not kept: callers name any text
  const cohorts = current.result.leaderboards[board]?.cohorts ?? {};
  if (options.cohort != null && !Object.hasOwn(cohorts, options.cohort)) return build();
  const view = `view|${board}|${options.cohort ?? ''}|${options.hidden?.key ?? 'all'}`;
  const byPrevious = memoized(current, view, () => new WeakMap<Evaluation, BoardView>());
  let built = byPrevious.get(previous ?? NO_PREVIOUS);
  if (!built) {
    built = build();
    byPrevious.set(previous ?? NO_PREVIOUS, built);
  }
  return built;
}

function buildBoardView(
  ruleSet: RuleSet,
  b: IrLeaderboard & { name: string },
  current: Evaluation,
  previous: Evaluation | null,
  options: BoardOptions,
): BoardView {
  const board = b.name;
  const asOf = new Date(current.result.now);
  const bounds = boardBounds(ruleSet.ir, b.window, asOf);
  const hiddenOf: HiddenOf = options.hidden ?? { key: 'all', of: () => null };
  const now = visibleRanks(ruleSet, current, board, hiddenOf.of, hiddenOf.key);
  const before: Ranked = previous
    ? visibleRanks(ruleSet, previous, board, hiddenOf.of, hiddenOf.key)
    : new Map();
  const subjects = subjectIndex(current, b.subject);
  const cohorts = [...now.keys()].sort();
  const entries: BoardViewEntry[] = [];
  for (const cohort of cohorts) {
    if (options.cohort != null && cohort !== options.cohort) continue;
    const prior = before.get(cohort)?.rankOf;
    for (const row of now.get(cohort)?.rows ?? []) {
      if (b.top !== null && row.rank > b.top) break;
      const previousRank = prior?.get(row.id) ?? null;
      const change = previousRank === null ? null : previousRank - row.rank;
      const ranked = subjects.get(row.id)!.leaderboards[board];
      entries.push({
        rank: row.rank,
        subject: b.subject,
        id: row.id,
        cohort: b.cohort ? cohort : null,
        score: row.score,
        // read when asked for: a persisted board parses its explanations on first use
        get explanation() {
          return ranked.explanation;
        },
        movement: {
          status: change === null ? 'new' : change > 0 ? 'up' : change < 0 ? 'down' : 'same',
          previousRank,
          change,
        },
      });
    }
  }
  return {
    name: board,
    label: b.label,
    subject: b.subject,
    window: b.window,
    periodStart: bounds.start.toISOString(),
    periodEnd: bounds.end.toISOString(),
    asOf: asOf.toISOString(),
    previousPeriodStart: boardBounds(
      ruleSet.ir,
      b.window,
      bounds.start.getTime() - 1,
    ).start.toISOString(),
    top: b.top,
    cohorts: b.cohort ? cohorts : [],
    cohort: options.cohort ?? null,
    entries,
  };
}

/** Where one subject stands on a board, as the board shows it to this caller, and why. */
export type Standing = {
  board: string;
  subject: SubjectKind;
  id: string;
  periodStart: string;
  periodEnd: string;
  /** true when the subject appears on the board (eligible, shown, within `top`) */
  ranked: boolean;
  /** rank within the cohort as the board shows it (null when not eligible or not shown) */
  rank: number | null;
  top: number | null;
  cohort: string | null;
  /** subjects in the cohort as the board shows it */
  cohortSize: number | null;
  score: number | null;
  eligible: boolean;
  /** why the subject is not on the board; null when it is */
  reason: string | null;
  explanation: Explanation | null;
};

/**
 * A subject's standing on a board at the evaluation's clock: its rank, or the reason it is
 * not ranked (not eligible, excluded, hidden from this caller's view of the board, a cohort
 * too small to show, or below `top`).
 */
export function standingOf(
  ruleSet: RuleSet,
  board: string,
  current: Evaluation,
  id: string,
  hidden: HiddenOf | null,
): Standing {
  const b = ruleSet.ir.leaderboards[board];
  if (!b) throw new UnknownBoardError(board, Object.keys(ruleSet.ir.leaderboards));
  const bounds = boardBounds(ruleSet.ir, b.window, new Date(current.result.now));
  const base = {
    board,
    subject: b.subject,
    id,
    periodStart: bounds.start.toISOString(),
    periodEnd: bounds.end.toISOString(),
    top: b.top,
  };
  const entry = subjectIndex(current, b.subject).get(id)?.leaderboards[board];
  const none = { rank: null, cohort: null, cohortSize: null, score: null, explanation: null };
  if (!entry)
    return {
      ...base,
      ...none,
      ranked: false,
      eligible: false,
      reason: `no ${b.subject} "${id}" was evaluated for this board's ${b.window}`,
    };
  const own = {
    cohort: b.cohort ? entry.cohort : null,
    score: entry.score,
    explanation: entry.explanation,
    eligible: entry.eligible,
  };
  if (!entry.eligible)
    return { ...base, ...own, rank: null, cohortSize: null, ranked: false, reason: entry.reason };
  const hiddenSet = hidden?.of(current) ?? null;
  if (hiddenSet?.has(id))
    return {
      ...base,
      ...own,
      rank: null,
      cohortSize: null,
      ranked: false,
      reason: `not shown on boards below governance: the ${b.subject === 'person' ? "person's team" : 'team'} is restricted or smaller than min_group_size (${ruleSet.ir.privacy.minGroupSize})`,
    };
  const ranks = visibleRanks(
    ruleSet,
    current,
    board,
    hidden?.of ?? (() => null),
    hidden?.key ?? 'all',
  );
  const cohort = ranks.get(entry.cohort ?? 'all');
  const rank = cohort?.rankOf.get(id) ?? null;
  if (!cohort || rank === null)
    return {
      ...base,
      ...own,
      rank: null,
      cohortSize: null,
      ranked: false,
      reason: `the cohort "${entry.cohort ?? 'all'}" has fewer than ${ruleSet.ir.privacy.minGroupSize} people on the board, so it is not shown`,
    };
  const inTop = b.top === null || rank <= b.top;
  return {
    ...base,
    ...own,
    rank,
    cohortSize: cohort.rows.length,
    ranked: inTop,
    reason: inTop
      ? null
      : `rank ${rank} of ${cohort.rows.length} is below the board's top ${b.top}`,
  };
}
