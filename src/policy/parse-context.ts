// Shared by the CST→AST builders: positions and ranges, diagnostics, CST access and
// literal values. Recovered CSTs can miss any piece, so every accessor may return nothing.
import type { CstElement, CstNode, ILexingError, IToken } from 'chevrotain';
import * as T from '../../grammar/tokens.ts';
import type {
  DurationExpr,
  DurationUnit,
  Name,
  NumberExpr,
  PercentExpr,
  Period,
  Position,
  PriceKind,
  Range,
  Severity,
  StringLit,
  SubjectKind,
} from './ast.ts';
import type { Diagnostic, DiagnosticCode } from './diagnostics.ts';
import { codes } from './diagnostics.ts';

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
  error(code: DiagnosticCode, message: string, range: Range, hint?: string): void {
    this.buildDiagnostics.push(diagnostic(code, message, range, hint));
  }

  /** A lexical problem: found once, kept whatever the parser does next. */
  lexicalError(code: DiagnosticCode, message: string, range: Range, hint?: string): void {
    this.diagnostics.push(diagnostic(code, message, range, hint));
  }

  lexError(e: ILexingError): void {
    const snippet = this.text.slice(e.offset, e.offset + Math.min(e.length, 20));
    const shown = snippet.replace(/[\r\n\t]/g, ' ');
    this.lexicalError(
      codes.unexpectedCharacter,
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
          codes.unclosedString,
          'this string has no closing `"`',
          this.tokenRange(t),
          'close the string on the same line',
        );
      } else if (t.tokenType === T.BadNumber) {
        this.lexicalError(
          codes.malformedNumber,
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

export function diagnostic(
  code: DiagnosticCode,
  message: string,
  range: Range,
  hint?: string,
): Diagnostic {
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

export type Children = Record<string, CstElement[] | undefined>;

export function tok(c: Children, key: string, i = 0): IToken | undefined {
  const t = c[key]?.[i] as IToken | undefined;
  return isReal(t) ? t : undefined;
}

export function sub(c: Children, key: string, i = 0): CstNode | undefined {
  return c[key]?.[i] as CstNode | undefined;
}

export function has(c: Children, key: string): boolean {
  return tok(c, key) !== undefined;
}

/** A CST node's range, from its first and last real tokens (CST nodes carry no locations). */
export function nodeRange(n: CstNode, ctx: BuildContext): Range | null {
  const first = edgeToken(n, true);
  const last = edgeToken(n, false);
  if (!first || !last) return null;
  return span(ctx.tokenRange(first), ctx.tokenRange(last));
}

/**
 * The first (or last) real token under a node. Children are keyed in the order they were
 * first consumed, so the first token is found down the first keys; the last needs a scan.
 */
export function edgeToken(n: CstNode, first: boolean): IToken | undefined {
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
export function fromTo(
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

export function span(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

// ---------- literals ----------

export function name(t: IToken | undefined, ctx: BuildContext): Name | null {
  return t ? { kind: 'Name', range: ctx.tokenRange(t), text: t.image } : null;
}

export function unquote(image: string): string {
  const closed = image.length >= 2 && image.endsWith('"') && !image.endsWith('\\"');
  const body = image.slice(1, closed ? -1 : undefined);
  if (!body.includes('\\')) return body;
  return body.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

export function stringLit(t: IToken | undefined, ctx: BuildContext): StringLit | null {
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

export function numberExpr(t: IToken | undefined, ctx: BuildContext): NumberExpr | null {
  if (!t) return null;
  return { kind: 'Number', range: ctx.tokenRange(t), value: numberValue(t.image), raw: t.image };
}

export function percentExpr(t: IToken | undefined, ctx: BuildContext): PercentExpr | null {
  if (!t) return null;
  return {
    kind: 'Percent',
    range: ctx.tokenRange(t),
    value: numberValue(t.image.slice(0, -1)),
    raw: t.image,
  };
}

export function durationExpr(t: IToken | undefined, ctx: BuildContext): DurationExpr | null {
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

export function firstKeyword(c: Children, words: readonly string[]): string | null {
  for (const w of words) {
    const type = T.keywordTokens.get(w)!;
    if (has(c, type.name)) return w;
  }
  return null;
}

export const PERIODS: readonly Period[] = ['day', 'week', 'month', 'quarter', 'year'];
export const SUBJECTS: readonly SubjectKind[] = ['person', 'team'];
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
export const PRICE_KINDS: readonly PriceKind[] = [
  'input',
  'output',
  'cache_read',
  'cache_write_1h',
  'cache_write',
  'audio_input',
  'audio_output',
];

export function period(n: CstNode | undefined): Period | null {
  return n ? (firstKeyword(n.children, PERIODS) as Period | null) : null;
}

export function subjectKind(n: CstNode | undefined): SubjectKind | null {
  return n ? (firstKeyword(n.children, SUBJECTS) as SubjectKind | null) : null;
}
