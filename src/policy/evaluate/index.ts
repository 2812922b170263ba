// evaluate(ruleSet, input): a pure function from a compiled policy, subjects with their
// facts, and a clock to explained results. No I/O and no hidden clock: `input.now` is
// the only time there is. Semantics (bands, forecasts, ranking, x/0) are in the README ("Policy meaning").
import type { Attributes, CompiledFormula, Facts, Sink } from '../compile/codegen.ts';
import type { CompiledBoard, Ladder, RuleSet } from '../compile/ruleset.ts';
import {
  budgetWindowKey,
  factDisplayName,
  type IrBudget,
  type IrStep,
  irToText,
  type Period,
} from '../ir.ts';
import { elapsedFraction, periodBounds } from '../windows.ts';
import { runDetector } from './detectors.ts';
import type {
  BadgeAward,
  Band,
  BoardEntry,
  BudgetState,
  EvaluateInput,
  EvaluateResult,
  Explanation,
  FactsByWindow,
  FiredRule,
  Forecast,
  InputError,
  LeaderboardResult,
  QuotaState,
  RuntimeFlag,
  SubjectInput,
  SubjectResult,
  Threshold,
  TierAssignment,
  TriggeredStep,
} from './types.ts';
import { factsSchema, missingFacts, validateSubject } from './validate.ts';

export type * from './types.ts';

const NOTES: Record<RuntimeFlag['kind'], string> = {
  division_by_zero: 'x / 0 is defined as 0',
  invalid_math: 'log or sqrt outside its domain, or an overflow, is defined as 0',
};

/** One evaluation of a compiled formula, with the hazards it met. */
function run(f: CompiledFormula, F: Facts, S: Attributes, withMetrics: boolean) {
  const hits: number[] = [];
  const Z: Sink = (site) => {
    hits.push(site);
    return 0;
  };
  const O = withMetrics ? new Array<number>(f.metrics.length) : null;
  const value = f.fn(F, S, Z, O);
  const flags: RuntimeFlag[] = [...new Set(hits)].map((s) => ({
    ...f.sites[s],
    note: NOTES[f.sites[s].kind],
  }));
  return { value, flags, metrics: O };
}

function explain(
  ir: RuleSet['ir'],
  f: CompiledFormula,
  F: Facts,
  S: Attributes,
  out: ReturnType<typeof run>,
): Explanation {
  return {
    formula: f.formula,
    facts: f.facts.map((x) => ({
      // a measure by the name its writer gave it, not the aggregation-carrying fact name
      name: factDisplayName(x.name),
      window: x.window,
      value: F[x.window]?.[x.name] ?? 0,
    })),
    metrics: f.metrics.map((name, i) => ({
      name,
      formula: irText(ir, name),
      unit: ir.metrics[name].unit,
      value: out.metrics?.[i] ?? 0,
    })),
    attributes: f.attributes.map((name) => ({ name, value: S[name] ?? null })),
    flags: out.flags,
  };
}

const metricTextCache = new WeakMap<object, Map<string, string>>();
function irText(ir: RuleSet['ir'], name: string): string {
  let cache = metricTextCache.get(ir);
  if (!cache) {
    cache = new Map();
    metricTextCache.set(ir, cache);
  }
  let text = cache.get(name);
  if (text === undefined) {
    text = irToText(ir.metrics[name].expr);
    cache.set(name, text);
  }
  return text;
}

/** " (tasks@quarter = 3, opted_in = false)": the values a condition read. */
function readings(f: CompiledFormula, F: Facts, S: Attributes): string {
  const parts = [
    ...f.facts.map((x) => `${factDisplayName(x.name)}@${x.window} = ${F[x.window]?.[x.name] ?? 0}`),
    ...f.attributes.map((a) => `${a} = ${JSON.stringify(S[a]) ?? 'unset'}`),
  ];
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** Attribute values by dotted path, as generated formulas read them. */
export function attributeView(
  subject: SubjectInput,
  teams: ReadonlyMap<string, SubjectInput>,
): Attributes {
  const view: Attributes = {};
  const add = (prefix: string, attrs: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'attributes' && v && typeof v === 'object') {
        for (const [ak, av] of Object.entries(v)) view[`${prefix}attributes.${ak}`] = av;
      } else view[`${prefix}${k}`] = v;
    }
  };
  add('', subject.attributes);
  view[subject.kind] = subject.id;
  if (subject.kind === 'person') {
    const team =
      typeof subject.attributes.team === 'string' ? teams.get(subject.attributes.team) : undefined;
    if (team) add('team.', team.attributes);
  }
  return view;
}

function bandOf(ladder: Ladder | undefined, percent: number): Band {
  const redFrom = ladder?.redFrom ?? 100;
  const yellowFrom = ladder?.yellowFrom ?? redFrom;
  return percent >= redFrom ? 'red' : percent >= yellowFrom ? 'yellow' : 'green';
}

/** Lowest `at` threshold strictly above `percent` (binary search over the sorted steps). */
function nextThreshold(
  ladder: Ladder | undefined,
  percent: number,
  limit: number,
): Threshold | null {
  if (!ladder) return null;
  const steps = ladder.at;
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid].threshold > percent) hi = mid;
    else lo = mid + 1;
  }
  const s = steps[lo];
  return s
    ? { trigger: 'at', percent: s.threshold, amount: (limit * s.threshold) / 100, action: s.action }
    : null;
}

function triggered(
  ladder: Ladder | undefined,
  name: string,
  of: string,
  percent: number,
  forecast: number,
): TriggeredStep[] {
  if (!ladder) return [];
  const out: TriggeredStep[] = [];
  const add = (s: IrStep, observed: number) =>
    out.push({
      ladder: name,
      of,
      trigger: s.trigger,
      threshold: s.threshold,
      observed,
      action: s.action,
    });
  for (const s of ladder.at) if (percent >= s.threshold) add(s, percent);
  for (const s of ladder.forecast) if (forecast >= s.threshold) add(s, forecast);
  return out;
}

/**
 * Linear projection of period-to-date use: used ÷ elapsed fraction of the period. The
 * elapsed fraction counts as at least one day (or the whole period, for `day`), so a
 * burst in the first minutes of a month does not project to an absurd total.
 */
function forecastOf(
  used: number,
  limit: number,
  period: Period,
  now: number,
  tz: string,
): Forecast {
  const elapsed = elapsedFraction(period, now, tz);
  const { start, end } = periodBounds(period, now, tz);
  const floor = Math.min(1, DAY_MS / (end.getTime() - start.getTime()));
  const divisor = Math.max(elapsed, floor);
  const value = used / divisor;
  const floored =
    divisor > elapsed ? ` (elapsed ${round(elapsed)} counts as at least one day)` : '';
  return {
    value,
    percent: limit > 0 ? (value / limit) * 100 : 0,
    formula: `used ÷ elapsed fraction of the ${period} = ${used} ÷ ${round(divisor)} = ${round(value)}${floored}`,
    elapsedFraction: elapsed,
  };
}

const DAY_MS = 86_400_000;

/** Why a band: the percentage against the ladder's yellow and red thresholds. */
function bandReason(ladder: Ladder | undefined, percent: number, band: Band): string {
  const redFrom = ladder?.redFrom ?? 100;
  const yellowFrom = ladder?.yellowFrom ?? redFrom;
  const p = `${round(percent)}%`;
  if (band === 'red') return `${p} ≥ ${redFrom}% (red from ${redFrom}%)`;
  if (band === 'yellow')
    return `${yellowFrom}% ≤ ${p} < ${redFrom}% (yellow from ${yellowFrom}%, red from ${redFrom}%)`;
  return `${p} < ${yellowFrom}% (yellow from ${yellowFrom}%)`;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function percentOf(used: number, limit: number): number {
  return limit > 0 ? (used / limit) * 100 : 0;
}

function budgetsFor(budgets: readonly IrBudget[], subject: SubjectInput | null): IrBudget[] {
  // a budget for one named subject replaces `each` for the same environment and period
  const mine = budgets.filter((b) =>
    subject === null
      ? b.scope === 'org' || b.scope === 'project'
      : b.scope === 'pool'
        ? subject.kind === 'team' && (b.teams ?? []).includes(subject.id)
        : b.subject === subject.kind &&
          (b.scope === 'each' || (b.scope === 'one' && b.id === subject.id)),
  );
  return mine.filter(
    (b) =>
      b.scope !== 'each' ||
      !mine.some(
        (o) => o.scope === 'one' && o.environment === b.environment && o.period === b.period,
      ),
  );
}

/** The facts a pool's teams have: subjects first, then the partners given on their own. */
type TeamFacts = (team: string) => FactsByWindow | undefined;

function budgetState(
  b: IrBudget,
  facts: FactsByWindow,
  ladder: Ladder | undefined,
  now: number,
  tz: string,
  teamFacts?: TeamFacts,
): BudgetState {
  const tokens = b.tokens !== undefined;
  const fact = tokens ? 'tokens' : 'cost';
  const window = budgetWindowKey(b);
  // a pool weighs its teams' usage together, on each of them
  const spent =
    b.scope === 'pool'
      ? (b.teams ?? []).reduce((sum, t) => sum + (teamFacts?.(t)?.[window]?.[fact] ?? 0), 0)
      : (facts[window]?.[fact] ?? 0);
  const limit = b.tokens ?? b.amountMicros / 1_000_000;
  const bounds = periodBounds(b.period, now, tz);
  const percent = percentOf(spent, limit);
  return {
    key: b.key,
    environment: b.environment,
    project: b.scope === 'project' ? b.id : null,
    unit: tokens ? 'tokens' : 'money',
    ...(b.scope === 'pool' ? { poolTeams: b.teams ?? [] } : {}),
    period: b.period,
    periodStart: bounds.start.toISOString(),
    periodEnd: bounds.end.toISOString(),
    limit,
    spent,
    remaining: limit - spent,
    percent,
    band: bandOf(ladder, percent),
    bandReason: bandReason(ladder, percent, bandOf(ladder, percent)),
    forecast: forecastOf(spent, limit, b.period, now, tz),
    nextThreshold: nextThreshold(ladder, percent, limit),
  };
}

function assignTier(
  rs: RuleSet,
  F: Facts,
  S: Attributes,
  flags: RuntimeFlag[],
): TierAssignment | null {
  for (const a of rs.assignments) {
    let match: boolean;
    if (a.lookup) match = a.lookup.values.has(S[a.lookup.path]) !== a.lookup.negated;
    else if (a.when) {
      const out = run(a.when, F, S, false);
      flags.push(...out.flags);
      match = out.value === true;
    } else match = true;
    if (match) {
      return {
        tier: a.tier,
        label: rs.tiers[a.tier]?.label ?? null,
        rule: {
          index: a.index,
          when: a.whenText,
          otherwise: a.when === null,
          values: a.when ? readings(a.when, F, S).replace(/^ \((.*)\)$/, '$1') : null,
        },
      };
    }
  }
  return null;
}

function toInstant(now: EvaluateInput['now']): number {
  const t = now instanceof Date ? now.getTime() : new Date(now).getTime();
  if (!Number.isFinite(t)) throw new RangeError(`evaluate: not a valid clock: ${String(now)}`);
  return t;
}

export type EvaluateOptions = {
  /**
   * `boards`: only leaderboard entries and rankings are computed; metric reports, tiers,
   * quotas, rules and budgets are left empty (an org evaluation for boards reads only the
   * facts boards use, `requiredBy.boards`, so those would mean nothing, and skipping them
   * halves the work); an entry's explanation and reason are built when first read.
   */
  /**
   * `escalations`: only what escalations weigh (tiers, quotas, rules, budgets); no metric
   * reports, leaderboards or badges, and the input needs only `requiredBy.escalations`
   * (the periodic sweep over everyone).
   */
  only?: 'boards' | 'escalations';
};

// the empty parts of every boards-only subject result, shared (frozen: nothing fills them)
const NONE = Object.freeze([]) as unknown as never[];
const NO_METRICS = Object.freeze({}) as SubjectResult['metrics'];

/** What a deferred board entry reads when asked: shared by every entry of one evaluation. */
type DeferredSource = { ir: RuleSet['ir']; teams: ReadonlyMap<string, SubjectInput> };

const ELIGIBLE = 0;
const NOT_ELIGIBLE = 1;
const EXCLUDED = 2;

// where a deferred entry's explanation comes from: symbol keys, so JSON, spreads and
// equality see the entry's data only (class private fields broke test libraries' copies)
const BOARD = Symbol('board');
const SUBJECT = Symbol('subject');
const SOURCE = Symbol('source');
const WHY = Symbol('why');
const EXPLAINED = Symbol('explained');

/**
 * A boards-only board entry. A board shows a few dozen of its 20,000 entries, so the
 * explanation and the reason are built when first read, from the subject's input; the entry
 * holds no closure, attribute view or formula output (a closure per entry kept 1.6 KB per
 * subject, 33 MB per cached evaluation of 20,000 people). `toJSON` gives every field.
 */
class DeferredBoardEntry implements BoardEntry {
  eligible: boolean;
  cohort: string | null;
  score: number | null;
  rank: number | null = null;
  cohortSize = 0;
  inTop = false;
  readonly [BOARD]: CompiledBoard;
  readonly [SUBJECT]: SubjectInput;
  readonly [SOURCE]: DeferredSource;
  readonly [WHY]: number;
  [EXPLAINED]: Explanation | undefined = undefined;

  constructor(
    board: CompiledBoard,
    subject: SubjectInput,
    source: DeferredSource,
    why: number,
    cohort: string | null,
    score: number,
  ) {
    this.eligible = why === ELIGIBLE;
    this.cohort = cohort;
    this.score = score;
    this[BOARD] = board;
    this[SUBJECT] = subject;
    this[SOURCE] = source;
    this[WHY] = why;
  }

  get reason(): string | null {
    const why = this[WHY];
    const condition = why === NOT_ELIGIBLE ? this[BOARD].eligible : this[BOARD].exclude;
    if (why === ELIGIBLE || !condition) return null;
    const S = attributeView(this[SUBJECT], this[SOURCE].teams);
    const readout = readings(condition, this[SUBJECT].facts as Facts, S);
    return `${why === NOT_ELIGIBLE ? 'not eligible' : 'excluded'}: ${condition.formula}${readout}`;
  }

  get explanation(): Explanation {
    let explained = this[EXPLAINED];
    if (!explained) {
      const F = this[SUBJECT].facts as Facts;
      const S = attributeView(this[SUBJECT], this[SOURCE].teams);
      const score = this[BOARD].score;
      explained = explain(this[SOURCE].ir, score, F, S, run(score, F, S, true));
      this[EXPLAINED] = explained;
    }
    return explained;
  }

  toJSON(): BoardEntry {
    const { eligible, reason, cohort, score, rank, cohortSize, inTop, explanation } = this;
    return { eligible, reason, cohort, score, rank, cohortSize, inTop, explanation };
  }
}

/**
 * A person's standing against their tier at `now`, from the facts the tier was assigned
 * from (null for a tier the rule set does not declare).
 */
export function quotaStateOf(
  rs: RuleSet,
  tier: TierAssignment,
  facts: FactsByWindow,
  at: EvaluateInput['now'],
): QuotaState | null {
  const t = rs.tiers[tier.tier];
  if (!t) return null;
  const now = toInstant(at);
  const tz = rs.ir.timezone;
  const quotaLadder = rs.ladders.quota;
  const used = facts[t.period]?.tokens ?? 0;
  const percent = percentOf(used, t.limit);
  const bounds = periodBounds(t.period, now, tz);
  const band = bandOf(quotaLadder, percent);
  return {
    tier: tier.tier,
    period: t.period,
    periodStart: bounds.start.toISOString(),
    periodEnd: bounds.end.toISOString(),
    limit: t.limit,
    used,
    remaining: t.limit - used,
    percent,
    band,
    bandReason: bandReason(quotaLadder, percent, band),
    forecast: forecastOf(used, t.limit, t.period, now, tz),
    nextThreshold: nextThreshold(quotaLadder, percent, t.limit),
    allowedClasses: t.models,
  };
}

export function evaluate(
  rs: RuleSet,
  input: EvaluateInput,
  options: EvaluateOptions = {},
): EvaluateResult {
  const boardsOnly = options.only === 'boards';
  const escalationsOnly = options.only === 'escalations';
  const now = toInstant(input.now);
  const tz = rs.ir.timezone;
  const errors: InputError[] = [];
  const subjects: SubjectInput[] = [];
  // a boards-only (escalations-only) evaluation needs only the facts boards (they) read
  const required = boardsOnly
    ? rs.requiredBy.boards
    : escalationsOnly
      ? rs.requiredBy.escalations
      : rs.required;
  (input.subjects ?? []).forEach((raw, i) => {
    const v = validateSubject(raw, i, required);
    if (v.subject) subjects.push(v.subject);
    else errors.push(...v.errors);
  });
  const teams = new Map(subjects.filter((s) => s.kind === 'team').map((s) => [s.id, s]));
  const deferred: DeferredSource = { ir: rs.ir, teams };
  const quotaLadder = rs.ladders.quota;
  const budgetLadder = rs.ladders.budget;
  const teamFacts: TeamFacts = (id) => teams.get(id)?.facts ?? input.poolTeams?.[id];

  const results: SubjectResult[] = subjects.map((subject) => {
    const F = subject.facts as Facts;
    const S = attributeView(subject, teams);
    const flags: RuntimeFlag[] = [];
    const metrics: SubjectResult['metrics'] = {};
    for (const report of options.only ? [] : rs.metricReports[subject.kind]) {
      const out = run(report, F, S, true);
      flags.push(...out.flags);
      metrics[report.window] = Object.fromEntries(
        report.metrics.map((m, i) => [m, out.metrics?.[i] ?? 0]),
      );
    }

    let tier: TierAssignment | null = null;
    let quota: QuotaState | null = null;
    const escalations: TriggeredStep[] = [];
    const rules: FiredRule[] = [];
    if (subject.kind === 'person' && !boardsOnly) {
      tier = assignTier(rs, F, S, flags);
      quota = tier && quotaStateOf(rs, tier, subject.facts, now);
      if (tier && quota)
        escalations.push(
          ...triggered(quotaLadder, 'quota', tier.tier, quota.percent, quota.forecast.percent),
        );
    }
    if (!boardsOnly)
      for (const r of rs.rules) {
        if ((r.ir.subject ?? 'person') !== subject.kind) continue;
        const finding = r.ir.detect ? runDetector(r.ir.detect, F, now, tz) : undefined;
        if (finding && !finding.fired) continue;
        const out = run(r.when, F, S, true);
        flags.push(...out.flags);
        if (out.value === true) {
          const fired: FiredRule = {
            rule: r.name,
            label: r.ir.label,
            severity: r.ir.severity,
            action: r.ir.action,
            explanation: explain(rs.ir, r.when, F, S, out),
          };
          if (finding) fired.detector = finding;
          rules.push(fired);
        }
      }
    const budgets = (boardsOnly ? [] : budgetsFor(rs.budgets, subject)).map((b) =>
      budgetState(b, subject.facts, budgetLadder, now, tz, teamFacts),
    );
    for (const b of budgets)
      escalations.push(...triggered(budgetLadder, 'budget', b.key, b.percent, b.forecast.percent));

    const leaderboards: Record<string, BoardEntry> = {};
    for (const board of escalationsOnly ? [] : rs.boards) {
      if (board.ir.subject !== subject.kind) continue;
      if (boardsOnly) {
        leaderboards[board.name] = deferredEntry(board, subject, F, S, deferred, flags);
        continue;
      }
      const score = run(board.score, F, S, true);
      let reason: string | null = null;
      if (board.eligible) {
        const e = run(board.eligible, F, S, false);
        if (e.value !== true)
          reason = `not eligible: ${board.eligible.formula}${readings(board.eligible, F, S)}`;
      }
      if (!reason && board.exclude) {
        const x = run(board.exclude, F, S, false);
        if (x.value === true)
          reason = `excluded: ${board.exclude.formula}${readings(board.exclude, F, S)}`;
      }
      const cohort = board.cohort ? String(run(board.cohort, F, S, false).value ?? '(none)') : null;
      flags.push(...score.flags);
      leaderboards[board.name] = {
        eligible: reason === null,
        reason,
        cohort,
        score: score.value as number,
        rank: null,
        cohortSize: 0,
        inTop: false,
        explanation: explain(rs.ir, board.score, F, S, score),
      };
    }
    // badges are read with the boards (their facts are the boards'): a boards-only
    // evaluation, which the boards cache keeps, awards them too
    const badges: BadgeAward[] = [];
    // badges read the boards' facts, which an escalations-only input does not carry
    for (const badge of escalationsOnly ? [] : rs.badges) {
      if (badge.ir.subject !== subject.kind) continue;
      const out = run(badge.when, F, S, true);
      flags.push(...out.flags);
      if (out.value === true)
        badges.push({
          badge: badge.name,
          label: badge.ir.label,
          window: badge.ir.window,
          explanation: explain(rs.ir, badge.when, F, S, out),
        });
    }
    if (boardsOnly) {
      return {
        kind: subject.kind,
        id: subject.id,
        metrics: NO_METRICS,
        tier: null,
        quota: null,
        budgets: NONE,
        escalations: NONE,
        rules: NONE,
        leaderboards,
        badges,
        flags: flags.length ? dedupeFlags(flags) : NONE,
      };
    }
    return {
      kind: subject.kind,
      id: subject.id,
      metrics,
      tier,
      quota,
      budgets,
      escalations,
      rules,
      leaderboards,
      badges,
      flags: dedupeFlags(flags),
    };
  });

  const boards: Record<string, LeaderboardResult> = {};
  for (const board of escalationsOnly ? [] : rs.boards) {
    const cohorts = new Map<string, { id: string; entry: BoardEntry }[]>();
    for (const r of results) {
      const entry = r.leaderboards[board.name];
      if (!entry?.eligible) continue;
      const key = entry.cohort ?? 'all';
      let list = cohorts.get(key);
      if (!list) {
        list = [];
        cohorts.set(key, list);
      }
      list.push({ id: r.id, entry });
    }
    const out: LeaderboardResult = {
      subject: board.ir.subject,
      window: board.ir.window,
      top: board.ir.top,
      cohorts: {},
      smallCohorts: [],
    };
    for (const key of [...cohorts.keys()].sort()) {
      const list = cohorts.get(key)!;
      // higher score first; equal scores by subject id (code-unit order), so ranks are stable
      list.sort(
        (a, b) =>
          (b.entry.score as number) - (a.entry.score as number) ||
          (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
      list.forEach((x, i) => {
        x.entry.rank = i + 1;
        x.entry.cohortSize = list.length;
        x.entry.inTop = board.ir.top === null || i < board.ir.top;
      });
      if (list.length < rs.ir.privacy.minGroupSize) out.smallCohorts.push(key);
      out.cohorts[key] = list.map((x, i) => ({
        rank: i + 1,
        id: x.id,
        score: x.entry.score as number,
      }));
    }
    boards[board.name] = out;
  }

  let org: EvaluateResult['org'] = null;
  const orgBudgets = boardsOnly ? [] : budgetsFor(rs.budgets, null);
  if (orgBudgets.length > 0 && input.org) {
    const parsed = factsSchema.safeParse(input.org.facts ?? {});
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        errors.push({ subject: 'org', field: `facts.${i.path.join('.')}`, message: i.message });
    } else {
      const missing = missingFacts(parsed.data, rs.required.org);
      if (missing.length)
        for (const field of missing)
          errors.push({ subject: 'org', field, message: 'missing (the policy reads this fact)' });
      else {
        const states = orgBudgets.map((b) => budgetState(b, parsed.data, budgetLadder, now, tz));
        org = {
          budgets: states,
          escalations: states.flatMap((b) =>
            triggered(budgetLadder, 'budget', b.key, b.percent, b.forecast.percent),
          ),
        };
      }
    }
  }

  return {
    policy: { name: rs.ir.meta.name, version: rs.ir.meta.version, hash: rs.hash },
    now: new Date(now).toISOString(),
    timezone: tz,
    subjects: results,
    leaderboards: boards,
    org,
    errors,
  };
}

/** A boards-only entry: ranked now, explained when read (see DeferredBoardEntry). */
function deferredEntry(
  board: CompiledBoard,
  subject: SubjectInput,
  F: Facts,
  S: Attributes,
  source: DeferredSource,
  flags: RuntimeFlag[],
): BoardEntry {
  let why = ELIGIBLE;
  if (board.eligible && run(board.eligible, F, S, false).value !== true) why = NOT_ELIGIBLE;
  else if (board.exclude && run(board.exclude, F, S, false).value === true) why = EXCLUDED;
  const cohort = board.cohort ? String(run(board.cohort, F, S, false).value ?? '(none)') : null;
  const score = run(board.score, F, S, false);
  flags.push(...score.flags);
  return new DeferredBoardEntry(board, subject, source, why, cohort, score.value as number);
}

function dedupeFlags(flags: RuntimeFlag[]): RuntimeFlag[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const key = `${f.kind}|${f.where}|${f.expr}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
