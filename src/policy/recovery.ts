// Checking a policy that has syntax errors. The parser recovers and builds every
// declaration it can, so the checker still runs and a writer sees every problem in one
// round. What the checker says about text the parser could not read is left out: a
// declaration holding a syntax error, and references to names whose declaration was lost
// (they are in the text, so "unknown tier" would be a follow-on, not a finding).
import type { IToken } from 'chevrotain';
import * as T from '../../grammar/tokens.ts';
import type { PolicyFile } from './ast.ts';
import { codes, type Diagnostic, type DiagnosticCode } from './diagnostics.ts';

/** What the parser saw in the text, beyond the declarations it could build. */
export type Recovery = {
  text: string;
  /** names that follow a declaring keyword (`tier power`, `metric acceptance` …) */
  declaredNames: ReadonlySet<string>;
  /** every keyword the text uses */
  keywords: ReadonlySet<string>;
};

const DECLARING = new Set(['class', 'tier', 'leaderboard', 'metric', 'rule', 'model']);

export function recoveryOf(tokens: readonly IToken[], text: string): Recovery {
  const declaredNames = new Set<string>();
  const keywords = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i].image;
    if (T.keywordTokens.get(word) !== tokens[i].tokenType) continue;
    keywords.add(word);
    const next = tokens[i + 1];
    if (DECLARING.has(word) && next) declaredNames.add(next.image.replace(/^"|"$/g, ''));
  }
  return { text, declaredNames, keywords };
}

/** Diagnostics about a name that a lost declaration may have declared. */
const UNKNOWN_REFERENCE: ReadonlySet<DiagnosticCode> = new Set([
  codes.unknownName,
  codes.unknownClass,
  codes.unknownTier,
  codes.unknownLeaderboard,
  codes.unknownMetric,
  codes.badExpectation,
]);

type Span = { start: number; end: number };

/**
 * The stretches of text a syntax error spoils: the declaration it falls in, or the gap
 * between declarations it falls in, up to the next declaration the parser built.
 */
function spoiledSpans(ast: PolicyFile, syntax: readonly Diagnostic[]): Span[] {
  const declarations = ast.declarations
    .map((d) => ({ start: d.range.start.offset, end: d.range.end.offset }))
    .sort((a, b) => a.start - b.start);
  const spans: Span[] = [];
  for (const d of syntax) {
    if (d.severity !== 'error') continue;
    const at = d.range.start.offset;
    let start = 0;
    let end = Number.POSITIVE_INFINITY;
    for (let i = 0; i < declarations.length; i++) {
      const decl = declarations[i];
      if (decl.start > at) {
        end = decl.start;
        break;
      }
      if (at < decl.end) {
        if (at === decl.start && d.code === codes.unknownDeclaration) {
          // a misspelled keyword, read as the keyword it resembles: nothing is spoiled
          start = end = at;
        } else if (at === decl.start) {
          // an error at a declaration's first token (`expected }, found tier`) faults what
          // came before it; the parser resynchronised here, so this declaration is sound
          start = i > 0 ? declarations[i - 1].start : 0;
          end = decl.start;
        } else {
          start = decl.start;
          end = decl.end;
        }
        break;
      }
      start = decl.end;
    }
    spans.push({ start, end });
  }
  return spans;
}

/** The checker's findings on a partly parsed file, without those the syntax errors cause. */
export function withoutFollowOns(
  checked: readonly Diagnostic[],
  syntax: readonly Diagnostic[],
  ast: PolicyFile,
  recovery?: Recovery,
): Diagnostic[] {
  const spans = spoiledSpans(ast, syntax);
  return checked.filter((d) => {
    const at = d.range.start.offset;
    if (spans.some((s) => s.start <= at && at < s.end)) return false;
    if (UNKNOWN_REFERENCE.has(d.code)) {
      // without the text, any name may have been declared in what could not be read
      if (!recovery) return false;
      const name = recovery.text.slice(d.range.start.offset, d.range.end.offset);
      if (recovery.declaredNames.has(name.replace(/^"|"$/g, ''))) return false;
    }
    if (d.code === codes.noFallbackTier && (!recovery || recovery.keywords.has('otherwise')))
      return false;
    if (d.code === codes.headerProblem && d.severity === 'warning') {
      if (!recovery || recovery.keywords.has('policy')) return false;
    }
    return true;
  });
}
