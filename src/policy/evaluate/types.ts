// Input and output of evaluate(ruleSet, input). Plain data, JSON-serialisable, so the
// engine, the API and `quotient policy eval` share one shape. the README ("Policy meaning") explains
// every field.
import type { BoardWindow, IrAction, Period, SubjectKind } from '../ir.ts';

/** Fact values (tokens, cost, tasks, accepted, ...) for one window. Money in currency units. */
export type FactValues = Record<string, number>;

/**
 * Facts per window key:
 * - calendar periods in the policy timezone: "day", "week", "month", "quarter", "year"
 *   (the period containing `now`, up to `now`);
 * - trailing windows ending at `now`: "7d", "30d", "12h", "90m" (see windows.ts windowKey);
 * - environment scopes for budgets: "month@sandbox".
 */
export type FactsByWindow = Record<string, FactValues>;

export type SubjectInput = {
  kind: SubjectKind;
  id: string;
  /**
   * person: name, team, role, manager, opted_in, from_directory, attributes {..};
   * team: parent, cost_center, sensitivity, owner
   */
  attributes: Record<string, unknown>;
  facts: FactsByWindow;
};

export type EvaluateInput = {
  /** the clock: an ISO timestamp, epoch milliseconds or a Date */
  now: string | number | Date;
  subjects: SubjectInput[];
  /** organisation-wide facts, for `budget org` */
  org?: { facts: FactsByWindow };
  /**
   * Facts of teams that share a budget pool with an evaluated team but are not subjects
   * here (an evaluation of one team): a pool weighs all its teams' usage. Teams neither
   * here nor among the subjects count as no usage.
   */
  poolTeams?: Record<string, FactsByWindow>;
};

export type Band = 'green' | 'yellow' | 'red';

/** A runtime hazard met while evaluating (never NaN/Infinity: see the README ("Policy meaning")). */
export type RuntimeFlag = {
  kind: 'division_by_zero' | 'invalid_math';
  /** where: "metric acceptance", "leaderboard value_per_token score", "rule spike" */
  where: string;
  /** the expression, as text */
  expr: string;
  note: string;
};

export type FactUse = { name: string; window: string; value: number };
export type MetricUse = { name: string; formula: string; unit: string; value: number };

export type Explanation = {
  /** the expression evaluated, as text */
  formula: string;
  /** every fact it read, with its window and value */
  facts: FactUse[];
  /** every metric it used (directly or through other metrics), dependencies first */
  metrics: MetricUse[];
  /** every subject attribute it read (`role`, `team.sensitivity`), null when unset */
  attributes: { name: string; value: unknown }[];
  flags: RuntimeFlag[];
};

export type TierAssignment = {
  tier: string;
  label: string | null;
  /** the assign rule that chose the tier: its position (0-based) and condition text */
  rule: {
    index: number;
    when: string | null;
    otherwise: boolean;
    /** the values the condition read, e.g. `role = "engineer"`; null for `otherwise` */
    values: string | null;
  };
};

export type Threshold = {
  trigger: 'at' | 'forecast';
  percent: number;
  /** the absolute amount at that percentage (tokens or money) */
  amount: number;
  action: IrAction;
};

export type Forecast = {
  /** projected end-of-period value: used ÷ max(elapsed fraction, one day's fraction) */
  value: number;
  percent: number;
  formula: string;
  elapsedFraction: number;
};

/** Where one limit stands in its current period: the part quotas and budgets share. */
export type PeriodStanding = {
  period: Period;
  periodStart: string;
  periodEnd: string;
  limit: number;
  remaining: number;
  percent: number;
  band: Band;
  /** the band rule applied, e.g. "70% ≤ 76% < 90% (yellow from 70%, red from 90%)" */
  bandReason: string;
  forecast: Forecast;
  nextThreshold: Threshold | null;
};

export type QuotaState = PeriodStanding & {
  tier: string;
  used: number;
  allowedClasses: string[] | 'any';
};

export type BudgetState = PeriodStanding & {
  key: string;
  environment: string | null;
  /** a project budget's project (its usage across the organisation) */
  project: string | null;
  /** what limit, spent and remaining count: money in the policy currency, or tokens */
  unit: 'money' | 'tokens';
  /** a pool's teams (spent is their usage together); absent for other budgets */
  poolTeams?: string[];
  spent: number;
};

export type TriggeredStep = {
  /** ladder name: "quota" or "budget" */
  ladder: string;
  /** budget key for budget ladders, tier name for quota ladders */
  of: string;
  trigger: 'at' | 'forecast';
  threshold: number;
  /** the observed percentage that crossed it (actual or forecast) */
  observed: number;
  action: IrAction;
};

/** What a rule's detector found: the figures it weighed, fired or not. */
export type DetectorFinding = {
  detector: string;
  /** the fact weighed (tasks for task splitting); null for a retry loop */
  fact: string | null;
  /** the lookback, the ratio's span, or a burst's last days */
  window: string;
  fired: boolean;
  /** today's value (deviation, task splitting), requests per task, or the burst's share in % */
  value: number;
  /** the median of the days with usage in the lookback (baseline detectors) */
  baseline: number | null;
  /** MAD × 1.4826 (or mean absolute deviation × 1.2533 when MAD is 0) */
  spread: number | null;
  /** (value − baseline) ÷ spread */
  deviation: number | null;
  /** the value above which it fires: baseline + z × spread, the ratio, or the share */
  threshold: number;
  /** days of usage it saw, and the days it needs before it may fire */
  history: number;
  minHistory: number;
  /** task splitting: today's tokens per task, and the usual (median) tokens per task */
  tokensPerTask?: number;
  usualTokensPerTask?: number;
  /** period-end burst: local days left in the period, today included */
  daysLeft?: number;
  /** the finding in one line, with its figures */
  text: string;
};

export type FiredRule = {
  rule: string;
  label: string | null;
  severity: string;
  action: IrAction;
  explanation: Explanation;
  /** the detector that fired, with its figures (detector rules only) */
  detector?: DetectorFinding;
};

export type BoardEntry = {
  eligible: boolean;
  /** why the subject is not ranked: "not eligible: tasks >= 5 and opted_in", "excluded: ..." */
  reason: string | null;
  cohort: string | null;
  score: number | null;
  /** 1-based rank within the cohort; ties broken by subject id (see the README ("Policy meaning")) */
  rank: number | null;
  cohortSize: number;
  inTop: boolean;
  explanation: Explanation;
};

/** A badge the subject earns in the badge's window, with the condition's readings. */
export type BadgeAward = {
  badge: string;
  label: string | null;
  window: BoardWindow;
  explanation: Explanation;
};

export type SubjectResult = {
  kind: SubjectKind;
  id: string;
  /** metric values per calendar window the policy uses for this kind of subject */
  metrics: Record<string, Record<string, number>>;
  tier: TierAssignment | null;
  quota: QuotaState | null;
  budgets: BudgetState[];
  escalations: TriggeredStep[];
  rules: FiredRule[];
  leaderboards: Record<string, BoardEntry>;
  /** badges earned, in name order */
  badges: BadgeAward[];
  flags: RuntimeFlag[];
};

export type InputError = { subject: string; field: string; message: string };

export type LeaderboardRow = { rank: number; id: string; score: number };

export type LeaderboardResult = {
  subject: SubjectKind;
  window: BoardWindow;
  top: number | null;
  /** cohort value → ranked rows (the whole cohort; `top` marks the published part) */
  cohorts: Record<string, LeaderboardRow[]>;
  /** cohorts with fewer members than the policy's min_group_size (privacy: suppress for non-governance viewers) */
  smallCohorts: string[];
};

export type EvaluateResult = {
  policy: { name: string | null; version: string | null; hash: string };
  now: string;
  timezone: string;
  subjects: SubjectResult[];
  leaderboards: Record<string, LeaderboardResult>;
  org: { budgets: BudgetState[]; escalations: TriggeredStep[] } | null;
  /** subjects whose input was rejected; every other subject was still evaluated */
  errors: InputError[];
};
