// CST→AST for expressions. The grammar gives a flat operand/operator list (see
// grammar/parser.ts); precedence is applied here by precedence climbing.
import type { CstNode, IToken } from 'chevrotain';
import * as T from '../../grammar/tokens.ts';
import type { BinaryOp, Expr, Range } from './ast.ts';
import { codes } from './diagnostics.ts';
import {
  type BuildContext,
  type Children,
  durationExpr,
  has,
  isReal,
  name,
  numberExpr,
  percentExpr,
  span,
  stringLit,
  sub,
  tok,
} from './parse-context.ts';
import { ADDITIVE, COMPARISON, NEGATE_LEVEL, NOT_LEVEL, PRECEDENCE } from './precedence.ts';

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
          codes.chainedComparison,
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
          codes.notNeedsParentheses,
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
export function buildArith(n: CstNode | undefined, ctx: BuildContext): Expr | null {
  if (!n) return null;
  const items = flatten(n, 'arithTail', ctx);
  return items && new Climber(items, ctx).parse(ADDITIVE);
}

/** The value part of an operand (or of a test literal): everything but prefixes and members. */
export function buildAtom(c: Children, ctx: BuildContext): Expr | null {
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

export function buildLiteral(n: CstNode | undefined, ctx: BuildContext): Expr | null {
  return n ? buildAtom(n.children, ctx) : null;
}
