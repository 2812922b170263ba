import type { Range } from './ast.ts';

export type Severity = 'error' | 'warning' | 'info';

/**
 * A problem found in a policy. `code` is stable across releases (tools and docs key on it):
 * Q1xxx lexing, Q2xxx syntax, Q3xxx names, Q4xxx units and types, Q5xxx structure
 * (cycles, thresholds, reachability), Q6xxx runtime hazards (division by zero).
 */
export type Diagnostic = {
  severity: Severity;
  /** a code from the catalog below (`codes.<name>`) */
  code: DiagnosticCode;
  message: string;
  range: Range;
  hint?: string;
  file?: string;
};

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) =>
      a.range.start.offset - b.range.start.offset ||
      a.range.end.offset - b.range.end.offset ||
      a.code.localeCompare(b.code),
  );
}

/** What the catalog says about one code: the source of the docs pages and editor help. */
export type DiagnosticInfo = {
  code: string;
  /** the severities the code is reported with (most often one) */
  severities: readonly Severity[];
  /** a few words, as a page title */
  title: string;
  /** what it means, one or two sentences */
  summary: string;
  /** how to fix it */
  help: string;
  /** a policy that reports it (docs and a test use it); absent when no short text can */
  example?: string;
};

/**
 * Every diagnostic code, by name. Code elsewhere uses `codes.<name>`, never a literal code
 * (a test greps src/ for them), so this list is complete. Codes are stable: never reuse or
 * renumber one. Q0xxx requests, Q1xxx lexing, Q2xxx syntax, Q3xxx names, Q4xxx units and
 * types, Q5xxx structure, Q6xxx runtime hazards.
 */
export const DIAGNOSTICS = {
  invalidRequest: {
    code: 'Q0001',
    severities: ['error'],
    title: 'Invalid comparison request',
    summary:
      'A `policyDiff` or `policyImpact` side names neither or both of a stored `version` and policy `source`.',
    help: 'Give exactly one of `version` or `source` for each side.',
  },
  unexpectedCharacter: {
    code: 'Q1001',
    severities: ['error'],
    title: 'Unexpected character',
    summary:
      "Text the language has no token for: `;`, `'`, `&&`, `||`, `!`, `:` or non-ASCII characters outside strings.",
    help: 'Declarations end where the next keyword starts, so no `;` is needed; strings use double quotes; write `and`, `or` and `not` as words. The hint names the usual replacement.',
    example: 'metric per_task = cost / max(tasks, 1);\n',
  },
  unclosedString: {
    code: 'Q1002',
    severities: ['error'],
    title: 'Unclosed string',
    summary: 'A string has no closing `"` on its line.',
    help: 'Close the string on the line it starts; write a line break inside a string as `\\n`.',
    example: 'class premium "Frontier models\n',
  },
  malformedNumber: {
    code: 'Q1003',
    severities: ['error'],
    title: 'Malformed number',
    summary: 'A number run together with letters or dots, such as `10tasks`, `1.2.3` or `7days`.',
    help: 'Write plain numbers (`2,000`, `0.5`), magnitudes (`40k`, `2M`, `1.5B`), durations (`30m`, `12h`, `7d`, `4w`, `3mo`, `1y`) or money (`12.50 USD`).',
    example: 'exceptions { max_duration 7days }\n',
  },
  expectedToken: {
    code: 'Q2001',
    severities: ['error'],
    title: 'Expected something else',
    summary: 'The parser expected one thing and found another, e.g. `{` after a tier name.',
    help: 'Compare the declaration with its page in the language reference; when a `{` is not closed, the hint names where it was opened.',
    example: 'tier baseline limit 2M tokens per month models any }\n',
  },
  noAlternative: {
    code: 'Q2002',
    severities: ['error'],
    title: 'No alternative matches',
    summary:
      'None of the forms allowed at this point matches, e.g. a subject that is neither `person` nor `team`.',
    help: 'Use one of the alternatives the message lists.',
    example: 'leaderboard busiest {\n  subject everyone\n  score = tasks\n}\n',
  },
  emptyList: {
    code: 'Q2003',
    severities: ['error'],
    title: 'Empty list',
    summary: 'A list that needs at least one item is empty, e.g. `notify` with no audience.',
    help: 'Name at least one item: `notify security`.',
    example: 'rule leak { when redaction_failures > 0 then notify }\n',
  },
  unknownDeclaration: {
    code: 'Q2005',
    severities: ['error'],
    title: 'Not a declaration',
    summary: 'Text where a declaration should start, often a misspelled keyword.',
    help: 'Start each declaration with its keyword (`class`, `model`, `metric`, `leaderboard`, `tier`, `assign`, `budget`, `escalation`, `rule`, `test`, or a header keyword). A misspelling is read as the keyword it resembles, so it causes no further errors.',
    example: 'escalaton quota {\n  at 70% notify person\n}\n',
  },
  notNeedsParentheses: {
    code: 'Q2006',
    severities: ['error'],
    title: '`not` needs parentheses',
    summary: '`not` applies to a whole comparison, so it cannot follow an arithmetic operator.',
    help: 'Put the negated part in parentheses, or use `if … then … else`.',
    example: 'metric odd = tasks * not opted_in\n',
  },
  chainedComparison: {
    code: 'Q2007',
    severities: ['error'],
    title: 'Chained comparison',
    summary: 'Two comparisons in a row, such as `a < b < c`.',
    help: 'Write `a < b and b < c`.',
    example: 'rule busy { when 1 < tasks < 5 then notify manager }\n',
  },
  nestingTooDeep: {
    code: 'Q2008',
    severities: ['error'],
    title: 'Nesting too deep',
    summary:
      'Brackets nest more than 100 levels deep, or a chain of `if`, `not` or `-` is too long to read.',
    help: 'Split the expression into metrics.',
  },
  duplicateClause: {
    code: 'Q2010',
    severities: ['error'],
    title: 'Clause given twice',
    summary: 'A clause that may appear once in a block appears again.',
    help: 'Keep one of them.',
    example: 'privacy { min_group_size 5  min_group_size 6 }\n',
  },
  internalParserError: {
    code: 'Q2999',
    severities: ['error'],
    title: 'Internal parser error',
    summary: 'The parser failed in a way it should not. This is a bug in Quotient.',
    help: 'Please report it with the policy text that caused it.',
  },
  unknownName: {
    code: 'Q3001',
    severities: ['error'],
    title: 'Unknown name',
    summary: 'A name in a formula is not a metric, fact or attribute.',
    help: 'Check the spelling (the message suggests the closest name) or declare the metric.',
    example: 'metric acceptance = accepted / max(tasks, 1)\nmetric score = acceptence * 100\n',
  },
  unknownClass: {
    code: 'Q3002',
    severities: ['error'],
    title: 'Unknown model class',
    summary: 'A `model … class X` or `tier … models X` names a class that is not declared.',
    help: 'Declare the class with `class X` or fix the spelling.',
    example: 'class economy "Routine tasks"\nmodel "gpt-4o-mini" class econmy\n',
  },
  unknownTier: {
    code: 'Q3003',
    severities: ['error'],
    title: 'Unknown tier',
    summary: 'An `assign` or `expect tier` names a tier that is not declared.',
    help: 'Declare the tier or fix the spelling.',
    example: 'tier baseline { limit 2M tokens per month  models any }\nassign basline otherwise\n',
  },
  unknownLeaderboard: {
    code: 'Q3004',
    severities: ['error'],
    title: 'Unknown leaderboard',
    summary: 'A test expectation names a leaderboard that is not declared.',
    help: 'Use the name of a declared `leaderboard`.',
    example:
      'test "ranked" {\n  given person "ana" facts { tasks 5 }\n  expect eligible value_per_token\n}\n',
  },
  unknownAudience: {
    code: 'Q3005',
    severities: ['error'],
    title: 'Unknown audience or approver',
    summary: 'A `notify` audience or a `require approval by` approver is not one Quotient knows.',
    help: 'Audiences: `person`, `manager`, `team_owner`, `finance`, `security`, `governance`, `admin`, `legal`, `hr`. Approvers: `manager`, `team_owner`, `governance`, `finance`, `security`.',
    example: 'rule leak { when redaction_failures > 0 then notify finanse }\n',
  },
  unknownAttribute: {
    code: 'Q3006',
    severities: ['error'],
    title: 'Unknown attribute',
    summary:
      'An attribute such as `team.sensitivty` does not exist, or something without attributes is followed by `.`.',
    help: 'A person has `person`, `name`, `team`, `role`, `manager`, `opted_in`, `from_directory`, `attributes.<x>` and `team.<x>`; a team has `team`, `parent`, `cost_center`, `sensitivity`, `owner`, `attributes.<x>`.',
    example: 'rule restricted { when team.sensitivty == "restricted" then block }\n',
  },
  unknownFunction: {
    code: 'Q3007',
    severities: ['error'],
    title: 'Unknown function',
    summary: 'A call names a function the language does not have.',
    help: 'Functions: `max`, `min`, `clamp`, `abs`, `round`, `floor`, `ceil`, `log10`, `ln`, `sqrt`.',
    example: 'metric per_task = tokens / maxx(tasks, 1)\n',
  },
  unknownLadder: {
    code: 'Q3008',
    severities: ['error'],
    title: 'Unknown escalation ladder',
    summary:
      'Only two ladders exist: `quota` (against tier limits) and `budget` (against budgets). In policy text the parser reports another name first (Q2002); the checker repeats the check for syntax trees built by other tools.',
    help: 'Write `escalation quota { … }` or `escalation budget { … }`.',
  },
  unknownMetric: {
    code: 'Q3009',
    severities: ['error'],
    title: 'Unknown metric',
    summary: 'An `expect metric` names a metric that is not declared.',
    help: 'Use the name of a declared `metric`.',
    example:
      'test "accepted" {\n  given person "ana" facts { tasks 5 }\n  expect metric acceptance between 0 and 1\n}\n',
  },
  duplicateName: {
    code: 'Q3010',
    severities: ['error'],
    title: 'Duplicate name',
    summary:
      'Two classes, models, metrics, leaderboards, tiers, rules, ladders, tests or budgets share a name, or a price kind is given twice.',
    help: 'Rename or remove one of them.',
    example: 'class premium "Frontier models"\nclass premium "Large models"\n',
  },
  unknownFact: {
    code: 'Q3011',
    severities: ['error'],
    title: 'Unknown fact',
    summary: 'A name before `within`, or in a test’s `facts { … }`, is not a fact.',
    help: 'Facts: `tokens`, `input_tokens`, `output_tokens`, `cache_read_tokens`, `cache_write_tokens`, `cost`, `requests`, `tasks`, `accepted`, `rejected`, `reworked`, `completed`, `minutes_saved`, `redaction_failures`, `sensitive_flags`, `policy_exceptions`, `active_days`, `sessions`, `lines_added`, `lines_removed`, `commits`, `pull_requests`.',
    example:
      'test "facts" {\n  given person "ana" facts { tokns 5 }\n  expect not fires leak\n}\nrule leak { when redaction_failures > 0 then notify security }\n',
  },
  badExpectation: {
    code: 'Q3012',
    severities: ['error'],
    title: 'Expectation about nothing',
    summary:
      'A test expectation names no given subject, a rule or ladder step that does not exist, or an unknown band.',
    help: 'Name a subject given in the test, a declared rule or an existing ladder step, and a band `green`, `yellow` or `red`.',
    example:
      'escalation quota {\n  at 70% notify person\n}\ntest "steps" {\n  given person "ana" facts { tokens 5 }\n  expect not fires quota at 90%\n}\n',
  },
  metricShadowsName: {
    code: 'Q3013',
    severities: ['error'],
    title: 'Metric hides a fact or attribute',
    summary: 'A metric is named like a fact or attribute, which it would hide.',
    help: 'Choose another name for the metric.',
    example: 'metric tokens = input_tokens + output_tokens\n',
  },
  modelPatternCollision: {
    code: 'Q3014',
    severities: ['error'],
    title: 'Model pattern collides',
    summary:
      "A `matches` pattern covers another declared model's name (so that model's dated and prefixed names would be priced as this one), or one pattern is given to two models.",
    help: 'Make the pattern more specific, e.g. `"claude-sonnet-4-2*"` instead of `"claude-sonnet-4-*"` next to `claude-sonnet-4-5`; keep a pattern on one model.',
    example:
      'class standard\nmodel "claude-sonnet-4" class standard matches "claude-sonnet-4-*"\nmodel "claude-sonnet-4-5" class standard\n',
  },
  patternMatchesAll: {
    code: 'Q3015',
    severities: ['error'],
    title: 'Pattern matches every name',
    summary: 'A `matches` pattern made only of `*` would price every model name as this model.',
    help: 'Write the name the pattern stands for, e.g. `"claude-sonnet-4-5-*"`.',
    example: 'class standard\nmodel "any" class standard matches "*"\n',
  },
  mixedUnitsSum: {
    code: 'Q4001',
    severities: ['error'],
    title: 'Adding different units',
    summary: '`+` or `-` of values with different units, e.g. `cost + tokens`.',
    help: 'Add like to like; convert with a formula that makes the units agree (`cost / tokens` is money per token).',
    example: 'metric muddle = cost + tokens\n',
  },
  mixedUnitsComparison: {
    code: 'Q4002',
    severities: ['error'],
    title: 'Comparing different units',
    summary: 'A comparison of different units or types, e.g. `tokens >= 2,000 USD`.',
    help: 'Compare values of the same unit.',
    example: 'currency USD\nrule big { when tokens >= 2,000 USD then notify finance }\n',
  },
  arithmeticOnText: {
    code: 'Q4003',
    severities: ['error'],
    title: 'Arithmetic on text or true/false',
    summary: 'Arithmetic or ordering applied to text or to a true/false value.',
    help: 'Compare text with `==`, `!=` or `in`; use `if … then … else` to turn a condition into a number.',
    example: 'metric odd = role + 1\n',
  },
  notACondition: {
    code: 'Q4004',
    severities: ['error'],
    title: 'Not a condition',
    summary:
      'A `when`, `eligible when`, `exclude when`, `if`, `and`, `or` or `not` operand that is not true/false.',
    help: 'Compare the value: `tokens > 0` rather than `tokens`.',
    example: 'rule any_use { when tokens then notify manager }\n',
  },
  notANumber: {
    code: 'Q4005',
    severities: ['error'],
    title: 'Not a number',
    summary: 'A metric or a leaderboard score that is not a number.',
    help: 'Metrics and scores are numbers; use `if … then 1 else 0` for a condition.',
    example: 'metric opted = opted_in\n',
  },
  badArguments: {
    code: 'Q4006',
    severities: ['error'],
    title: 'Wrong arguments',
    summary: 'A call with the wrong number of arguments, or with arguments of different units.',
    help: 'Check the function’s arguments; `max`, `min` and `clamp` need equal units.',
    example: 'metric muddle = max(cost, tokens)\n',
  },
  wrongCurrency: {
    code: 'Q4007',
    severities: ['error'],
    title: 'Other currency',
    summary: 'Money written in a currency other than the policy’s `currency`.',
    help: 'Write every amount in the policy currency.',
    example: 'currency USD\nbudget each team { 2,000 EUR per month }\n',
  },
  mixedBranches: {
    code: 'Q4008',
    severities: ['error'],
    title: '`if` branches differ',
    summary: 'The `then` and `else` branches of an `if` have different units or types.',
    help: 'Make both branches the same unit.',
    example: 'metric muddle = if opted_in then cost else tokens\n',
  },
  mixedList: {
    code: 'Q4009',
    severities: ['error'],
    title: 'List item of another type',
    summary: 'An item of an `in [ … ]` list has a different type than the value tested.',
    help: 'Make every item the same type as the value.',
    example: 'rule odd { when role in ["engineer", 5] then notify manager }\n',
  },
  numericCohort: {
    code: 'Q4010',
    severities: ['warning'],
    title: 'Numeric cohort',
    summary: 'A leaderboard cohort is a number, so nearly every subject gets its own cohort.',
    help: 'Group by an attribute such as `role` or `team`.',
    example: 'leaderboard busiest {\n  subject person\n  cohort tasks\n  score = accepted\n}\n',
  },
  inexactMoney: {
    code: 'Q4011',
    severities: ['error'],
    title: 'Amount not exact',
    summary: 'A price or budget has more than 6 decimals, so it cannot be stored exactly.',
    help: 'Round the amount to at most 6 decimals.',
    example: 'class economy\nmodel "tiny" class economy price { input 0.1234567 }\n',
  },
  badPriceQuantity: {
    code: 'Q4012',
    severities: ['error'],
    title: 'Price quantity out of range',
    summary:
      '`web_search … per N` with N not a whole number of calls ≥ 1, a `batch` or `priority` share outside 0–1000% or with more than 2 decimals, or `above N input` with N not a whole number ≥ 1.',
    help: 'Write `web_search 10.00 per 1k`, `batch 50%`, `above 200k input { … }`.',
    example: 'class standard\nmodel "m" class standard price { web_search 10.00 per 0 }\n',
  },
  metricCycle: {
    code: 'Q5001',
    severities: ['error'],
    title: 'Metric cycle',
    summary: 'Metrics that depend on each other in a circle; the message names the cycle.',
    help: 'Break the cycle: one of the metrics must be written from facts.',
    example: 'metric ping = pong + 1\nmetric pong = ping + 1\n',
  },
  thresholdsNotRising: {
    code: 'Q5002',
    severities: ['error'],
    title: 'Thresholds do not rise',
    summary: 'The `at` (or the `forecast`) steps of a ladder do not rise strictly, or one is ≤ 0%.',
    help: 'Order the steps by rising threshold, each above 0%.',
    example: 'escalation quota {\n  at 90% require justification\n  at 70% notify person\n}\n',
  },
  unreachableAssign: {
    code: 'Q5003',
    severities: ['error'],
    title: 'Unreachable assignment',
    summary: 'An `assign` follows `otherwise` (or `when true`), which matches everyone first.',
    help: 'Move `assign … otherwise` last.',
    example:
      'tier baseline { limit 2M tokens per month  models any }\ntier power { limit 10M tokens per month  models any }\nassign baseline otherwise\nassign power when role == "engineer"\n',
  },
  noFallbackTier: {
    code: 'Q5004',
    severities: ['warning'],
    title: 'No fallback tier',
    summary: 'There is no `assign … otherwise`, so some people may get no tier.',
    help: 'End the assignments with `assign <tier> otherwise`.',
    example:
      'tier power { limit 10M tokens per month  models any }\nassign power when role == "engineer"\n',
  },
  headerProblem: {
    code: 'Q5005',
    severities: ['error', 'warning'],
    title: 'Header repeated or missing',
    summary:
      'A header declaration (`policy`, `currency`, `timezone`, `privacy`, `exceptions`) is repeated (error), or the `policy` header is missing (warning).',
    help: 'Keep one of each header declaration, and start the file with `policy "<name>" version "<v>"`.',
    example: 'currency USD\ncurrency EUR\n',
  },
  missingValue: {
    code: 'Q5006',
    severities: ['error'],
    title: 'Missing or out-of-range value',
    summary:
      'A tier without a limit, a leaderboard without a score, or a `top`, `min_group_size`, `max_duration` or budget amount out of range.',
    help: 'Give the value, within its range (the message says which).',
    example: 'privacy { min_group_size 0 }\n',
  },
  unknownTimezone: {
    code: 'Q5007',
    severities: ['error'],
    title: 'Unknown timezone',
    summary: 'The `timezone` is not an IANA zone name.',
    help: 'Use an IANA name such as `"Europe/London"` (the message suggests the closest).',
    example: 'timezone "Europe/Londn"\n',
  },
  badTest: {
    code: 'Q5009',
    severities: ['error', 'warning'],
    title: 'Incomplete test',
    summary:
      'A test without `given`, or with an invalid `now` (errors), or a test that expects nothing (warning).',
    help: 'Give at least one subject, a valid ISO time for `now`, and at least one `expect`.',
    example:
      'tier baseline { limit 2M tokens per month  models any }\nassign baseline otherwise\ntest "no one" {\n  expect tier baseline\n}\n',
  },
  badCurrency: {
    code: 'Q5010',
    severities: ['error'],
    title: 'Not a currency',
    summary:
      'The `currency` is not three capital letters. In policy text the parser reports such a code first (Q2001); the checker repeats the check for syntax trees built by other tools.',
    help: 'Use a three-letter ISO 4217 code such as `USD`, `EUR` or `GBP`.',
  },
  volumeScore: {
    code: 'Q5011',
    severities: ['warning'],
    title: 'Score ranks volume',
    summary: 'A leaderboard score that is raw tokens or money ranks consumption, not value.',
    help: 'Score value per token: acceptance, time saved or cost per accepted task.',
    example: 'leaderboard biggest {\n  subject person\n  score = tokens\n}\n',
  },
  expressionTooDeep: {
    code: 'Q5012',
    severities: ['error'],
    title: 'Expression too deep',
    summary:
      'An expression nests more than 400 operators deep. It is reported alone, before other checks.',
    help: 'Split it into metrics.',
  },
  longContextChangesNothing: {
    code: 'Q5013',
    severities: ['warning'],
    title: 'Long-context tier changes nothing',
    summary: 'An `above N input { }` tier gives no rate, so requests above N cost the same.',
    help: 'Give the rates that apply above the threshold, e.g. `above 200k input { input 6.00 output 22.50 }`.',
    example: 'class standard\nmodel "m" class standard price { input 3.00 above 200k input { } }\n',
  },
  badBudget: {
    code: 'Q5014',
    severities: ['error'],
    title: 'Budget target or amount not usable',
    summary:
      'A token budget that is not a whole number of tokens, or a project name that is empty or holds `@` or `#` (which the budget windows use as separators).',
    help: 'Write `budget project "launch" { 50M tokens per month }`: a plain project name and a whole number of tokens.',
    example: 'budget project "a@b" { 5,000 USD per month }\n',
  },
  measureShadowsName: {
    code: 'Q3030',
    severities: ['error'],
    title: 'Measure hides a fact, metric or attribute',
    summary:
      'A measure is named like a built-in fact, a metric or an attribute, which it would hide. The Claude Code activity facts (`sessions`, `lines_added`, `lines_removed`, `commits`, `pull_requests`) are the exception: they arrive as measures too, and declaring one chooses its aggregation.',
    help: 'Choose another name for the measure.',
    example: 'measure tokens { unit tokens  aggregate sum }\n',
  },
  badMeasure: {
    code: 'Q5030',
    severities: ['error'],
    title: 'Measure without a usable unit or aggregation',
    summary:
      'A measure needs a `unit` (count, tokens, money, minutes or score) and an `aggregate` (sum, mean, or percentile N with 0 < N ≤ 100); a Claude Code activity measure counts, so its unit is count.',
    help: 'Write `measure review_score "Review score" { unit score  aggregate mean }`.',
    example: 'measure cycle_time { unit hours  aggregate percentile 90 }\n',
  },
  badBadge: {
    code: 'Q5031',
    severities: ['error'],
    title: 'Badge without a condition',
    summary: 'A badge needs `when <condition>`: who earns it in its window.',
    help: 'Write `badge token_legend "Token Legend" { window quarter  when tasks >= 20 and tokens_per_task < 2k }`.',
    example: 'badge legend "Legend" { window quarter }\n',
  },
  badDetector: {
    code: 'Q5040',
    severities: ['error'],
    title: 'Detector not usable',
    summary:
      'A rule with neither `when` nor `detect`, an unknown detector, or a detector whose fact, window, threshold, history or period does not fit it.',
    help: 'Write `detect deviation of tokens within 28d above 3.5 history 7d`, `detect task_splitting within 28d above 3`, `detect retry_loop within 1h above 8` or `detect period_end_burst of tokens within 3d above 50% in month`.',
    example:
      'rule odd "Odd use" {\n  detect deviation of tokens within 3d above 3\n  then notify manager\n}\n',
  },
  badTeamRule: {
    code: 'Q5041',
    severities: ['error'],
    title: 'Team rule action not usable',
    summary:
      'A rule with `subject team` that notifies `person` or `manager`, or that requires something or blocks: a team has neither, and no request of its own to hold.',
    help: 'Notify the team owner or governance: `then notify team_owner, finance`.',
    example:
      'rule team_burst "Team burst" {\n  subject team\n  detect deviation of cost within 28d above 4\n  then notify manager\n}\n',
  },
  measureInAssignment: {
    code: 'Q5042',
    severities: ['error'],
    title: 'Measure in a tier assignment',
    summary:
      'An `assign ... when` condition reads a declared outcome measure, directly or through a metric. The quota check answers from usage, the directory and holds before every request, and does not read measures, so the tier it gives would differ from the one a full evaluation gives.',
    help: 'Assign tiers on usage facts and attributes (`tokens within 30d`, `role`, `team`); use measures in metrics, boards, badges and rules.',
    example:
      'measure review_score "Review score" { unit score  aggregate mean }\ntier senior "Senior" { limit 5M tokens per month models any }\nassign senior when review_score within 30d >= 4\n',
  },
  badSeason: {
    code: 'Q5032',
    severities: ['error'],
    title: 'Season not usable',
    summary:
      'A season needs `from "YYYY-MM-DD"` and `until "YYYY-MM-DD"` (local dates of the policy timezone, `until` the first day after it), `from` before `until`, and no day in two seasons.',
    help: 'Write `season q4_2026 "Q4 2026" { from "2026-10-01"  until "2027-01-01" }`; the next season may start on the day this one ends.',
    example: 'season q4 "Q4" { from "2026-10-01" }\n',
  },
  seasonWithoutSeasons: {
    code: 'Q5033',
    severities: ['error'],
    title: '`window season` without a season',
    summary:
      'A leaderboard or badge with `window season` reads the current season, and the policy declares none.',
    help: 'Declare the seasons: `season q4_2026 "Q4 2026" { from "2026-10-01"  until "2027-01-01" }`, or use a calendar window.',
    example: 'badge b { window season  when tasks >= 1 }\n',
  },
  badPool: {
    code: 'Q5021',
    severities: ['error'],
    title: 'Budget pool not usable',
    summary:
      'A pool whose name is empty or holds `@` or `#` (which the budget windows use as separators), or that names a team twice or a team with an empty name.',
    help: 'Write `budget pool "ml-research" teams "platform", "routing" { 10,000 USD per month }`: a plain name and each team once.',
    example: 'budget pool "ml" teams "platform", "platform" { 5,000 USD per month }\n',
  },
  badRequestLimit: {
    code: 'Q5022',
    severities: ['error'],
    title: 'Request limit not usable',
    summary:
      'A `request` limit with no step, a step that is not a whole number of input tokens, `warn` or `block` given twice, or a warning at or above the block (it would never show).',
    help: 'Write `request premium { warn above 50k input "…"  block above 200k input }`: each step once, the warning below the block.',
    example:
      'class premium "Frontier"\nrequest premium { warn above 300k input  block above 200k input }\n',
  },
  maybeDivisionByZero: {
    code: 'Q6001',
    severities: ['warning'],
    title: 'Division may be by zero',
    summary:
      'A denominator can be zero. At run time `x / 0` is 0 and is flagged in the explanation.',
    help: 'Divide by `max(x, 1)` when zero is possible.',
    example: 'metric acceptance = accepted / tasks\n',
  },
  logOfNonPositive: {
    code: 'Q6002',
    severities: ['warning'],
    title: 'Logarithm of zero or less',
    summary:
      '`log10` or `ln` of something that can be ≤ 0. At run time the result is 0 and flagged.',
    help: 'Shift the argument: `log10(10 + x)`.',
    example: 'metric scale = log10(tokens)\n',
  },
} as const satisfies Record<string, DiagnosticInfo>;

export type DiagnosticName = keyof typeof DIAGNOSTICS;
export type DiagnosticCode = (typeof DIAGNOSTICS)[DiagnosticName]['code'];

/** The code of each diagnostic, by name: `codes.unknownName` is `'Q3001'`. */
export const codes = Object.fromEntries(
  Object.entries(DIAGNOSTICS).map(([name, info]) => [name, info.code]),
) as { readonly [N in DiagnosticName]: (typeof DIAGNOSTICS)[N]['code'] };

const byCode = new Map<string, DiagnosticInfo>(
  Object.values(DIAGNOSTICS).map((info) => [info.code, info]),
);

/** The catalog entry of a code, or undefined for a code the catalog does not know. */
export function diagnosticInfo(code: string): DiagnosticInfo | undefined {
  return byCode.get(code);
}
