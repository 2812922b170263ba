// Text → AST and diagnostics. Lexes and parses with the grammar's single parser instance,
// then builds the AST from the CST. Never throws: every problem becomes a diagnostic, and
// declarations damaged beyond use are left out of the AST (their errors are reported).
import type { CstElement, CstNode, ILexingError, IRecognitionException, IToken } from 'chevrotain';
import { policyParser } from '../../grammar/parser.ts';
import * as T from '../../grammar/tokens.ts';
import type {
  Action,
  BinaryOp,
  BudgetScope,
  Comment,
  Declaration,
  DurationExpr,
  DurationUnit,
  Expect,
  Expectation,
  Expr,
  FactValue,
  Given,
  GivenAttribute,
  LeaderboardDecl,
  Name,
  NumberExpr,
  PercentExpr,
  Period,
  PolicyFile,
  Position,
  PriceEntry,
  PriceKind,
  Range,
  Severity,
  StringLit,
  SubjectKind,
  TestDecl,
  TierDecl,
} from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { syntaxDiagnostic } from './parse-errors.ts';

export type ParseResult = { ast: PolicyFile; diagnostics: Diagnostic[] };

/** Lexing only, for benchmarks and tools. */
export function lexPolicy(text: string) {
  return T.policyLexer.tokenize(text);
}

const MAX_RESPELL_ROUNDS = 3;
/** Deeper bracket nesting is refused up front: no policy needs it, and it would overflow the stack. */
const MAX_NESTING = 100;

function tooDeeplyNested(tokens: IToken[]): IToken | undefined {
  let depth = 0;
  for (const t of tokens) {
    const type = t.tokenType;
    if (type === T.LParen || type === T.LBracket || type === T.LCurly) {
      if (++depth > MAX_NESTING) return t;
    } else if (type === T.RParen || type === T.RBracket || type === T.RCurly) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

function emptyFile(ctx: BuildContext): PolicyFile {
  return {
    kind: 'PolicyFile',
    range: ctx.rangeAt(0, ctx.text.length),
    declarations: [],
    comments: [],
  };
}

/**
 * True when characters the lexer dropped (already reported) sit between this syntax error
 * and the token before it: `a && b` reports the `&&`, not also the stranded `b`.
 */
function followsDroppedText(d: Diagnostic, tokens: IToken[], lexErrors: ILexingError[]): boolean {
  if (lexErrors.length === 0) return false;
  const at = d.range.start.offset;
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].startOffset < at) lo = mid + 1;
    else hi = mid;
  }
  const prev = tokens[lo - 1];
  const prevEnd = prev ? prev.startOffset + prev.image.length : 0;
  return lexErrors.some((e) => e.offset >= prevEnd && e.offset < at);
}

/** Parses, building each declaration's AST as soon as the parser completes it. */
function parseTokens(tokens: IToken[], ctx: BuildContext): Declaration[] {
  const declarations: Declaration[] = [];
  ctx.buildDiagnostics = [];
  policyParser.input = tokens;
  policyParser.declarationSink = (node, first, last) => {
    const declaration = buildDeclaration(node, ctx, first, last);
    if (declaration) declarations.push(declaration);
  };
  try {
    policyParser.policyFile();
  } finally {
    policyParser.declarationSink = null;
  }
  return declarations;
}

export function parsePolicy(text: string, file?: string): ParseResult {
  const source = typeof text === 'string' ? text : String(text);
  const ctx = new BuildContext(source);
  try {
    const lexed = T.policyLexer.tokenize(source);
    for (const error of lexed.errors) ctx.lexError(error);
    let tokens = ctx.checkTokens(lexed.tokens);
    const tooDeep = tooDeeplyNested(tokens);
    if (tooDeep) {
      ctx.lexicalError(
        'Q2008',
        `brackets nest more than ${MAX_NESTING} levels deep here`,
        ctx.tokenRange(tooDeep),
        'split the expression into metrics',
      );
      return { ast: emptyFile(ctx), diagnostics: finish(ctx.diagnostics, file) };
    }
    let declarations = parseTokens(tokens, ctx);
    // A misspelled keyword (`teir`, `limt`) is reported once; then the file is parsed again
    // as if it were spelled right, so what follows it gets no confusing follow-on errors.
    const corrected = new Set<number>();
    let problems = policyParser.errors.map((e) =>
      syntaxDiagnostic(e as IRecognitionException, tokens, ctx),
    );
    for (let round = 0; round < MAX_RESPELL_ROUNDS; round++) {
      const fixes = problems.filter((p) => p.fix && !corrected.has(p.fix.token.startOffset));
      if (fixes.length === 0) break;
      tokens = [...tokens];
      for (const { fix, diagnostic } of fixes) {
        const i = tokens.indexOf(fix!.token);
        const keyword = T.keywordTokens.get(fix!.word);
        if (i < 0 || !keyword) continue;
        tokens[i] = { ...fix!.token, tokenType: keyword, tokenTypeIdx: keyword.tokenTypeIdx! };
        corrected.add(fix!.token.startOffset);
        ctx.diagnostics.push(diagnostic);
      }
      declarations = parseTokens(tokens, ctx);
      problems = policyParser.errors.map((e) =>
        syntaxDiagnostic(e as IRecognitionException, tokens, ctx),
      );
    }
    for (const p of problems) {
      if (!followsDroppedText(p.diagnostic, tokens, lexed.errors))
        ctx.diagnostics.push(p.diagnostic);
    }
    const comments = (lexed.groups.comments ?? []).map((t) => ({
      text: t.image,
      range: ctx.tokenRange(t),
    }));
    ctx.diagnostics.push(...ctx.buildDiagnostics);
    const ast: PolicyFile = {
      kind: 'PolicyFile',
      range: ctx.rangeAt(0, source.length),
      declarations,
      comments,
    };
    return { ast, diagnostics: finish(ctx.diagnostics, file) };
  } catch (error) {
    // A bug in the front end must not crash `check` or `fmt`: report it at the file start.
    const overflow = error instanceof RangeError;
    const diagnostics = ctx.diagnostics.filter((d) => d.code.startsWith('Q1'));
    diagnostics.push({
      severity: 'error',
      code: overflow ? 'Q2008' : 'Q2999',
      message: overflow
        ? 'this policy nests too deeply to read (very long chains of `if`, `not` or `-`)'
        : `internal parser error: ${(error as Error)?.message ?? String(error)}`,
      range: ctx.rangeAt(0, 0),
    });
    return { ast: emptyFile(ctx), diagnostics: finish(diagnostics, file) };
  }
}

/** The AST of an already-parsed CST (benchmarks time this phase on its own). */
export function buildPolicyAst(cst: CstNode, text: string, commentTokens: IToken[]): PolicyFile {
  const ctx = new BuildContext(text);
  const comments = commentTokens.map((t) => ({ text: t.image, range: ctx.tokenRange(t) }));
  return buildFile(cst, comments, ctx);
}

function finish(diagnostics: Diagnostic[], file?: string): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = `${d.range.start.offset}:${d.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(file === undefined ? d : { ...d, file });
  }
  return out.sort(
    (a, b) => a.range.start.offset - b.range.start.offset || a.code.localeCompare(b.code),
  );
}

/** Positions, diagnostics and the fallbacks used while building from a possibly broken CST. */
export class BuildContext {
  readonly text: string;
  readonly diagnostics: Diagnostic[] = [];
  /** problems found while building the AST; reset when the file is parsed again */
  buildDiagnostics: Diagnostic[] = [];
  private lineStarts: number[] | null = null;

  constructor(text: string) {
    this.text = text;
  }

  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    if (this.lineStarts === null) {
      const starts = [0];
      const text = this.text;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13) {
          if (text.charCodeAt(i + 1) === 10) i++;
          starts.push(i + 1);
        }
      }
      this.lineStarts = starts;
    }
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: clamped - starts[lo] + 1, offset: clamped };
  }

  rangeAt(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }

  tokenRange(t: IToken): Range {
    if (!isReal(t)) return this.rangeAt(this.text.length, this.text.length);
    // tokens track only their start: none spans a line, so the end is start + length
    const length = t.image.length;
    return {
      start: { line: t.startLine!, column: t.startColumn!, offset: t.startOffset },
      end: { line: t.startLine!, column: t.startColumn! + length, offset: t.startOffset + length },
    };
  }

  /** A problem found while building the AST (dropped if the file is parsed again). */
  error(code: string, message: string, range: Range, hint?: string): void {
    this.buildDiagnostics.push(diagnostic(code, message, range, hint));
  }

  /** A lexical problem: found once, kept whatever the parser does next. */
  lexicalError(code: string, message: string, range: Range, hint?: string): void {
    this.diagnostics.push(diagnostic(code, message, range, hint));
  }

  lexError(e: ILexingError): void {
    const snippet = this.text.slice(e.offset, e.offset + Math.min(e.length, 20));
    const shown = snippet.replace(/[\r\n\t]/g, ' ');
    this.lexicalError(
      'Q1001',
      `unexpected character${e.length > 1 ? 's' : ''} \`${shown}\``,
      this.rangeAt(e.offset, e.offset + e.length),
      lexHint(snippet),
    );
  }

  /** Reports unterminated strings and malformed numbers; the parser then sees valid tokens. */
  checkTokens(tokens: IToken[]): IToken[] {
    for (const t of tokens) {
      if (t.tokenType === T.UnterminatedString) {
        this.lexicalError(
          'Q1002',
          'this string has no closing `"`',
          this.tokenRange(t),
          'close the string on the same line',
        );
      } else if (t.tokenType === T.BadNumber) {
        this.lexicalError(
          'Q1003',
          `\`${t.image}\` is not a number`,
          this.tokenRange(t),
          'numbers look like `2,000`, `40k`, `2M` or `1.5`; durations like `7d`, `12h`, `4w`, `3mo`',
        );
        t.tokenType = T.NumberLit;
        t.tokenTypeIdx = T.NumberLit.tokenTypeIdx!;
      }
    }
    return tokens;
  }
}

function diagnostic(code: string, message: string, range: Range, hint?: string): Diagnostic {
  return hint === undefined
    ? { severity: 'error', code, message, range }
    : { severity: 'error', code, message, range, hint };
}

function lexHint(snippet: string): string | undefined {
  const c = snippet[0];
  if (c === ';') return 'each declaration ends at its line break; remove the `;`';
  if (c === "'") return 'strings use double quotes: "like this"';
  if (c === '&') return 'write `and`';
  if (c === '|') return 'write `or`';
  if (c === '!') return 'write `not`, or `!=` for "not equal"';
  if (c === ':') return 'clauses need no `:`; write `limit 2M tokens per month`';
  if (c !== undefined && c.charCodeAt(0) > 127) {
    return 'outside strings and comments, only ASCII letters, digits and operators are allowed';
  }
  return undefined;
}

export function isReal(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && t.startOffset >= 0;
}

// ---------- CST access ----------

type Children = Record<string, CstElement[] | undefined>;

function tok(c: Children, key: string, i = 0): IToken | undefined {
  const t = c[key]?.[i] as IToken | undefined;
  return isReal(t) ? t : undefined;
}

function sub(c: Children, key: string, i = 0): CstNode | undefined {
  return c[key]?.[i] as CstNode | undefined;
}

function has(c: Children, key: string): boolean {
  return tok(c, key) !== undefined;
}

/** A CST node's range, from its first and last real tokens (CST nodes carry no locations). */
function nodeRange(n: CstNode, ctx: BuildContext): Range | null {
  const first = edgeToken(n, true);
  const last = edgeToken(n, false);
  if (!first || !last) return null;
  return span(ctx.tokenRange(first), ctx.tokenRange(last));
}

/**
 * The first (or last) real token under a node. Children are keyed in the order they were
 * first consumed, so the first token is found down the first keys; the last needs a scan.
 */
function edgeToken(n: CstNode, first: boolean): IToken | undefined {
  let best: IToken | undefined;
  const children = n.children;
  for (const key in children) {
    const list = children[key];
    if (!list) continue;
    for (let k = 0; k < list.length; k++) {
      const el = list[first ? k : list.length - 1 - k];
      const t =
        'image' in el
          ? isReal(el as IToken)
            ? (el as IToken)
            : undefined
          : edgeToken(el as CstNode, first);
      if (!t) continue;
      if (first) return t;
      if (!best || t.startOffset > best.startOffset) best = t;
      break; // the edge of this list is found; other elements lie further inside
    }
  }
  return best;
}

/** From a node's first token to the furthest of the given ends (cheaper than a CST scan). */
function fromTo(
  start: IToken | undefined,
  ctx: BuildContext,
  ...ends: (Range | IToken | null | undefined)[]
): Range | null {
  if (!start) return null;
  const first = ctx.tokenRange(start);
  let end = first;
  for (const e of ends) {
    if (!e) continue;
    const r = 'image' in e ? (isReal(e) ? ctx.tokenRange(e) : null) : e;
    if (r && r.end.offset > end.end.offset) end = r;
  }
  return span(first, end);
}

function span(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

// ---------- literals ----------

function name(t: IToken | undefined, ctx: BuildContext): Name | null {
  return t ? { kind: 'Name', range: ctx.tokenRange(t), text: t.image } : null;
}

export function unquote(image: string): string {
  const closed = image.length >= 2 && image.endsWith('"') && !image.endsWith('\\"');
  const body = image.slice(1, closed ? -1 : undefined);
  if (!body.includes('\\')) return body;
  return body.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

function stringLit(t: IToken | undefined, ctx: BuildContext): StringLit | null {
  if (!t) return null;
  // an unterminated string still counts as a string (its error is already reported)
  const closed = t.tokenType !== T.UnterminatedString;
  const value = closed ? unquote(t.image) : unquote(`${t.image}"`);
  return { kind: 'String', range: ctx.tokenRange(t), value };
}

const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;
const MAGNITUDE_DIGITS: Record<string, number> = { k: 3, M: 6, B: 9 };

/** "2,000" → 2000, "1.5B" → 1500000000, computed on the digits so no float error creeps in. */
export function numberValue(raw: string): number {
  if (PLAIN_NUMBER.test(raw)) return Number(raw);
  let text = raw.replaceAll(',', '');
  const shift = MAGNITUDE_DIGITS[text[text.length - 1]] ?? 0;
  if (shift > 0) text = text.slice(0, -1);
  const match = /^(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return Number.NaN;
  if (shift === 0) return Number(match[0]);
  const fraction = (match[2] ?? '').padEnd(shift, '0');
  return Number(`${match[1]}${fraction.slice(0, shift)}.${fraction.slice(shift) || '0'}`);
}

function numberExpr(t: IToken | undefined, ctx: BuildContext): NumberExpr | null {
  if (!t) return null;
  return { kind: 'Number', range: ctx.tokenRange(t), value: numberValue(t.image), raw: t.image };
}

function percentExpr(t: IToken | undefined, ctx: BuildContext): PercentExpr | null {
  if (!t) return null;
  return {
    kind: 'Percent',
    range: ctx.tokenRange(t),
    value: numberValue(t.image.slice(0, -1)),
    raw: t.image,
  };
}

function durationExpr(t: IToken | undefined, ctx: BuildContext): DurationExpr | null {
  if (!t) return null;
  const match = /^([\d.]+)(mo|[mhdwy])$/.exec(t.image);
  const unit = (match?.[2] ?? 'd') as DurationUnit;
  return {
    kind: 'Duration',
    range: ctx.tokenRange(t),
    amount: match ? Number(match[1]) : Number.NaN,
    unit,
    raw: t.image,
  };
}

function firstKeyword(c: Children, words: readonly string[]): string | null {
  for (const w of words) {
    const type = T.keywordTokens.get(w)!;
    if (has(c, type.name)) return w;
  }
  return null;
}

const PERIODS: readonly Period[] = ['day', 'week', 'month', 'quarter', 'year'];
const SUBJECTS: readonly SubjectKind[] = ['person', 'team'];
const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const PRICE_KINDS: readonly PriceKind[] = ['input', 'output', 'cache_read', 'cache_write'];

function period(n: CstNode | undefined): Period | null {
  return n ? (firstKeyword(n.children, PERIODS) as Period | null) : null;
}

function subjectKind(n: CstNode | undefined): SubjectKind | null {
  return n ? (firstKeyword(n.children, SUBJECTS) as SubjectKind | null) : null;
}

// ---------- expressions ----------
// The grammar gives a flat list: operand (operator operand | in-list)*, each operand with its
// prefix `not`/`-` tokens. Precedence is applied here by precedence climbing.

const BINARY_OPS: Record<string, BinaryOp> = {
  EqEq: '==',
  NotEq: '!=',
  LtEq: '<=',
  GtEq: '>=',
  Lt: '<',
  Gt: '>',
  Plus: '+',
  Minus: '-',
  Star: '*',
  Slash: '/',
  KwAnd: 'and',
  KwOr: 'or',
};

const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  '==': 4,
  '!=': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
};
const NOT_LEVEL = 3;
const COMPARISON = 4;
const ADDITIVE = 5;
const NEGATE_LEVEL = 7;

type OperandItem = { kind: 'operand'; prefixes: IToken[]; next: number; atom: Expr };
type Item =
  | OperandItem
  | { kind: 'op'; op: BinaryOp; token: IToken }
  | { kind: 'in'; token: IToken; negated: boolean; list: Expr[]; end: Range };

/** Flattens `expression`/`arith` children into items; null when recovery left gaps. */
function flatten(n: CstNode, tailKey: string, ctx: BuildContext): Item[] | null {
  const c = n.children;
  const first = sub(c, 'operand');
  const head = first && operandItem(first, ctx);
  if (!head) return null;
  const items: Item[] = [head];
  for (const tail of (c[tailKey] ?? []) as CstNode[]) {
    const tc = tail.children;
    const inTok = tok(tc, 'KwIn');
    if (inTok) {
      const list = sub(tc, 'list');
      if (!list) return null;
      const values: Expr[] = [];
      for (const e of (list.children.expression ?? []) as CstNode[]) {
        const value = buildExpr(e, ctx);
        if (!value) return null;
        values.push(value);
      }
      const close = tok(list.children, 'RBracket');
      const end = close ? ctx.tokenRange(close) : (values.at(-1)?.range ?? ctx.tokenRange(inTok));
      items.push({ kind: 'in', token: inTok, negated: has(tc, 'KwNot'), list: values, end });
      continue;
    }
    let opTok: IToken | undefined;
    for (const key of ['BinaryOperator', 'Plus', 'Minus', 'Star', 'Slash']) {
      opTok ??= tok(tc, key);
    }
    const operand = sub(tc, 'operand');
    const item = operand && operandItem(operand, ctx);
    if (!opTok || !item) return null;
    const op = BINARY_OPS[opTok.tokenType.name];
    if (!op) return null;
    items.push({ kind: 'op', op, token: opTok }, item);
  }
  return items;
}

function operandItem(n: CstNode, ctx: BuildContext): OperandItem | null {
  const c = n.children;
  let atom = buildAtom(c, ctx);
  if (!atom) return null;
  for (const p of (c.property ?? []) as IToken[]) {
    const property = name(isReal(p) ? p : undefined, ctx);
    if (!property) return null;
    atom = { kind: 'Member', object: atom, property, range: span(atom.range, property.range) };
  }
  const prefixes: IToken[] = [];
  for (const key of ['KwNot', 'Minus']) {
    for (const t of (c[key] ?? []) as IToken[]) {
      if (!isReal(t)) return null;
      prefixes.push(t);
    }
  }
  if (prefixes.length > 1) prefixes.sort((a, b) => a.startOffset - b.startOffset);
  return { kind: 'operand', prefixes, next: 0, atom };
}

/** Precedence climbing over the flat items. */
class Climber {
  private i = 0;
  private readonly items: Item[];
  private readonly ctx: BuildContext;

  constructor(items: Item[], ctx: BuildContext) {
    this.items = items;
    this.ctx = ctx;
  }

  parse(minPrec: number): Expr {
    let left = this.unary(minPrec);
    let comparisons = 0;
    while (this.i < this.items.length) {
      const item = this.items[this.i];
      if (item.kind === 'operand') break;
      const prec = item.kind === 'in' ? COMPARISON : PRECEDENCE[item.op];
      if (prec < minPrec) break;
      this.i++;
      if (prec === COMPARISON && comparisons++ > 0) {
        this.ctx.error(
          'Q2007',
          `comparisons cannot be chained: \`${item.token.image}\` follows another comparison`,
          this.ctx.tokenRange(item.token),
          'join the two comparisons with `and`, e.g. `a < b and b < c`',
        );
      }
      if (item.kind === 'in') {
        left = {
          kind: 'In',
          value: left,
          list: item.list,
          negated: item.negated,
          range: span(left.range, item.end),
        };
        continue;
      }
      const right = this.parse(prec + 1);
      left = { kind: 'Binary', op: item.op, left, right, range: span(left.range, right.range) };
    }
    return left;
  }

  private unary(minPrec: number): Expr {
    const item = this.items[this.i] as OperandItem;
    if (item.next < item.prefixes.length) {
      const prefix = item.prefixes[item.next++];
      const isNot = prefix.tokenType === T.Not;
      if (isNot && minPrec > NOT_LEVEL) {
        this.ctx.error(
          'Q2006',
          '`not` cannot stand here without parentheses',
          this.ctx.tokenRange(prefix),
          'write `(not …)`, or put `not` in front of the whole comparison',
        );
      }
      const operand = this.parse(isNot ? NOT_LEVEL : NEGATE_LEVEL);
      return {
        kind: 'Unary',
        op: isNot ? 'not' : '-',
        operand,
        range: span(this.ctx.tokenRange(prefix), operand.range),
      };
    }
    this.i++;
    return item.atom;
  }
}

export function buildExpr(n: CstNode | undefined, ctx: BuildContext): Expr | null {
  if (!n) return null;
  // fast path: one operand, no operators (most clauses and arguments)
  if (n.children.exprTail === undefined) {
    const only = sub(n.children, 'operand');
    if (!only || only.children.KwNot !== undefined || only.children.Minus !== undefined) {
      const items = only ? flatten(n, 'exprTail', ctx) : null;
      return items && new Climber(items, ctx).parse(0);
    }
    return operandItem(only, ctx)?.atom ?? null;
  }
  const items = flatten(n, 'exprTail', ctx);
  return items && new Climber(items, ctx).parse(0);
}

/** `between low and high` bounds: arithmetic only. */
function buildArith(n: CstNode | undefined, ctx: BuildContext): Expr | null {
  if (!n) return null;
  const items = flatten(n, 'arithTail', ctx);
  return items && new Climber(items, ctx).parse(ADDITIVE);
}

/** The value part of an operand (or of a test literal): everything but prefixes and members. */
function buildAtom(c: Children, ctx: BuildContext): Expr | null {
  if (c.NumberLit) {
    const num = numberExpr(tok(c, 'NumberLit'), ctx);
    const code = tok(c, 'CurrencyCode');
    if (!num || !code) return num;
    return {
      kind: 'Money',
      range: span(num.range, ctx.tokenRange(code)),
      amount: num.value,
      raw: num.raw,
      currency: code.image,
    };
  }
  const money = sub(c, 'numberOrMoney');
  if (money) return buildAtom(money.children, ctx);
  if (c.PercentLit) return percentExpr(tok(c, 'PercentLit'), ctx);
  if (c.DurationLit) return durationExpr(tok(c, 'DurationLit'), ctx);
  if (c.StringLiteral) {
    const s = stringLit(tok(c, 'StringLiteral'), ctx);
    return s && { kind: 'StringExpr', value: s.value, range: s.range };
  }
  const bool = tok(c, 'KwTrue') ?? tok(c, 'KwFalse');
  if (bool) return { kind: 'Bool', value: bool.image === 'true', range: ctx.tokenRange(bool) };
  const ifNode = sub(c, 'ifExpr');
  if (ifNode) {
    const ic = ifNode.children;
    const cond = buildExpr(sub(ic, 'cond'), ctx);
    const then = buildExpr(sub(ic, 'then'), ctx);
    const otherwise = buildExpr(sub(ic, 'else'), ctx);
    const start = tok(ic, 'KwIf');
    if (!cond || !then || !otherwise || !start) return null;
    return {
      kind: 'If',
      cond,
      then,
      else: otherwise,
      range: span(ctx.tokenRange(start), otherwise.range),
    };
  }
  const paren = sub(c, 'parenExpr');
  if (paren) {
    const inner = buildExpr(sub(paren.children, 'expression'), ctx);
    const open = tok(paren.children, 'LParen');
    const close = tok(paren.children, 'RParen');
    if (!inner || !open) return null;
    return {
      kind: 'Paren',
      inner,
      range: span(ctx.tokenRange(open), close ? ctx.tokenRange(close) : inner.range),
    };
  }
  const id = name(tok(c, 'name'), ctx);
  if (!id) return null;
  if (c.LParen) {
    const args: Expr[] = [];
    for (const e of (c.arg ?? []) as CstNode[]) {
      const arg = buildExpr(e, ctx);
      if (!arg) return null;
      args.push(arg);
    }
    const close = tok(c, 'RParen');
    const end = close ? ctx.tokenRange(close) : (args.at(-1)?.range ?? id.range);
    return { kind: 'Call', callee: id, args, range: span(id.range, end) };
  }
  if (c.KwWithin) {
    const window = durationExpr(tok(c, 'window'), ctx);
    if (!window) return null;
    return { kind: 'Within', fact: id, window, range: span(id.range, window.range) };
  }
  return { kind: 'Ref', name: id, range: id.range };
}

function buildLiteral(n: CstNode | undefined, ctx: BuildContext): Expr | null {
  return n ? buildAtom(n.children, ctx) : null;
}

// ---------- declarations ----------

type DeclBuilder = (n: CstNode, range: Range, ctx: BuildContext) => Declaration | null;

const declarationBuilders: Record<string, DeclBuilder> = {
  policyHeader(n, range, ctx) {
    const c = n.children;
    const policyName = stringLit(tok(c, 'name'), ctx);
    const version = stringLit(tok(c, 'version'), ctx);
    if (!policyName || !version) return null;
    return { kind: 'PolicyHeader', range, name: policyName, version };
  },
  currencyDecl(n, range, ctx) {
    const code = name(tok(n.children, 'CurrencyCode'), ctx);
    return code && { kind: 'Currency', range, code };
  },
  timezoneDecl(n, range, ctx) {
    const zone = stringLit(tok(n.children, 'StringLiteral'), ctx);
    return zone && { kind: 'Timezone', range, zone };
  },
  privacyDecl(n, range, ctx) {
    const c = n.children;
    noRepeats(c, ['KwMinGroupSize', 'KwIdentities'], 'privacy', ctx);
    const identities = has(c, 'KwMasked') ? 'masked' : has(c, 'KwNamed') ? 'named' : null;
    return {
      kind: 'Privacy',
      range,
      minGroupSize: numberExpr(tok(c, 'NumberLit'), ctx),
      identities,
    };
  },
  exceptionsDecl(n, range, ctx) {
    const c = n.children;
    noRepeats(c, ['KwMaxDuration'], 'exceptions', ctx);
    return { kind: 'Exceptions', range, maxDuration: durationExpr(tok(c, 'DurationLit'), ctx) };
  },
  classDecl(n, range, ctx) {
    const c = n.children;
    const className = name(tok(c, 'Identifier'), ctx);
    return (
      className && {
        kind: 'Class',
        range,
        name: className,
        label: stringLit(tok(c, 'StringLiteral'), ctx),
      }
    );
  },
  modelDecl(n, range, ctx) {
    const c = n.children;
    const model = stringLit(tok(c, 'StringLiteral'), ctx);
    const className = name(tok(c, 'Identifier'), ctx);
    if (!model || !className) return null;
    const prices: PriceEntry[] = [];
    const seen = new Set<PriceKind>();
    for (const entry of (c.priceEntry ?? []) as CstNode[]) {
      const priceKind = firstKeyword(entry.children, PRICE_KINDS) as PriceKind | null;
      const amount = numberExpr(tok(entry.children, 'NumberLit'), ctx);
      const entryRange =
        amount && priceKind ? fromTo(edgeToken(entry, true), ctx, amount.range) : null;
      if (!priceKind || !amount || !entryRange) continue;
      if (seen.has(priceKind)) {
        ctx.error(
          'Q2010',
          `the \`${priceKind}\` price of model "${model.value}" is given twice`,
          entryRange,
          'keep one of them',
        );
        continue;
      }
      seen.add(priceKind);
      prices.push({ kind: 'Price', range: entryRange, priceKind, amount });
    }
    return { kind: 'Model', range, model, className, prices };
  },
  metricDecl(n, range, ctx) {
    const c = n.children;
    const metricName = name(tok(c, 'Identifier'), ctx);
    const formula = buildExpr(sub(c, 'expression'), ctx);
    if (!metricName || !formula) return null;
    return {
      kind: 'Metric',
      range,
      name: metricName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      formula,
    };
  },
  leaderboardDecl(n, range, ctx) {
    const c = n.children;
    const boardName = name(tok(c, 'Identifier'), ctx);
    if (!boardName) return null;
    const board: LeaderboardDecl = {
      kind: 'Leaderboard',
      range,
      name: boardName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      subject: null,
      window: null,
      cohort: null,
      eligible: null,
      exclude: null,
      score: null,
      top: null,
    };
    const seen = new Set<string>();
    for (const clause of (c.leaderboardClause ?? []) as CstNode[]) {
      const cc = clause.children;
      const word = firstKeyword(cc, [
        'subject',
        'window',
        'cohort',
        'eligible',
        'exclude',
        'score',
        'top',
      ]);
      if (!word) continue;
      if (repeated(seen, word, clause, `leaderboard \`${boardName.text}\``, ctx)) continue;
      if (word === 'subject') {
        board.subject = subjectKind(sub(cc, 'subjectKind'));
        board.subjectRange = nodeRange(clause, ctx) ?? undefined;
      } else if (word === 'window') {
        board.window = period(sub(cc, 'period'));
        board.windowRange = nodeRange(clause, ctx) ?? undefined;
      } else if (word === 'top') board.top = numberExpr(tok(cc, 'NumberLit'), ctx);
      else
        board[word as 'cohort' | 'eligible' | 'exclude' | 'score'] = buildExpr(sub(cc, word), ctx);
    }
    return board;
  },
  tierDecl(n, range, ctx) {
    const c = n.children;
    const tierName = name(tok(c, 'Identifier'), ctx);
    if (!tierName) return null;
    const tier: TierDecl = {
      kind: 'Tier',
      range,
      name: tierName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      limit: null,
      period: null,
      models: null,
    };
    const seen = new Set<string>();
    for (const clause of (c.tierClause ?? []) as CstNode[]) {
      const cc = clause.children;
      const word = has(cc, 'KwLimit') ? 'limit' : has(cc, 'KwModels') ? 'models' : null;
      if (!word) continue;
      if (repeated(seen, word, clause, `tier \`${tierName.text}\``, ctx)) continue;
      if (word === 'limit') {
        tier.limit = numberExpr(tok(cc, 'NumberLit'), ctx);
        tier.period = period(sub(cc, 'period'));
      } else if (has(cc, 'KwAny')) {
        tier.models = 'any';
      } else {
        const names: Name[] = [];
        for (const t of (cc.Identifier ?? []) as IToken[]) {
          const className = name(isReal(t) ? t : undefined, ctx);
          if (className) names.push(className);
        }
        tier.models = names;
      }
    }
    return tier;
  },
  assignDecl(n, range, ctx) {
    const c = n.children;
    const tier = name(tok(c, 'Identifier'), ctx);
    if (!tier) return null;
    if (has(c, 'KwOtherwise')) return { kind: 'Assign', range, tier, when: null };
    const when = buildExpr(sub(c, 'expression'), ctx);
    return when && { kind: 'Assign', range, tier, when };
  },
  budgetDecl(n, range, ctx) {
    const c = n.children;
    let target: BudgetScope | null = null;
    const kinds = (c.subjectKind ?? []) as CstNode[];
    if (has(c, 'KwOrg')) target = { scope: 'org' };
    else if (has(c, 'KwEach')) {
      const subject = subjectKind(kinds[0]);
      target = subject && { scope: 'each', subject };
    } else {
      const subject = subjectKind(kinds[0]);
      const id = stringLit(tok(c, 'id'), ctx);
      target = subject && id && { scope: 'one', subject, id };
    }
    const amount = numberExpr(tok(c, 'NumberLit'), ctx);
    const code = tok(c, 'CurrencyCode');
    const per = period(sub(c, 'period'));
    if (!target || !amount || !code || !per) return null;
    return {
      kind: 'Budget',
      range,
      target,
      environment: stringLit(tok(c, 'environment'), ctx),
      amount: {
        kind: 'Money',
        range: span(amount.range, ctx.tokenRange(code)),
        amount: amount.value,
        raw: amount.raw,
        currency: code.image,
      },
      period: per,
    };
  },
  escalationDecl(n, range, ctx) {
    const c = n.children;
    const target = name(tok(c, 'KwQuota') ?? tok(c, 'KwBudget'), ctx);
    if (!target) return null;
    const steps = [];
    for (const step of (c.escalationStep ?? []) as CstNode[]) {
      const sc = step.children;
      const threshold = percentExpr(tok(sc, 'PercentLit'), ctx);
      const action = buildAction(sub(sc, 'action'), ctx);
      const stepRange = fromTo(tok(sc, 'KwAt') ?? tok(sc, 'KwForecast'), ctx, action?.range);
      if (!threshold || !action || !stepRange) continue;
      const trigger: 'at' | 'forecast' = has(sc, 'KwForecast') ? 'forecast' : 'at';
      steps.push({ kind: 'Step' as const, range: stepRange, trigger, threshold, action });
    }
    return { kind: 'Escalation', range, target, steps };
  },
  ruleDecl(n, range, ctx) {
    const c = n.children;
    const ruleName = name(tok(c, 'Identifier'), ctx);
    const when = buildExpr(sub(c, 'expression'), ctx);
    const then = buildAction(sub(c, 'action'), ctx);
    if (!ruleName || !when || !then) return null;
    const level = sub(c, 'severityLevel');
    return {
      kind: 'Rule',
      range,
      name: ruleName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      severity: level ? (firstKeyword(level.children, SEVERITIES) as Severity | null) : null,
      when,
      then,
    };
  },
  testDecl(n, range, ctx) {
    const c = n.children;
    const testName = stringLit(tok(c, 'StringLiteral'), ctx);
    if (!testName) return null;
    const test: TestDecl = {
      kind: 'Test',
      range,
      name: testName,
      now: null,
      givens: [],
      expects: [],
    };
    const nows = (c.now ?? []) as IToken[];
    if (nows.length > 1 && isReal(nows[1])) {
      ctx.error(
        'Q2010',
        `\`now\` is given twice in test "${testName.value}"`,
        ctx.tokenRange(nows[1]),
        'keep one clock',
      );
    }
    test.now = stringLit(nows[0] && isReal(nows[0]) ? nows[0] : undefined, ctx);
    for (const g of (c.given ?? []) as CstNode[]) {
      const given = buildGiven(g, ctx);
      if (given) test.givens.push(given);
    }
    for (const e of (c.expect ?? []) as CstNode[]) {
      const expect = buildExpect(e, ctx);
      if (expect) test.expects.push(expect);
    }
    return test;
  },
};

function noRepeats(c: Children, keys: readonly string[], where: string, ctx: BuildContext): void {
  for (const key of keys) {
    const list = (c[key] ?? []) as IToken[];
    if (list.length > 1 && isReal(list[1])) {
      ctx.error(
        'Q2010',
        `\`${list[1].image}\` is given twice in ${where}`,
        ctx.tokenRange(list[1]),
        'keep one of them',
      );
    }
  }
}

function repeated(
  seen: Set<string>,
  word: string,
  clause: CstNode,
  where: string,
  ctx: BuildContext,
): boolean {
  if (!seen.has(word)) {
    seen.add(word);
    return false;
  }
  const range = nodeRange(clause, ctx);
  if (range)
    ctx.error('Q2010', `\`${word}\` is given twice in ${where}`, range, 'keep one of them');
  return true;
}

function buildAction(n: CstNode | undefined, ctx: BuildContext): Action | null {
  if (!n) return null;
  const c = n.children;
  const audienceTokens = (c.Identifier ?? []) as IToken[];
  const range = fromTo(
    tok(c, 'KwNotify') ?? tok(c, 'KwRequire') ?? tok(c, 'KwBlock'),
    ctx,
    audienceTokens[audienceTokens.length - 1],
    tok(c, 'StringLiteral'),
    tok(c, 'KwJustification'),
    tok(c, 'approver'),
  );
  if (!range) return null;
  if (has(c, 'KwNotify')) {
    const audiences: Name[] = [];
    for (const t of (c.Identifier ?? []) as IToken[]) {
      const audience = name(isReal(t) ? t : undefined, ctx);
      if (audience) audiences.push(audience);
    }
    if (audiences.length === 0) return null;
    return { kind: 'Notify', range, audiences, message: stringLit(tok(c, 'StringLiteral'), ctx) };
  }
  if (has(c, 'KwJustification')) return { kind: 'RequireJustification', range };
  if (has(c, 'KwApproval')) {
    const approver = name(tok(c, 'approver'), ctx);
    return approver && { kind: 'RequireApproval', range, approver };
  }
  if (has(c, 'KwBlock')) return { kind: 'Block', range };
  return null;
}

function buildGiven(n: CstNode, ctx: BuildContext): Given | null {
  const c = n.children;
  const subject = subjectKind(sub(c, 'subjectKind'));
  const id = stringLit(tok(c, 'StringLiteral'), ctx);
  if (!subject || !id) return null;
  const attributes: GivenAttribute[] = [];
  for (const a of (c.givenAttribute ?? []) as CstNode[]) {
    const parts = ((a.children.Identifier ?? []) as IToken[]).filter(isReal);
    if (parts.length === 0) continue;
    const nameRange = span(ctx.tokenRange(parts[0]), ctx.tokenRange(parts[parts.length - 1]));
    const value = buildLiteral(sub(a.children, 'literal'), ctx);
    const aRange = value ? span(nameRange, value.range) : nameRange;
    attributes.push({
      kind: 'GivenAttribute',
      range: aRange,
      name: { kind: 'Name', range: nameRange, text: parts.map((p) => p.image).join('.') },
      value,
    });
  }
  const facts: FactValue[] = [];
  for (const f of (c.factValue ?? []) as CstNode[]) {
    const fc = f.children;
    const fact = name(tok(fc, 'Identifier'), ctx);
    const value = buildLiteral(sub(fc, 'literal'), ctx);
    if (!fact || !value) continue;
    facts.push({
      kind: 'FactValue',
      range: span(fact.range, value.range),
      fact,
      window: durationExpr(tok(fc, 'DurationLit'), ctx),
      value,
    });
  }
  const range = fromTo(
    tok(c, 'KwGiven'),
    ctx,
    id.range,
    attributes[attributes.length - 1]?.range,
    facts[facts.length - 1]?.range,
    tok(c, 'RCurly'),
  );
  if (!range) return null;
  return { kind: 'Given', range, subject, id, attributes, facts };
}

function buildExpect(n: CstNode, ctx: BuildContext): Expect | null {
  const c = n.children;
  const target = name(
    tok(c, 'Identifier') ?? (has(c, 'KwFires') ? tok(c, 'KwBudget') : undefined),
    ctx,
  );
  if (!target) return null;
  const start = tok(c, 'KwExpect');
  // the expectation's own range starts after `expect person "x"`
  const subjectTok = tok(c, 'subject');
  const firstWord =
    tok(c, 'KwNot') ??
    tok(c, 'KwTier') ??
    tok(c, 'KwScore') ??
    tok(c, 'KwMetric') ??
    tok(c, 'KwBand') ??
    tok(c, 'KwRank') ??
    tok(c, 'KwEligible') ??
    tok(c, 'KwFires') ??
    start;
  const low = sub(c, 'low') ? buildArith(sub(c, 'low'), ctx) : null;
  const high = sub(c, 'high') ? buildArith(sub(c, 'high'), ctx) : null;
  const rankTok = tok(c, 'NumberLit');
  const stepTok = tok(c, 'PercentLit');
  const range = fromTo(start, ctx, target.range, high?.range, rankTok, stepTok);
  const eRange = fromTo(firstWord, ctx, target.range, high?.range, rankTok, stepTok);
  if (!range || !eRange) return null;
  let expectation: Expectation | null = null;
  if (has(c, 'KwTier')) {
    expectation = { kind: 'ExpectTier', range: eRange, tier: target };
  } else if (has(c, 'KwScore') || has(c, 'KwMetric')) {
    if (!low || !high) return null;
    expectation = {
      kind: 'ExpectValue',
      range: eRange,
      target: has(c, 'KwScore') ? 'score' : 'metric',
      name: target,
      low,
      high,
    };
  } else if (has(c, 'KwBand')) {
    expectation = {
      kind: 'ExpectBand',
      range: eRange,
      target: has(c, 'KwBudget') ? 'budget' : 'quota',
      band: target,
    };
  } else if (has(c, 'KwRank')) {
    const rank = numberExpr(rankTok, ctx);
    if (!rank) return null;
    expectation = { kind: 'ExpectRank', range: eRange, board: target, rank };
  } else if (has(c, 'KwEligible')) {
    expectation = {
      kind: 'ExpectEligible',
      range: eRange,
      board: target,
      negated: has(c, 'KwNot'),
    };
  } else if (has(c, 'KwFires')) {
    expectation = {
      kind: 'ExpectFires',
      range: eRange,
      target,
      step: percentExpr(stepTok, ctx),
      negated: has(c, 'KwNot'),
    };
  }
  if (!expectation) return null;
  const subject = stringLit(subjectTok, ctx);
  const subjectKindNode = sub(c, 'subjectKind');
  const kind = subject && subjectKindNode ? subjectKind(subjectKindNode) : null;
  return kind
    ? { kind: 'Expect', range, subject, subjectKind: kind, expectation }
    : { kind: 'Expect', range, subject, expectation };
}

function buildDeclaration(
  d: CstNode,
  ctx: BuildContext,
  first?: IToken,
  last?: IToken,
): Declaration | null {
  for (const rule in d.children) {
    const node = d.children[rule]?.[0] as CstNode | undefined;
    const builder = declarationBuilders[rule];
    if (!node || !builder) continue;
    const range =
      isReal(first) && isReal(last) && last.startOffset >= first.startOffset
        ? span(ctx.tokenRange(first), ctx.tokenRange(last))
        : nodeRange(node, ctx);
    return range ? builder(node, range, ctx) : null;
  }
  return null;
}

function buildFile(cst: CstNode | undefined, comments: Comment[], ctx: BuildContext): PolicyFile {
  const declarations: Declaration[] = [];
  for (const d of (cst?.children.declaration ?? []) as CstNode[]) {
    const decl = buildDeclaration(d, ctx);
    if (decl) declarations.push(decl);
  }
  return {
    kind: 'PolicyFile',
    range: ctx.rangeAt(0, ctx.text.length),
    declarations,
    comments,
  };
}
