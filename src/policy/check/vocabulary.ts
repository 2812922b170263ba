// The names a policy may use without declaring them: facts (with their units), subject
// attributes, functions, audiences and approvers. Shared by the checker and the compiler.

/** Base dimensions. Percentages and plain ratios are dimensionless (no base). */
export type BaseUnit = 'tokens' | 'money' | 'duration' | 'count';

export const FACTS: Readonly<Record<string, BaseUnit>> = {
  tokens: 'tokens',
  input_tokens: 'tokens',
  output_tokens: 'tokens',
  cache_read_tokens: 'tokens',
  cache_write_tokens: 'tokens',
  cost: 'money',
  requests: 'count',
  tasks: 'count',
  accepted: 'count',
  rejected: 'count',
  reworked: 'count',
  completed: 'count',
  minutes_saved: 'duration',
  redaction_failures: 'count',
  sensitive_flags: 'count',
  policy_exceptions: 'count',
  active_days: 'count',
  // Claude Code activity (core_metrics), per report day
  sessions: 'count',
  lines_added: 'count',
  lines_removed: 'count',
  commits: 'count',
  pull_requests: 'count',
};

/**
 * Claude Code's activity also arrives as measures of these names (one observation per
 * person and report day), so a policy may declare a measure of one of them to read it with
 * another aggregation (`measure commits { unit count  aggregate mean }`: commits per day).
 */
export const ACTIVITY_MEASURES: ReadonlySet<string> = new Set([
  'sessions',
  'lines_added',
  'lines_removed',
  'commits',
  'pull_requests',
]);

/** The units a measure may have, and the base unit each stands for (score: a plain number). */
export const MEASURE_UNITS: Readonly<Record<string, BaseUnit | null>> = {
  count: 'count',
  tokens: 'tokens',
  money: 'money',
  minutes: 'duration',
  score: null,
};

export type AttrType = 'str' | 'bool';

export const PERSON_ATTRIBUTES: Readonly<Record<string, AttrType>> = {
  person: 'str',
  name: 'str',
  team: 'str',
  role: 'str',
  manager: 'str',
  opted_in: 'bool',
  from_directory: 'bool',
};

export const TEAM_ATTRIBUTES: Readonly<Record<string, AttrType>> = {
  team: 'str',
  parent: 'str',
  cost_center: 'str',
  sensitivity: 'str',
  owner: 'str',
};

/** Functions callable in formulas. `unit`: same = result has the arguments' unified unit. */
export const FUNCTIONS: Readonly<
  Record<string, { min: number; max: number; unit: 'same' | 'dimensionless' }>
> = {
  max: { min: 2, max: 16, unit: 'same' },
  min: { min: 2, max: 16, unit: 'same' },
  clamp: { min: 3, max: 3, unit: 'same' },
  abs: { min: 1, max: 1, unit: 'same' },
  round: { min: 1, max: 1, unit: 'same' },
  floor: { min: 1, max: 1, unit: 'same' },
  ceil: { min: 1, max: 1, unit: 'same' },
  log10: { min: 1, max: 1, unit: 'dimensionless' },
  ln: { min: 1, max: 1, unit: 'dimensionless' },
  sqrt: { min: 1, max: 1, unit: 'dimensionless' },
};

/** Who a `notify` can address; the engine maps each to webhook endpoints. */
export const AUDIENCES: readonly string[] = [
  'person',
  'manager',
  'team_owner',
  'finance',
  'security',
  'governance',
  'admin',
  'legal',
  'hr',
];

/** Who can approve (`require approval by ...`). */
export const APPROVERS: readonly string[] = [
  'manager',
  'team_owner',
  'governance',
  'finance',
  'security',
];

/** Escalation ladders: `quota` applies to tier limits, `budget` to budgets. */
export const LADDERS: readonly string[] = ['quota', 'budget'];
