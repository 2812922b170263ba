// Words Chevrotain's recognition errors as plain-language diagnostics:
// "expected `{` after the tier name, found `limit`", with did-you-mean for misspelled keywords.
import type { IRecognitionException, IToken, TokenType } from 'chevrotain';
import * as T from '../../grammar/tokens.ts';
import type { Range } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { codes } from './diagnostics.ts';
import type { BuildContext } from './parse-context.ts';
import { suggest } from './suggest.ts';

const tokenTypesByName = new Map<string, TokenType>(T.allTokens.map((t) => [t.name, t]));
const allKeywords = [...T.keywordTokens.keys()];

/** Clauses a block accepts, so "expected `}`" can also list what the block could contain. */
const clauseWords: Record<string, readonly string[]> = {
  privacyDecl: ['min_group_size', 'identities'],
  exceptionsDecl: ['max_duration'],
  modelDecl: ['matches', 'price'],
  priceItem: [
    'input',
    'output',
    'cache_read',
    'cache_write',
    'cache_write_1h',
    'audio_input',
    'audio_output',
    'web_search',
    'batch',
    'priority',
    'above',
  ],
  priceEntry: [
    'input',
    'output',
    'cache_read',
    'cache_write',
    'cache_write_1h',
    'audio_input',
    'audio_output',
  ],
  leaderboardDecl: ['subject', 'window', 'cohort', 'eligible', 'exclude', 'score', 'top'],
  leaderboardClause: ['subject', 'window', 'cohort', 'eligible', 'exclude', 'score', 'top'],
  tierDecl: ['limit', 'models'],
  tierClause: ['limit', 'models'],
  escalationDecl: ['at', 'forecast'],
  testDecl: ['now', 'given', 'expect'],
  given: ['facts', 'given', 'expect'],
};

/** What the writer calls each declaration, for "after the tier name". */
const declarationNoun: Record<string, string> = {
  policyHeader: 'policy',
  classDecl: 'class',
  modelDecl: 'model',
  metricDecl: 'metric',
  leaderboardDecl: 'leaderboard',
  tierDecl: 'tier',
  assignDecl: 'assign',
  budgetDecl: 'budget',
  escalationDecl: 'escalation',
  ruleDecl: 'rule',
  testDecl: 'test',
};

type Structured = { expected: string[]; ruleName: string };

function readStructured(message: string): Structured {
  try {
    const parsed = JSON.parse(message) as Structured;
    if (Array.isArray(parsed.expected)) return parsed;
  } catch {
    // a message Chevrotain built itself: fall through
  }
  return { expected: [], ruleName: '' };
}

function isRealToken(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && t.startOffset >= 0;
}

function isKeyword(t: TokenType): boolean {
  return t.name.startsWith('Kw');
}

function label(name: string): string {
  if (name === 'EOF') return 'end of file';
  const type = tokenTypesByName.get(name);
  return (type?.LABEL as string | undefined) ?? name;
}

const expressionStarts = ['NumberLit', 'LParen', 'Identifier'];
const valueStarts = ['NumberLit', 'PercentLit', 'StringLiteral'];

function listLabels(expected: string[]): string {
  let names = expected;
  // a whole first-set of expressions or literals reads better as one word
  if (expressionStarts.every((n) => names.includes(n))) {
    names = [
      'an expression',
      ...names.filter((n) => n === 'RCurly' || n === 'RParen' || n === 'RBracket'),
    ];
  } else if (valueStarts.every((n) => names.includes(n))) {
    names = ['a value such as `40k`, `70%`, `7d` or "text"'];
  }
  const labels = [...new Set(names.map(label))];
  if (labels.length === 0) return 'something else';
  if (labels.length > 8) return `${labels.slice(0, 8).join(', ')}, …`;
  if (labels.length === 1) return labels[0];
  return `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
}

function describeFound(t: IToken | undefined): string {
  if (!isRealToken(t)) return 'end of file';
  const image = t.image.length > 24 ? `${t.image.slice(0, 23)}…` : t.image;
  return `\`${image}\``;
}

/** Index of the token starting at `offset` (binary search over the token stream). */
function indexOf(tokens: IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const o = tokens[mid].startOffset;
    if (o === offset) return mid;
    if (o < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** "after the tier name", "after `limit`", or nothing at the start of the file. */
function describePrevious(prev: IToken | undefined, tokens: IToken[], rule: string): string {
  if (!isRealToken(prev)) return '';
  const noun = declarationNoun[rule];
  const i = indexOf(tokens, prev.startOffset);
  const before = i > 0 ? tokens[i - 1] : undefined;
  const declWord = (t: IToken | undefined) =>
    t !== undefined && t.image === noun && isKeyword(t.tokenType);
  if (noun && !isKeyword(prev.tokenType) && declWord(before)) return ` after the ${noun} name`;
  if (noun && prev.tokenType === T.StringLiteral && i > 1 && declWord(tokens[i - 2])) {
    return ` after the ${noun} label`;
  }
  return ` after ${describeFound(prev)}`;
}

/** The previous real token: where "found end of file" is best pointed at. */
function previousOf(e: IRecognitionException): IToken | undefined {
  return (e as IRecognitionException & { previousToken?: IToken }).previousToken;
}

/** A syntax diagnostic, and the keyword a misspelled word most likely was (for re-parsing). */
export type SyntaxProblem = { diagnostic: Diagnostic; fix?: { token: IToken; word: string } };

export function syntaxDiagnostic(
  e: IRecognitionException,
  tokens: IToken[],
  ctx: BuildContext,
): SyntaxProblem {
  const { expected, ruleName } = readStructured(e.message);
  const rule = e.context?.ruleStack?.at(-1) ?? ruleName;
  const found = e.token;
  // the token before the offending one, from the stream: after a resync Chevrotain's own
  // "previous token" is the last token it skipped, not what the writer sees before the error
  const foundIndex = isRealToken(found) ? indexOf(tokens, found.startOffset) : -1;
  const prev =
    foundIndex > 0
      ? tokens[foundIndex - 1]
      : foundIndex === 0
        ? undefined
        : (previousOf(e) ?? tokens.at(-1));
  let range: Range;
  if (isRealToken(found)) range = ctx.tokenRange(found);
  else if (isRealToken(prev)) {
    const end = ctx.tokenRange(prev).end.offset;
    range = ctx.rangeAt(end, end);
  } else {
    const last = tokens.at(-1);
    const end = last ? ctx.tokenRange(last).end.offset : ctx.text.length;
    range = ctx.rangeAt(end, end);
  }

  const foundText = describeFound(found);
  const plainWord =
    isRealToken(found) && found.tokenType === T.Identifier ? found.image : undefined;

  // Top level: text that starts no declaration (the parser skips to the next one).
  if (
    e.name === 'NotAllInputParsedException' ||
    (rule === 'policyFile' && expected.includes('EOF'))
  ) {
    let guess = plainWord
      ? (suggest(plainWord, T.declarationWords) ?? suggest(plainWord, allKeywords))
      : undefined;
    let at = range;
    let what = foundText;
    let fixToken = guess && isRealToken(found) ? found : undefined;
    // `metric m = a +` then `teir b {`: the misspelled word was read as part of the
    // expression above, so look at the word that starts the line
    if (!guess && isRealToken(prev) && prev.startColumn === 1 && prev.tokenType === T.Identifier) {
      guess = suggest(prev.image, T.declarationWords) ?? suggest(prev.image, allKeywords);
      if (guess) {
        at = ctx.tokenRange(prev);
        what = describeFound(prev);
        fixToken = prev;
      }
    }
    const diagnostic: Diagnostic = {
      severity: 'error',
      code: codes.unknownDeclaration,
      message: `expected a declaration, found ${what}`,
      range: at,
      hint: guess
        ? `did you mean \`${guess}\`?`
        : `declarations start with ${T.declarationWords.map((w) => `\`${w}\``).join(', ')}`,
    };
    return guess && fixToken
      ? { diagnostic, fix: { token: fixToken, word: guess } }
      : { diagnostic };
  }

  let names = expected;
  if (expected.includes('RCurly') && clauseWords[rule]) {
    names = [...clauseWords[rule].map((w) => T.keywordTokens.get(w)!.name), ...expected];
  }
  const keywordCandidates = names
    .map((n) => tokenTypesByName.get(n))
    .filter((t): t is TokenType => t !== undefined && isKeyword(t))
    .map((t) => t.name)
    .map((n) => label(n).slice(1, -1));
  // did-you-mean only for plain names: a keyword in the wrong place is not a typo. Words
  // expected here come first; then any keyword, since optional clauses (`price`,
  // `environment`, `within`) are not in Chevrotain's expected set
  const suggestKeyword = (word: string) =>
    suggest(word, keywordCandidates) ?? suggest(word, allKeywords);
  let guess = plainWord ? suggestKeyword(plainWord) : undefined;
  let fixToken = guess ? found : undefined;
  let at = range;
  let what = foundText;
  let before = prev;
  // `expct not eligible b`: the misspelled word was read as a name (an attribute here), and
  // the error surfaces one token later; point at the word instead
  if (!guess && isRealToken(prev) && prev.tokenType === T.Identifier) {
    guess = suggestKeyword(prev.image);
    if (guess) {
      fixToken = prev;
      at = ctx.tokenRange(prev);
      what = describeFound(prev);
      const i = indexOf(tokens, prev.startOffset);
      before = i > 0 ? tokens[i - 1] : undefined;
    }
  }
  const hint = guess ? `did you mean \`${guess}\`?` : expectationHint(names, found);

  const unclosed = expected.includes('RCurly') ? unclosedBrace(tokens, found, ctx) : undefined;
  const code =
    e.name === 'NoViableAltException'
      ? codes.noAlternative
      : e.name === 'EarlyExitException'
        ? codes.emptyList
        : codes.expectedToken;
  const message = `expected ${listLabels(names)}${describePrevious(before, tokens, rule)}, found ${what}`;
  const fullHint = hint ?? unclosed;
  const diagnostic: Diagnostic =
    fullHint === undefined
      ? { severity: 'error', code, message, range: at }
      : { severity: 'error', code, message, range: at, hint: fullHint };
  return guess && isRealToken(fixToken)
    ? { diagnostic, fix: { token: fixToken, word: guess } }
    : { diagnostic };
}

/** When a `}` is missing, the hint names the `{` left open, found by matching braces back. */
function unclosedBrace(
  tokens: IToken[],
  found: IToken | undefined,
  ctx: BuildContext,
): string | undefined {
  let i = isRealToken(found) ? indexOf(tokens, found.startOffset) : tokens.length;
  if (i < 0) return undefined;
  let depth = 0;
  for (i--; i >= 0; i--) {
    const t = tokens[i].tokenType;
    if (t === T.RCurly) depth++;
    else if (t === T.LCurly) {
      if (depth === 0) {
        const at = ctx.tokenRange(tokens[i]).start;
        return `add \`}\` to close the \`{\` opened at line ${at.line}, column ${at.column}`;
      }
      depth--;
    }
  }
  return undefined;
}

function expectationHint(expected: string[], found: IToken | undefined): string | undefined {
  if (expected.includes('CurrencyCode') && isRealToken(found) && /^[a-z]{3}$/.test(found.image)) {
    return `currency codes are upper case: \`${found.image.toUpperCase()}\``;
  }
  if (
    expected.includes('StringLiteral') &&
    isRealToken(found) &&
    found.tokenType === T.Identifier
  ) {
    return `quote it: "${found.image}"`;
  }
  if (
    isRealToken(found) &&
    T.reservedWords.has(found.image) &&
    !T.declarationWords.includes(found.image) &&
    expected.includes('Identifier')
  ) {
    return `\`${found.image}\` is a reserved word and cannot be used as a name`;
  }
  return undefined;
}
