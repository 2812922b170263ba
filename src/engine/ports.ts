// What the engine needs from storage, as plain types. src/engine never imports src/store:
// the store implements these ports (src/store/usage-reader.ts) and the API wires the two.
import type { FactValues } from '../policy/evaluate/types.ts';
import type { UsageQuery, UsageRow } from './usage.ts';

export type DirectoryPerson = {
  id: string;
  name: string | null;
  team: string | null;
  role: string | null;
  manager: string | null;
  optedIn: boolean;
  fromDirectory: boolean;
  attributes: Record<string, unknown>;
};

export type DirectoryTeam = {
  id: string;
  name: string;
  parent: string | null;
  costCenter: string | null;
  sensitivity: string;
  owner: string | null;
  fromDirectory: boolean;
};

export type Directory = { people: DirectoryPerson[]; teams: DirectoryTeam[] };

/**
 * Which people a read covers. `null` (or omitted) is everyone. `people` and `teams` are
 * alternatives that add up: the listed people plus every member of the listed teams.
 */
export type PersonScope = { people?: readonly string[]; teams?: readonly string[] } | null;

/**
 * One window to sum facts over.
 * - `days`: whole local days [from, to) in the policy timezone, read from daily_rollups
 *   (whose `day` is the local date). Calendar periods and trailing `Nd` windows.
 * - `span`: an exact instant range (start, end], read from raw events by timestamp. Only
 *   sub-day trailing windows (`12h`, `90m`) use it.
 * `environment` restricts usage facts to one environment (budget scopes like `month@sandbox`).
 */
export type FactWindow = (
  | { kind: 'days'; from: string; to: string }
  | { kind: 'span'; start: Date; end: Date }
) & {
  /** the window key the evaluator reads ("month", "7d", "12h", "month@sandbox") */
  key: string;
  environment: string | null;
  /** restricts usage facts to one project (project budgets: `month#launch`) */
  project?: string | null;
  /** fact names to sum (see FACT_NAMES) */
  facts: readonly string[];
};

/**
 * A team budget's current period in local days: [from, until), `until` being the first
 * day of the next period; `key` is the window key ("month", "month@sandbox").
 */
export type BudgetPeriod = {
  key: string;
  environment: string | null;
  /** a project budget's project: only usage tagged with it counts */
  project: string | null;
  from: string;
  until: string;
  /**
   * Whether spend is kept per person (person and team budgets read it); an org-wide period
   * (org and project budgets only) keeps one total, so folding ingest costs one row, not one
   * per person touched.
   */
  perPerson: boolean;
};

/** How to group fact sums: per person, per team (by the person's current team), or one org total. */
export type FactGrouping = 'person' | 'team' | 'org';

/** window key → subject id ("org" for the org grouping) → fact values. Absent subjects had no rows. */
export type FactSums = Map<string, Map<string, FactValues>>;

/** Sums per asked grouping. */
export type GroupedFactSums = Partial<Record<FactGrouping, FactSums>>;

/** Requests of one model in a span, and how many of them sent more input than each threshold. */
export type RequestSizeRow = { model: string; requests: number; above: number[] };

/**
 * The change watermark with its parts: `total` is the watermark (`UsageReader.watermark`);
 * `periods` counts the committed changes per month of rollup days ('YYYY-MM') and to the
 * directory ('directory'). Every change to a period also moves `total`. An evaluation that
 * reads only some months is unchanged while their counts and the directory's are.
 */
export type DataMarks = { total: string; periods: ReadonlyMap<string, bigint> };

/** The directory's part of `DataMarks.periods`. */
export const DIRECTORY_PERIOD = 'directory';

/**
 * What the data of months `from` through `to` ('YYYY-MM', inclusive) and the directory have
 * seen: the sum of their counts, which grows with every change to them and only then.
 */
export function marksOver(marks: DataMarks, from: string, to: string): bigint {
  let sum = 0n;
  for (const [period, n] of marks.periods) {
    if (period === DIRECTORY_PERIOD || (period >= from && period <= to)) sum += n;
  }
  return sum;
}

export interface UsageReader {
  /** People and teams. With a scope: those people, plus the teams they belong to. */
  directory(scope?: PersonScope): Promise<Directory>;
  /**
   * Sums facts for every window in one pass over the data, for each asked grouping at once
   * (team and org totals are exact sums, not sums of rounded parts).
   */
  sumFacts(
    windows: readonly FactWindow[],
    groupings: readonly FactGrouping[],
    scope?: PersonScope,
  ): Promise<GroupedFactSums>;
  /**
   * Cost per team (by members' current team) for each budget period, from per-person period
   * totals the store keeps current with ingest.
   */
  teamBudgetCosts(periods: readonly BudgetPeriod[], teams: readonly string[]): Promise<FactSums>;
  /**
   * A value that changes whenever anything the engine reads changes (usage, outcomes,
   * compliance, the directory). Equal watermarks mean equal data: caches key on it.
   */
  watermark(): Promise<string>;
  /** The watermark with its parts per period (`DataMarks`); readers without them key on `watermark`. */
  marks?(): Promise<DataMarks>;
  /** The usage aggregation behind the `usage` query. */
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /**
   * Requests in [start, end) by model, with the number whose input per request (input plus
   * cache reads and writes, over the event's requests) is above each of `thresholds`: the
   * request limits' replay. Read from the raw events by time.
   */
  requestSizes(
    start: Date,
    end: Date,
    thresholds: readonly number[],
    scope?: PersonScope,
  ): Promise<RequestSizeRow[]>;
  /**
   * Fact sums per team-day (one team's current members on one local day) over [from, to),
   * for the given teams: usage facts count when at least `floor` of the team's people used
   * tokens that day, outcome, compliance and activity facts when at least `floor` reported
   * any; team-days with neither are left out. What lower roles' metric series are made of
   * (privacy R11).
   */
  teamDayFacts(request: TeamDayRequest): Promise<TeamDay[]>;
}

export type TeamDayRequest = {
  from: string;
  to: string;
  /** facts of FACT_NAMES but active_days */
  facts: readonly string[];
  teams: readonly string[];
  floor: number;
  /** only usage in this environment (and its people count toward the floor) */
  environment?: string | null;
  /** only usage tagged with this project (and its people count toward the floor) */
  project?: string | null;
};

export type TeamDay = { team: string; day: string; people: number; values: FactValues };

/** Every fact the reader can sum (the policy vocabulary's facts). */
export const FACT_NAMES = [
  'tokens',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost',
  'requests',
  'tasks',
  'accepted',
  'rejected',
  'reworked',
  'completed',
  'minutes_saved',
  'redaction_failures',
  'sensitive_flags',
  'policy_exceptions',
  'active_days',
  'sessions',
  'lines_added',
  'lines_removed',
  'commits',
  'pull_requests',
] as const;
