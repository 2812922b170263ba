// The usage aggregation: request and response shapes, and the policy-aware parts (model →
// class mapping, day ranges in the policy timezone). The SQL lives in the store's reader.
import type { RuleSetIR } from '../policy/ir.ts';
import { periodBounds, wallClock } from '../policy/windows.ts';

export const USAGE_DIMENSIONS = [
  'person',
  'team',
  'model',
  'class',
  'project',
  'environment',
  'costCenter',
] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export const USAGE_BUCKETS = ['day', 'week', 'month'] as const;
export type UsageBucket = (typeof USAGE_BUCKETS)[number];

/** Class of models the active policy does not price. */
export const UNCLASSIFIED = 'unclassified';

/** What a caller asks for. Dates are local dates (YYYY-MM-DD) in the policy timezone. */
export type UsageRequest = {
  /** first day, inclusive; default: the first day of the current month */
  from?: string | null;
  /** last day, exclusive; default: tomorrow (so today is included) */
  to?: string | null;
  people?: readonly string[] | null;
  teams?: readonly string[] | null;
  models?: readonly string[] | null;
  classes?: readonly string[] | null;
  projects?: readonly string[] | null;
  environments?: readonly string[] | null;
  /** the cost centres of people's current teams (chargeback) */
  costCenters?: readonly string[] | null;
  groupBy?: readonly UsageDimension[] | null;
  bucket?: UsageBucket | null;
};

/** What the reader runs: the request resolved against the policy (dates, classes). */
export type UsageQuery = {
  from: string;
  to: string;
  people: readonly string[] | null;
  teams: readonly string[] | null;
  models: readonly string[] | null;
  /** classes to keep; resolved by the reader through `classOf` */
  classes: readonly string[] | null;
  projects: readonly string[] | null;
  environments: readonly string[] | null;
  costCenters: readonly string[] | null;
  groupBy: readonly UsageDimension[];
  bucket: UsageBucket | null;
  /** model → class, from the policy IR; models not listed are UNCLASSIFIED */
  classOf: Readonly<Record<string, string>>;
  /**
   * Privacy floor (docs/privacy.md, R11): when set, a team-day (the people of one team, on
   * one local day) counts only if at least this many of its people were active that day;
   * usage with fewer than this many token-using people, and coding activity with fewer
   * than this many coding people, are in no figure at all. Only people with a team count.
   */
  teamDayFloor?: number | null;
};

/** One group (and bucket) of usage. Token counts are exact integers (safe below 2^53). */
export type UsageRow = {
  /** first local day of the bucket (YYYY-MM-DD), or null without buckets */
  bucket: string | null;
  /** the grouping values; a dimension not grouped by is absent */
  group: Partial<Record<UsageDimension, string | null>>;
  /** distinct people in the group: what k-anonymity counts */
  people: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** input + output + cache read + cache write */
  tokens: number;
  /** exact decimal string in the policy currency */
  cost: string;
  requests: number;
  unpricedRequests: number;
  /**
   * Claude Code activity (core_metrics) of the group's people and days. It has no model,
   * project or environment: a query grouped or filtered by one of those reads it as zero.
   */
  activity: CodingActivity;
};

export type CodingActivity = {
  sessions: number;
  linesAdded: number;
  linesRemoved: number;
  commits: number;
  pullRequests: number;
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class UsageRequestError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Local date (YYYY-MM-DD) of an instant in a timezone. */
export function localDate(instant: Date | number, timeZone: string): string {
  const w = wallClock(typeof instant === 'number' ? instant : instant.getTime(), timeZone);
  return civilDate(w.year, w.month, w.day);
}

/** Formats a civil date, normalising overflowing months and days (2026-13-01 → 2027-01-01). */
export function civilDate(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}

/** Adds days to a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return civilDate(y, m, d + days);
}

/** model → class, from the IR's priced models. */
export function classMap(ir: RuleSetIR | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [model, price] of Object.entries(ir?.models ?? {})) out[model] = price.class;
  return out;
}

/** Resolves a request against the active policy (or none) at `now`. Throws UsageRequestError. */
export function resolveUsageRequest(
  request: UsageRequest,
  ir: RuleSetIR | null,
  now: Date,
): UsageQuery {
  const tz = ir?.timezone ?? 'UTC';
  for (const field of ['from', 'to'] as const) {
    const v = request[field];
    if (v != null && (!DATE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))) {
      throw new UsageRequestError(field, `expected a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
    }
  }
  const from = request.from ?? localDate(periodBounds('month', now, tz).start, tz);
  const to = request.to ?? addDays(localDate(now, tz), 1);
  if (from >= to) throw new UsageRequestError('to', `must be after from (${from})`);
  const groupBy = [...new Set(request.groupBy ?? [])];
  const list = (v: readonly string[] | null | undefined) => (v ? [...new Set(v)] : null);
  return {
    from,
    to,
    people: list(request.people),
    teams: list(request.teams),
    models: list(request.models),
    classes: list(request.classes),
    projects: list(request.projects),
    environments: list(request.environments),
    costCenters: list(request.costCenters),
    groupBy,
    bucket: request.bucket ?? null,
    classOf: classMap(ir),
  };
}
