// Text → AST and diagnostics. Lexes and parses with the grammar's single parser instance,
// then builds the AST from the CST. Never throws: every problem becomes a diagnostic, and
// declarations damaged beyond use are left out of the AST (their errors are reported).
import type { CstNode, ILexingError, IRecognitionException, IToken } from 'chevrotain';
import { policyParser } from '../../grammar/parser.ts';
import * as T from '../../grammar/tokens.ts';
import type { Declaration, PolicyFile } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { codes, hasErrors } from './diagnostics.ts';
import { BuildContext } from './parse-context.ts';
import { buildDeclaration, buildFile } from './parse-decl.ts';
import { syntaxDiagnostic } from './parse-errors.ts';
import { type Recovery, recoveryOf } from './recovery.ts';

export { BuildContext, isReal, numberValue, unquote } from './parse-context.ts';
export { buildExpr } from './parse-expr.ts';

export type ParseResult = {
  ast: PolicyFile;
  diagnostics: Diagnostic[];
  /** with syntax errors: what the text holds beyond the declarations that were built */
  recovery?: Recovery;
};

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
        codes.nestingTooDeep,
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
    const diagnostics = finish(ctx.diagnostics, file);
    return hasErrors(diagnostics)
      ? { ast, diagnostics, recovery: recoveryOf(tokens, source) }
      : { ast, diagnostics };
  } catch (error) {
    // A bug in the front end must not crash `check` or `fmt`: report it at the file start.
    const overflow = error instanceof RangeError;
    const diagnostics = ctx.diagnostics.filter((d) => d.code.startsWith('Q1'));
    diagnostics.push({
      severity: 'error',
      code: overflow ? codes.nestingTooDeep : codes.internalParserError,
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
