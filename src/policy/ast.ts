// The policy language's abstract syntax. Every node carries the source range it came
// from, so the checker, the formatter and diagnostics can point at the exact text.
// This file is the contract between the parser, the formatter, the checker and the compiler.

export type Position = {
  /** 1-based line */
  line: number;
  /** 1-based column, in UTF-16 code units */
  column: number;
  /** 0-based offset into the source text */
  offset: number;
};

export type Range = { start: Position; end: Position };

type Node<K extends string> = { kind: K; range: Range };

/** A name written in the source, with its own range (for did-you-mean and go-to). */
export type Name = Node<'Name'> & { text: string };

export type StringLit = Node<'String'> & { value: string };

// ---------- expressions ----------

/** Magnitude suffixes on numbers: 40k, 2M, 1.5B. */
export type Magnitude = 'k' | 'M' | 'B';

export type NumberExpr = Node<'Number'> & {
  /** value after applying the magnitude and removing thousands separators */
  value: number;
  /** exactly as written, e.g. "2,000" or "40k", so the formatter can keep it */
  raw: string;
};
export type MoneyExpr = Node<'Money'> & { amount: number; raw: string; currency: string };
export type PercentExpr = Node<'Percent'> & { value: number; raw: string };
export type DurationUnit = 'm' | 'h' | 'd' | 'w' | 'mo' | 'y';
export type DurationExpr = Node<'Duration'> & { amount: number; unit: DurationUnit; raw: string };
export type StringExpr = Node<'StringExpr'> & { value: string };
export type BoolExpr = Node<'Bool'> & { value: boolean };
/** A bare name: a fact, a metric, or a subject attribute such as `role` or `opted_in`. */
export type RefExpr = Node<'Ref'> & { name: Name };
/** `team.sensitivity`, `person.attributes.region` */
export type MemberExpr = Node<'Member'> & { object: Expr; property: Name };
/** `tokens within 7d`: a fact over a trailing window. */
export type WithinExpr = Node<'Within'> & { fact: Name; window: DurationExpr };
export type CallExpr = Node<'Call'> & { callee: Name; args: Expr[] };
export type UnaryExpr = Node<'Unary'> & { op: 'not' | '-'; operand: Expr };
export type BinaryOp = '+' | '-' | '*' | '/' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';
export type BinaryExpr = Node<'Binary'> & { op: BinaryOp; left: Expr; right: Expr };
export type InExpr = Node<'In'> & { value: Expr; list: Expr[]; negated: boolean };
export type IfExpr = Node<'If'> & { cond: Expr; then: Expr; else: Expr };
/** `( expr )`: kept so the formatter can preserve explicit grouping. */
export type ParenExpr = Node<'Paren'> & { inner: Expr };

export type Expr =
  | NumberExpr
  | MoneyExpr
  | PercentExpr
  | DurationExpr
  | StringExpr
  | BoolExpr
  | RefExpr
  | MemberExpr
  | WithinExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr
  | InExpr
  | IfExpr
  | ParenExpr;

// ---------- declarations ----------

export type Period = 'day' | 'week' | 'month' | 'quarter' | 'year';

export type PolicyHeader = Node<'PolicyHeader'> & { name: StringLit; version: StringLit };
export type CurrencyDecl = Node<'Currency'> & { code: Name };
export type TimezoneDecl = Node<'Timezone'> & { zone: StringLit };
export type PrivacyDecl = Node<'Privacy'> & {
  minGroupSize: NumberExpr | null;
  identities: 'masked' | 'named' | null;
};
/** `exceptions { max_duration 30d }`: bounds on the fast exception path. */
export type ExceptionsDecl = Node<'Exceptions'> & { maxDuration: DurationExpr | null };

export type ClassDecl = Node<'Class'> & { name: Name; label: StringLit | null };

export type PriceKind =
  | 'input'
  | 'output'
  | 'cache_read'
  | 'cache_write'
  | 'cache_write_1h'
  | 'audio_input'
  | 'audio_output';
/** Price per 1M tokens, in the policy currency. */
export type PriceEntry = Node<'Price'> & { priceKind: PriceKind; amount: NumberExpr };
/** `web_search 10.00 per 1k`: a price per number of calls. */
export type CallPrice = Node<'CallPrice'> & {
  call: 'web_search';
  amount: NumberExpr;
  per: NumberExpr;
};
/** `batch 50%`: the share of the token price a service tier pays. */
export type TierMultiplier = Node<'TierMultiplier'> & {
  tier: 'batch' | 'priority';
  percent: PercentExpr;
};
/** `above 200k input { input 6.00 }`: prices for a request whose input exceeds a size. */
export type LongContextTier = Node<'LongContext'> & {
  threshold: NumberExpr;
  prices: PriceEntry[];
};
export type ModelDecl = Node<'Model'> & {
  model: StringLit;
  className: Name;
  /** glob patterns (`*` = any text) of the provider names this model covers */
  matches: StringLit[];
  prices: PriceEntry[];
  calls: CallPrice[];
  multipliers: TierMultiplier[];
  longContext: LongContextTier[];
};

/** How a measure's observations in a window become one value. */
export type MeasureAggregate = 'sum' | 'mean' | 'percentile';
/** `measure review_score "Review score" { unit score  aggregate mean }`: a named outcome measure. */
export type MeasureDecl = Node<'Measure'> & {
  name: Name;
  label: StringLit | null;
  /** count, tokens, money, minutes or score (a plain number) */
  unit: Name | null;
  aggregate: MeasureAggregate | null;
  /** `aggregate percentile 90`: which percentile */
  percentile: NumberExpr | null;
};

export type MetricDecl = Node<'Metric'> & { name: Name; label: StringLit | null; formula: Expr };

export type SubjectKind = 'person' | 'team';
/** A board's or badge's window: a calendar period, or `season` (the policy's current season). */
export type BoardWindow = Period | 'season';

export type LeaderboardDecl = Node<'Leaderboard'> & {
  name: Name;
  label: StringLit | null;
  subject: SubjectKind | null;
  window: BoardWindow | null;
  /** attribute people are grouped by, e.g. `role`; null ranks everyone together */
  cohort: Expr | null;
  eligible: Expr | null;
  exclude: Expr | null;
  score: Expr | null;
  top: NumberExpr | null;
  /** where `subject …` and `window …` were written, so the formatter keeps comments beside them */
  subjectRange?: Range;
  windowRange?: Range;
};

/** `badge token_legend "Token Legend" { window quarter  when … }`: recognition. */
export type BadgeDecl = Node<'Badge'> & {
  name: Name;
  label: StringLit | null;
  subject: SubjectKind | null;
  window: BoardWindow | null;
  /** who earns it: a condition over the window's facts, measures, metrics and attributes */
  when: Expr | null;
  /** where each clause was written, so the formatter keeps comments beside them */
  subjectRange?: Range;
  windowRange?: Range;
};

/**
 * `season q4_2026 "Q4 2026" { from "2026-10-01"  until "2027-01-01" }`: a named window of
 * local days [from, until) that boards and badges with `window season` read.
 */
export type SeasonDecl = Node<'Season'> & {
  name: Name;
  label: StringLit | null;
  from: StringLit | null;
  until: StringLit | null;
};

export type TierDecl = Node<'Tier'> & {
  name: Name;
  label: StringLit | null;
  /** token limit per period */
  limit: NumberExpr | null;
  period: Period | null;
  /** allowed model classes; `any` allows every class */
  models: Name[] | 'any' | null;
};

/** `assign <tier> when <expr>` or `assign <tier> otherwise`; order matters. */
export type AssignDecl = Node<'Assign'> & { tier: Name; when: Expr | null };

export type BudgetScope =
  | { scope: 'each'; subject: SubjectKind }
  | { scope: 'one'; subject: SubjectKind; id: StringLit }
  | { scope: 'org' }
  /** `project "launch"`: everyone's usage tagged with the project, organisation-wide */
  | { scope: 'project'; id: StringLit }
  /** `pool "ml" teams "a", "b"`: a reserved pool the named teams' usage draws from together */
  | { scope: 'pool'; id: StringLit; teams: StringLit[] };
export type BudgetDecl = Node<'Budget'> & {
  target: BudgetScope;
  /** `environment "sandbox"`: the budget counts only that environment's usage */
  environment: StringLit | null;
  /** money (`2,000 USD`), or a number of tokens (`50M tokens`) */
  amount: MoneyExpr | NumberExpr;
  period: Period;
};

/** Audiences are names (`person`, `manager`, `team_owner`, `finance`, `security`, ...). */
export type Action =
  | (Node<'Notify'> & { audiences: Name[]; message: StringLit | null })
  | Node<'RequireJustification'>
  | (Node<'RequireApproval'> & { approver: Name })
  | Node<'Block'>;

export type EscalationStep = Node<'Step'> & {
  /** `at` fires on actual use; `forecast` on the projected end-of-period value */
  trigger: 'at' | 'forecast';
  threshold: PercentExpr;
  action: Action;
};
export type EscalationDecl = Node<'Escalation'> & {
  /** `quota` ladders apply to tier limits, `budget` ladders to budgets */
  target: Name;
  steps: EscalationStep[];
};

export type Severity = 'low' | 'medium' | 'high' | 'critical';
/**
 * `detect deviation of tokens within 28d above 3.5 history 7d`: a built-in anomaly or gaming
 * detector (docs/language/rules.md says what each one measures).
 */
export type DetectClause = Node<'Detect'> & {
  detector: Name;
  /** the fact a deviation or a period-end burst weighs; the others name none */
  fact: Name | null;
  /** the baseline lookback, the span a ratio is taken over, or a burst's last days */
  window: DurationExpr;
  /** a robust z (deviation, task splitting), a ratio (retry loop) or a share (burst) */
  above: NumberExpr | PercentExpr;
  /** days of usage needed before the detector may fire (7d when not written) */
  history: DurationExpr | null;
  /** a burst's period (month when not written) */
  period: Period | null;
};
export type RuleDecl = Node<'Rule'> & {
  name: Name;
  label: StringLit | null;
  severity: Severity | null;
  /** `subject team`: the rule weighs each team's usage; null is each person */
  subject: SubjectKind | null;
  detect: DetectClause | null;
  /** the condition; with a detector, a further condition (null: none) */
  when: Expr | null;
  then: Action;
  subjectRange?: Range;
};

/** `warn above 50k input "…"` or `block above 200k input`: one step of a request limit */
export type RequestLimitStep = Node<'RequestStep'> & {
  action: 'warn' | 'block';
  /** input tokens of one request above which the step applies */
  above: NumberExpr;
  message: StringLit | null;
};
/** `request premium { … }` (a model class) or `request any { … }` (every request) */
export type RequestLimitDecl = Node<'RequestLimit'> & {
  /** the class; null for `any` */
  target: Name | null;
  steps: RequestLimitStep[];
};

// ---------- tests ----------

/** A fact value in a test, optionally over a trailing window: `tokens within 1d 5k`. */
export type FactValue = Node<'FactValue'> & {
  fact: Name;
  window: DurationExpr | null;
  value: Expr;
  /** `tokens daily [9k, 11k]`: the days before today, oldest first (value is the last) */
  daily?: Expr[];
};
/** `role "engineer"`, `team "platform"`, `opted_in`, `attributes.region "emea"` */
export type GivenAttribute = Node<'GivenAttribute'> & { name: Name; value: Expr | null };
export type Given = Node<'Given'> & {
  subject: SubjectKind;
  id: StringLit;
  attributes: GivenAttribute[];
  facts: FactValue[];
};
export type Expectation =
  | (Node<'ExpectTier'> & { tier: Name })
  | (Node<'ExpectValue'> & {
      target: 'score' | 'metric';
      name: Name;
      low: Expr;
      high: Expr;
    })
  | (Node<'ExpectBand'> & { target: 'quota' | 'budget'; band: Name })
  | (Node<'ExpectRank'> & { board: Name; rank: NumberExpr })
  | (Node<'ExpectEligible'> & { board: Name; negated: boolean })
  /** `expect badge token_legend`: the subject earns the badge in its window */
  | (Node<'ExpectBadge'> & { badge: Name; negated: boolean })
  | (Node<'ExpectRequest'> & {
      /** a model class, or a model name (its class from the prices) */
      target: Name | StringLit;
      inputTokens: NumberExpr;
      outcome: 'allow' | 'warn' | 'block';
    })
  | (Node<'ExpectFires'> & {
      /** a rule name, or an escalation ladder name with a step threshold */
      target: Name;
      step: PercentExpr | null;
      negated: boolean;
    });
export type Expect = Node<'Expect'> & {
  /** which given subject the expectation is about; null means the first one */
  subject: StringLit | null;
  /** `person` or `team`, as written before the subject (absent when no subject is named) */
  subjectKind?: SubjectKind;
  expectation: Expectation;
};
export type TestDecl = Node<'Test'> & {
  name: StringLit;
  /** evaluation clock, e.g. `now "2026-10-15T12:00:00Z"`; null means the period's midpoint */
  now: StringLit | null;
  givens: Given[];
  expects: Expect[];
};

export type Declaration =
  | PolicyHeader
  | CurrencyDecl
  | TimezoneDecl
  | PrivacyDecl
  | ExceptionsDecl
  | ClassDecl
  | ModelDecl
  | MeasureDecl
  | MetricDecl
  | LeaderboardDecl
  | BadgeDecl
  | SeasonDecl
  | TierDecl
  | AssignDecl
  | BudgetDecl
  | EscalationDecl
  | RuleDecl
  | RequestLimitDecl
  | TestDecl;

export type Comment = { text: string; range: Range };

export type PolicyFile = Node<'PolicyFile'> & {
  declarations: Declaration[];
  /** every `#` comment, in source order; the formatter reattaches them */
  comments: Comment[];
};
