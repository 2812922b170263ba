// The policy language's tokens: the single source of its lexical syntax.
// Most keywords are contextual: they also count as names (category `Identifier`), so a
// writer may still use `team`, `tokens` or `month` in expressions. Only the operators and
// the words that separate clauses (`when`, `then`, `given`, `facts`, ...) are reserved.
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  // U+FEFF: editors on Windows may start a file with a byte-order mark
  pattern: /[ \t\r\n\uFEFF]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: 'comments' });

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: 'a name',
});
/** Three capital letters: an ISO 4217 code such as `USD`; also usable as a name. */
export const CurrencyCode = createToken({
  name: 'CurrencyCode',
  pattern: /[A-Z]{3}/,
  longer_alt: Identifier,
  categories: [Identifier],
  label: 'a currency code such as `USD`',
});

// Numbers. A malformed number (`10tasks`, `1.2.3`, `7days`) lexes as BadNumber, whose
// longer match wins over a valid prefix, so the writer sees one clear error.
export const BadNumber = createToken({
  name: 'BadNumber',
  pattern: /\d[\w.]*/,
  label: 'a malformed number',
});
export const DurationLit = createToken({
  name: 'DurationLit',
  pattern: /\d+(?:\.\d+)?(?:mo|[mhdwy])/,
  longer_alt: BadNumber,
  label: 'a duration such as `7d`',
});
export const PercentLit = createToken({
  name: 'PercentLit',
  pattern: /(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%/,
  label: 'a percentage such as `70%`',
});
/** `2,000`, `40k`, `2M`, `1.5B`, `0.30` */
export const NumberLit = createToken({
  name: 'NumberLit',
  pattern: /(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?[kMB]?/,
  longer_alt: BadNumber,
  label: 'a number',
});

export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\r\n]|\\.)*"/,
  label: 'a string',
});
/** A string with no closing quote on its line: reported, then parsed as if closed. */
export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"(?:[^"\\\r\n]|\\.)*/,
  categories: [StringLiteral],
  label: 'a string',
});

/** Category of the infix operators, so expressions parse as a flat operand/operator list. */
export const BinaryOperator = createToken({
  name: 'BinaryOperator',
  pattern: Lexer.NA,
  label: 'an operator',
});

const punct = (name: string, pattern: string, infix = false) =>
  createToken({
    name,
    pattern,
    label: `\`${pattern}\``,
    categories: infix ? [BinaryOperator] : [],
  });
export const LCurly = punct('LCurly', '{');
export const RCurly = punct('RCurly', '}');
export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LBracket = punct('LBracket', '[');
export const RBracket = punct('RBracket', ']');
export const Comma = punct('Comma', ',');
export const Dot = punct('Dot', '.');
export const EqEq = punct('EqEq', '==', true);
export const NotEq = punct('NotEq', '!=', true);
export const LtEq = punct('LtEq', '<=', true);
export const GtEq = punct('GtEq', '>=', true);
export const Lt = punct('Lt', '<', true);
export const Gt = punct('Gt', '>', true);
export const Equals = punct('Equals', '=');
export const Plus = punct('Plus', '+', true);
export const Minus = punct('Minus', '-', true);
export const Star = punct('Star', '*', true);
export const Slash = punct('Slash', '/', true);

/** All keyword token types, by their word. */
export const keywordTokens = new Map<string, TokenType>();
/** Words that can never be names. */
export const reservedWords = new Set<string>();

function keyword(word: string, reserved = false, infix = false): TokenType {
  const name = word
    .split('_')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
  const token = createToken({
    name: `Kw${name}`,
    pattern: word,
    longer_alt: Identifier,
    categories: infix ? [BinaryOperator] : reserved ? [] : [Identifier],
    label: `\`${word}\``,
  });
  keywordTokens.set(word, token);
  if (reserved) reservedWords.add(word);
  return token;
}

// reserved: operators and clause separators
export const And = keyword('and', true, true);
export const Or = keyword('or', true, true);
export const Not = keyword('not', true);
export const In = keyword('in', true);
export const If = keyword('if', true);
export const Then = keyword('then', true);
export const Else = keyword('else', true);
export const True = keyword('true', true);
export const False = keyword('false', true);
export const Within = keyword('within', true);
export const When = keyword('when', true);
export const Otherwise = keyword('otherwise', true);
export const Given = keyword('given', true);
export const Facts = keyword('facts', true);
export const Expect = keyword('expect', true);
export const Now = keyword('now', true);
export const Any = keyword('any', true);

// declarations (reserved, so a broken expression never swallows the next declaration)
export const Policy = keyword('policy', true);
export const Version = keyword('version');
export const Currency = keyword('currency', true);
export const Timezone = keyword('timezone', true);
export const Privacy = keyword('privacy', true);
export const Exceptions = keyword('exceptions', true);
export const Class = keyword('class', true);
export const Model = keyword('model', true);
export const Metric = keyword('metric', true);
export const Measure = keyword('measure', true);
export const Badge = keyword('badge', true);
export const Season = keyword('season', true);
export const Leaderboard = keyword('leaderboard', true);
export const Tier = keyword('tier', true);
export const Assign = keyword('assign', true);
export const Budget = keyword('budget', true);
export const Escalation = keyword('escalation', true);
export const Rule = keyword('rule', true);
export const Request = keyword('request', true);
export const Test = keyword('test', true);

// clauses
export const MinGroupSize = keyword('min_group_size');
export const Identities = keyword('identities');
export const Masked = keyword('masked');
export const Named = keyword('named');
export const MaxDuration = keyword('max_duration');
export const Price = keyword('price');
export const Input = keyword('input');
export const Output = keyword('output');
export const CacheRead = keyword('cache_read');
export const CacheWrite = keyword('cache_write');
export const CacheWrite1h = keyword('cache_write_1h');
export const AudioInput = keyword('audio_input');
export const AudioOutput = keyword('audio_output');
export const WebSearch = keyword('web_search');
export const Batch = keyword('batch');
export const Priority = keyword('priority');
export const Above = keyword('above');
export const Matches = keyword('matches');
export const Subject = keyword('subject');
export const Window = keyword('window');
export const From = keyword('from');
export const Until = keyword('until');
export const Cohort = keyword('cohort');
export const Eligible = keyword('eligible');
export const Exclude = keyword('exclude');
export const Score = keyword('score');
export const Top = keyword('top');
export const Limit = keyword('limit');
export const Tokens = keyword('tokens');
export const Per = keyword('per');
export const Models = keyword('models');
export const Each = keyword('each');
export const Org = keyword('org');
export const Environment = keyword('environment');
export const Project = keyword('project');
export const Pool = keyword('pool');
export const Teams = keyword('teams');
export const Warn = keyword('warn');
export const Allow = keyword('allow');
export const At = keyword('at');
export const Forecast = keyword('forecast');
export const Notify = keyword('notify');
export const Require = keyword('require');
export const Justification = keyword('justification');
export const Approval = keyword('approval');
export const By = keyword('by');
export const Block = keyword('block');
export const Severity = keyword('severity');
export const Between = keyword('between');
export const Band = keyword('band');
export const Rank = keyword('rank');
export const Fires = keyword('fires');
export const Quota = keyword('quota');
export const Person = keyword('person');
export const Team = keyword('team');
export const Day = keyword('day');
export const Week = keyword('week');
export const Month = keyword('month');
export const Quarter = keyword('quarter');
export const Year = keyword('year');
export const Low = keyword('low');
export const Medium = keyword('medium');
export const High = keyword('high');
export const Critical = keyword('critical');
// measure declarations
export const Unit = keyword('unit');
export const Aggregate = keyword('aggregate');
export const Sum = keyword('sum');
export const Mean = keyword('mean');
export const Percentile = keyword('percentile');
export const Detect = keyword('detect');
export const Of = keyword('of');
export const History = keyword('history');
export const Daily = keyword('daily');

/** Words that start a top-level declaration, in the order the docs list them. */
export const declarationWords = [
  'policy',
  'currency',
  'timezone',
  'privacy',
  'exceptions',
  'class',
  'model',
  'measure',
  'metric',
  'leaderboard',
  'badge',
  'season',
  'tier',
  'assign',
  'budget',
  'escalation',
  'rule',
  'request',
  'test',
];

// Longer keywords first, so `input` is not lexed as `in` + `put`.
const keywordsLongestFirst = [...keywordTokens.entries()]
  .sort(([a], [b]) => b.length - a.length || a.localeCompare(b))
  .map(([, token]) => token);

export const allTokens: TokenType[] = [
  BinaryOperator,
  WhiteSpace,
  Comment,
  StringLiteral,
  UnterminatedString,
  DurationLit,
  PercentLit,
  NumberLit,
  BadNumber,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Dot,
  ...keywordsLongestFirst,
  CurrencyCode,
  Identifier,
];

/** Built once; lexing reuses it. */
export const policyLexer = new Lexer(allTokens, {
  ensureOptimizations: true,
  // no token spans a line, so its end is its start plus its length: tracking less saves memory
  positionTracking: 'onlyStart',
});
