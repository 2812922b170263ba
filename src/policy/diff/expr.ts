// Smallest differing sub-expressions of two formulas. Both trees are walked together;
// where a node keeps its shape (same operator, same function, same arity) only the
// children that differ are descended into, so `a * b / c` → `a * d / c` reports `b` → `d`
// rather than the whole formula. A node whose operands all differ is reported whole. Equality is by meaning (the lowered IR), so parentheses,
// `2,000` versus `2k` and `1w` versus `7d` never count as differences.
import type { Expr } from '../ast.ts';
import { lowerExpr } from '../compile/lower.ts';
import { formatExpr } from '../format.ts';
import { canonicalJson, type SubjectKind } from '../ir.ts';

/** How a formula side is read: which names are metrics, and whose attributes `team.x` means. */
export type ExprScope = {
  metrics: ReadonlySet<string>;
  subject: SubjectKind;
  /** declared measure → the fact name it is read under */
  measures?: ReadonlyMap<string, string>;
};

export type SubExprChange = { before: string; after: string };

function unparen(e: Expr): Expr {
  let cur = e;
  while (cur.kind === 'Paren') cur = cur.inner;
  return cur;
}

/** The meaning of an expression under a scope, as canonical text. */
export function exprMeaning(e: Expr, scope: ExprScope): string {
  return canonicalJson(lowerExpr(e, scope));
}

/** Child pairs when both nodes have the same shape, or null when the shapes differ. */
function childPairs(a: Expr, b: Expr): [Expr, Expr][] | null {
  switch (a.kind) {
    case 'Binary':
      return b.kind === 'Binary' && b.op === a.op
        ? [
            [a.left, b.left],
            [a.right, b.right],
          ]
        : null;
    case 'Unary':
      return b.kind === 'Unary' && b.op === a.op ? [[a.operand, b.operand]] : null;
    case 'Call':
      return b.kind === 'Call' && b.callee.text === a.callee.text && b.args.length === a.args.length
        ? a.args.map((arg, i) => [arg, b.args[i]])
        : null;
    case 'In':
      return b.kind === 'In' && b.negated === a.negated && b.list.length === a.list.length
        ? [[a.value, b.value], ...a.list.map((x, i): [Expr, Expr] => [x, b.list[i]])]
        : null;
    case 'If':
      return b.kind === 'If'
        ? [
            [a.cond, b.cond],
            [a.then, b.then],
            [a.else, b.else],
          ]
        : null;
    default:
      return null;
  }
}

/**
 * The smallest differing subtrees, in canonical syntax, left to right. Empty when the two
 * expressions mean the same thing.
 */
export function diffExpr(
  before: Expr,
  after: Expr,
  scopeBefore: ExprScope,
  scopeAfter: ExprScope,
): SubExprChange[] {
  const out: SubExprChange[] = [];
  const walk = (x: Expr, y: Expr) => {
    const a = unparen(x);
    const b = unparen(y);
    if (exprMeaning(a, scopeBefore) === exprMeaning(b, scopeAfter)) return;
    const pairs = childPairs(a, b);
    const start = out.length;
    // descend only when something is kept: if every operand differs (`a + b` → `(a + b) + c`),
    // the node itself is the smallest change a reader recognises
    const differing = pairs?.filter(
      ([ca, cb]) => exprMeaning(ca, scopeBefore) !== exprMeaning(cb, scopeAfter),
    );
    if (pairs && differing && (pairs.length === 1 || differing.length < pairs.length)) {
      for (const [ca, cb] of differing) walk(ca, cb);
    }
    // same shape but no child differs (cannot happen for shapes above): report the node
    if (out.length === start) out.push({ before: formatExpr(a), after: formatExpr(b) });
  };
  walk(before, after);
  return out;
}
