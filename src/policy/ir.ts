// The rule-set IR: what a policy means, as plain versioned JSON. The compiler lowers a
// checked AST into this shape; the executable rule set (compile/ruleset.ts), the store
// (prices, policy versions) and diff all read it. Layout, comments, parentheses and the
// order of independent declarations never reach the IR; `assign` order does.
//
// Identity: policyHash(ir) is SHA-256 over canonicalJson(ir without `meta`), so renaming
// the version label or reformatting a file keeps the hash; any change in meaning moves it.
//
// Number conventions inside expressions (see the README ("Policy meaning")):
//   tokens, counts and money are plain numbers (money in currency units);
//   percentages are fractions (70% → 0.7); durations are minutes (7d → 10080).
import { createHash } from 'node:crypto';
import type { ModelPrice, PriceTable } from './price.ts';

export const IR_VERSION = 1;

export type Period = 'day' | 'week' | 'month' | 'quarter' | 'year';
export type SubjectKind = 'person' | 'team';

export type IrBinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'and'
  | 'or';

/** Expression tree. `k` is the node kind. */
export type IrExpr =
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 'bool'; v: boolean }
  /** a fact; `within` is a trailing window key ("7d"), absent means the context window */
  | { k: 'fact'; name: string; within?: string }
  | { k: 'metric'; name: string }
  /** a subject attribute: ["role"], ["team", "sensitivity"], ["attributes", "region"] */
  | { k: 'attr'; path: string[] }
  | { k: 'call'; fn: string; args: IrExpr[] }
  | { k: 'not'; a: IrExpr }
  | { k: 'neg'; a: IrExpr }
  | { k: 'bin'; op: IrBinaryOp; a: IrExpr; b: IrExpr }
  | { k: 'in'; v: IrExpr; list: IrExpr[]; negated: boolean }
  | { k: 'if'; c: IrExpr; t: IrExpr; e: IrExpr };

export type IrAction =
  | { kind: 'notify'; audiences: string[]; message: string | null }
  | { kind: 'require_justification' }
  | { kind: 'require_approval'; approver: string }
  | { kind: 'block' };

export type IrStep = {
  trigger: 'at' | 'forecast';
  /** percent of the limit, e.g. 70 for `at 70%` */
  threshold: number;
  action: IrAction;
};

export type IrMetric = {
  label: string | null;
  /** unit text from the checker: "tokens", "money/tokens", "count", "1" (dimensionless) */
  unit: string;
  expr: IrExpr;
  /** metrics this one refers to directly, sorted */
  deps: string[];
};

/** A declared outcome measure: how its observations in a window become one value. */
export type IrMeasure = {
  label: string | null;
  unit: MeasureUnit;
  aggregate: 'sum' | 'mean' | 'percentile';
  /** `aggregate percentile 90` → 90 (only for percentiles) */
  percentile?: number;
};

export type MeasureUnit = 'count' | 'tokens' | 'money' | 'minutes' | 'score';

/**
 * The fact name a measure is read under: "measure:review_score:mean", "measure:lines:sum",
 * "measure:cycle_time:p90". The aggregation is part of the name, so the store reads it
 * without the policy at hand, and two versions that aggregate one measure differently
 * (an impact replay reads both) never share a value.
 */
export function measureFact(name: string, m: Pick<IrMeasure, 'aggregate' | 'percentile'>): string {
  const how = m.aggregate === 'percentile' ? `p${m.percentile ?? 50}` : m.aggregate;
  return `measure:${name}:${how}`;
}

export type MeasureRead = {
  measure: string;
  aggregate: 'sum' | 'mean' | 'percentile';
  /** 0 < percentile <= 100 */
  percentile: number | null;
};

/** The measure and aggregation a fact name reads, or null for a built-in fact. */
export function parseMeasureFact(fact: string): MeasureRead | null {
  const m = /^measure:([A-Za-z_][A-Za-z0-9_]*):(sum|mean|p(\d+(?:\.\d+)?))$/.exec(fact);
  if (!m) return null;
  if (m[3] !== undefined)
    return { measure: m[1], aggregate: 'percentile', percentile: Number(m[3]) };
  return { measure: m[1], aggregate: m[2] as 'sum' | 'mean', percentile: null };
}

/** The name a writer gave a fact ("review_score" for "measure:review_score:mean"). */
export function factDisplayName(fact: string): string {
  return parseMeasureFact(fact)?.measure ?? fact;
}

/** A board's or badge's window: a calendar period, or `season` (the current declared season). */
export type BoardWindow = Period | 'season';

/** A season: the local days [from, until) of the policy timezone, as YYYY-MM-DD. */
export type IrSeason = { label: string | null; from: string; until: string };

export type IrLeaderboard = {
  label: string | null;
  subject: SubjectKind;
  window: BoardWindow;
  cohort: IrExpr | null;
  eligible: IrExpr | null;
  exclude: IrExpr | null;
  score: IrExpr;
  top: number | null;
};

/** A badge: who earns it in each `window` (the condition, over that window's facts). */
export type IrBadge = {
  label: string | null;
  subject: SubjectKind;
  window: BoardWindow;
  when: IrExpr;
};

export type IrTier = {
  label: string | null;
  /** token limit per period */
  limit: number;
  period: Period;
  models: string[] | 'any';
};

export type IrAssignment = { tier: string; when: IrExpr | null };

export type IrBudget = {
  /**
   * stable key, e.g. "each team", "team platform", "org", "project launch", with " (tokens)"
   * for token budgets and "@sandbox" for environment scopes
   */
  key: string;
  /**
   * `project`: the usage tagged with project `id`, organisation-wide; `pool`: pool `id`, the
   * usage of `teams` together, weighed on each of those teams (subject `team`)
   */
  scope: 'each' | 'one' | 'org' | 'project' | 'pool';
  subject: SubjectKind | null;
  id: string | null;
  environment: string | null;
  /** exact amount in integer micro-units of the policy currency (0 for a token budget) */
  amountMicros: number;
  /** a token budget's limit in tokens (absent for money budgets, so their hash is kept) */
  tokens?: number;
  /** a pool's teams, sorted (pools only) */
  teams?: string[];
  period: Period;
};

/** The fact window a budget reads: "month", "month#launch" (project), "month@sandbox". */
export function budgetWindowKey(
  b: Pick<IrBudget, 'period' | 'environment' | 'scope' | 'id'>,
): string {
  const project = b.scope === 'project' ? `#${b.id}` : '';
  return `${b.period}${project}${b.environment ? `@${b.environment}` : ''}`;
}

/** One step of a request limit: above `above` input tokens in one request. */
export type IrRequestStep = { above: number; message: string | null };

/** Input size per request for one model class (or "any"): a warning, a block, or both. */
export type IrRequestLimit = { warn: IrRequestStep | null; block: IrRequestStep | null };

export const DETECTORS = ['deviation', 'task_splitting', 'retry_loop', 'period_end_burst'] as const;
export type DetectorKind = (typeof DETECTORS)[number];
/** Days of usage a detector needs before it may fire, when the rule writes no `history`. */
export const DEFAULT_HISTORY_DAYS = 7;

/** A built-in detector (docs/language/rules.md). */
export type IrDetector = {
  detector: DetectorKind;
  /** the fact weighed (deviation, period_end_burst) */
  fact?: string;
  /** window key: the baseline lookback, the ratio's span, or a burst's last days */
  window: string;
  /** robust z (deviation, task_splitting), requests per task (retry_loop), share in % (burst) */
  above: number;
  /** days of usage needed before it may fire */
  history: number;
  /** a burst's period */
  period?: Period;
};

export type IrRule = {
  label: string | null;
  severity: 'low' | 'medium' | 'high' | 'critical';
  /** `true` when a detector rule writes no `when` */
  when: IrExpr;
  action: IrAction;
  /** only for team rules (absent: each person), so older policies keep their hash */
  subject?: 'team';
  detect?: IrDetector;
};

export type RuleSetIR = {
  irVersion: typeof IR_VERSION;
  /** not part of the identity hash */
  meta: { name: string | null; version: string | null };
  currency: string;
  timezone: string;
  privacy: { minGroupSize: number; identities: 'masked' | 'named' };
  exceptions: { maxDurationMs: number | null };
  classes: Record<string, { label: string | null }>;
  /** prices in integer micro-units per 1M tokens, as in price.ts */
  models: Record<string, ModelPrice>;
  /** declared outcome measures (absent when none, so older policies keep their hash) */
  measures?: Record<string, IrMeasure>;
  metrics: Record<string, IrMetric>;
  /** metric names in dependency order (dependencies first, ties by name) */
  metricOrder: string[];
  leaderboards: Record<string, IrLeaderboard>;
  /** badges (absent when none, so older policies keep their hash) */
  badges?: Record<string, IrBadge>;
  /** seasons by name (absent when none, so older policies keep their hash) */
  seasons?: Record<string, IrSeason>;
  tiers: Record<string, IrTier>;
  /** ordered: first match wins */
  assignments: IrAssignment[];
  /** sorted by key */
  budgets: IrBudget[];
  /** ladders keyed by target ("quota", "budget"); steps sorted by trigger then threshold */
  escalations: Record<string, { steps: IrStep[] }>;
  rules: Record<string, IrRule>;
  /**
   * per-request input limits by model class, "any" for every request (absent when the
   * policy has none, so other policies keep their hash)
   */
  requestLimits?: Record<string, IrRequestLimit>;
};

const IR_FIELDS: Record<string, 'object' | 'array' | 'string'> = {
  meta: 'object',
  currency: 'string',
  timezone: 'string',
  privacy: 'object',
  exceptions: 'object',
  classes: 'object',
  models: 'object',
  metrics: 'object',
  metricOrder: 'array',
  leaderboards: 'object',
  tiers: 'object',
  assignments: 'array',
  budgets: 'array',
  escalations: 'object',
  rules: 'object',
};

/**
 * Accept an IR read back from storage: the version must be this one and the top-level
 * fields present. (buildRuleSet refuses unknown expression nodes on its own.)
 */
export function assertIr(value: unknown): RuleSetIR {
  if (!value || typeof value !== 'object') throw new TypeError('IR: not an object');
  const v = value as Record<string, unknown>;
  if (v.irVersion !== IR_VERSION) {
    throw new TypeError(
      `IR: version ${String(v.irVersion)} is not supported (expected ${IR_VERSION}); recompile the policy source`,
    );
  }
  for (const [field, kind] of Object.entries(IR_FIELDS)) {
    const f = v[field];
    const ok =
      kind === 'array'
        ? Array.isArray(f)
        : kind === 'string'
          ? typeof f === 'string'
          : f !== null && typeof f === 'object';
    if (!ok)
      throw new TypeError(
        `IR: field ${field} must be ${{ array: 'an array', string: 'a string', object: 'an object' }[kind]}`,
      );
  }
  return value as RuleSetIR;
}

/** JSON with object keys sorted at every level: the canonical text of a value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The policy identity: hex SHA-256 of the canonical IR without `meta`. */
export function policyHash(ir: RuleSetIR): string {
  // IR objects are never mutated after lowering, so the hash of one object is fixed
  const known = hashes.get(ir);
  if (known) return known;
  const { meta: _meta, ...meaning } = ir;
  const hash = createHash('sha256').update(canonicalJson(meaning)).digest('hex');
  hashes.set(ir, hash);
  return hash;
}

const hashes = new WeakMap<RuleSetIR, string>();

/** The price table the store prices usage with. */
export function priceTable(ir: RuleSetIR): PriceTable {
  // one table per IR (never mutated), so name resolutions cached on the table are reused
  let table = tables.get(ir);
  if (!table) {
    table = { currency: ir.currency, models: { ...ir.models } };
    tables.set(ir, table);
  }
  return table;
}

const tables = new WeakMap<RuleSetIR, PriceTable>();

const PRECEDENCE: Record<IrBinaryOp, number> = {
  or: 1,
  and: 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
};

/** Readable text of an IR expression, for explanations (fully determined by the IR). */
export function irToText(e: IrExpr, parent = 0): string {
  switch (e.k) {
    case 'num':
      return String(e.v);
    case 'str':
      return JSON.stringify(e.v);
    case 'bool':
      return String(e.v);
    case 'fact': {
      const name = factDisplayName(e.name);
      return e.within ? `${name} within ${e.within}` : name;
    }
    case 'metric':
      return e.name;
    case 'attr':
      return e.path.join('.');
    case 'call':
      return `${e.fn}(${e.args.map((a) => irToText(a)).join(', ')})`;
    case 'not':
      return wrap(`not ${irToText(e.a, 6)}`, parent > 2.5);
    case 'neg':
      return `-${irToText(e.a, 6)}`;
    case 'bin': {
      const p = PRECEDENCE[e.op];
      const text = `${irToText(e.a, p)} ${e.op} ${irToText(e.b, p + 0.5)}`;
      return wrap(text, parent > p);
    }
    case 'in':
      return wrap(
        `${irToText(e.v, 4)} ${e.negated ? 'not in' : 'in'} [${e.list.map((a) => irToText(a)).join(', ')}]`,
        parent > 3,
      );
    case 'if':
      return wrap(`if ${irToText(e.c)} then ${irToText(e.t)} else ${irToText(e.e)}`, parent > 0);
  }
}

function wrap(text: string, paren: boolean): string {
  return paren ? `(${text})` : text;
}

/** Every node of an expression, depth first. */
export function* walkIr(e: IrExpr): Generator<IrExpr> {
  yield e;
  switch (e.k) {
    case 'call':
      for (const a of e.args) yield* walkIr(a);
      break;
    case 'not':
    case 'neg':
      yield* walkIr(e.a);
      break;
    case 'bin':
      yield* walkIr(e.a);
      yield* walkIr(e.b);
      break;
    case 'in':
      yield* walkIr(e.v);
      for (const a of e.list) yield* walkIr(a);
      break;
    case 'if':
      yield* walkIr(e.c);
      yield* walkIr(e.t);
      yield* walkIr(e.e);
      break;
  }
}
