// Name resolution, types/units and value ranges of one expression. The caller supplies
// what the expression may see (subject kind, metrics) and collects diagnostics.
import type { Expr, Name, Range } from '../ast.ts';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.ts';
import { codes } from '../diagnostics.ts';
import { suggest } from '../suggest.ts';
import { durationMinutes } from '../windows.ts';
import {
  ALL,
  ANY,
  addI,
  BOOL,
  comparable,
  containsZero,
  DIMENSIONLESS,
  type Dims,
  divI,
  ERR,
  type Interval,
  mulDims,
  mulI,
  NON_NEGATIVE,
  NUM_UNTYPED,
  STR,
  subI,
  type Ty,
  unify,
  unionI,
  unitOf,
  unitText,
} from './units.ts';
import {
  type AttrType,
  FACTS,
  FUNCTIONS,
  PERSON_ATTRIBUTES,
  TEAM_ATTRIBUTES,
} from './vocabulary.ts';

export type Typed = { ty: Ty; range: Interval };

export type ExprScope = {
  /** whose attributes bare names may refer to */
  subject: 'person' | 'team';
  currency: string;
  /** type and range of a metric, or undefined when no such metric */
  metric(name: string): Typed | undefined;
  metricNames: readonly string[];
  /** type of a declared measure, or undefined when no such measure */
  measure(name: string): Typed | undefined;
  measureNames: readonly string[];
  report(d: Diagnostic): void;
};

const BOOL_T: Typed = { ty: BOOL, range: ALL };
const STR_T: Typed = { ty: STR, range: ALL };
const ERR_T: Typed = { ty: ERR, range: ALL };

function attrTyped(t: AttrType): Typed {
  return t === 'bool' ? BOOL_T : STR_T;
}

function attributesOf(subject: 'person' | 'team'): Record<string, AttrType> {
  return subject === 'person' ? PERSON_ATTRIBUTES : TEAM_ATTRIBUTES;
}

function error(code: DiagnosticCode, message: string, range: Range, hint?: string): Diagnostic {
  return hint
    ? { severity: 'error', code, message, range, hint }
    : { severity: 'error', code, message, range };
}

/** Short source-like text of an expression, for messages and hints. */
export function exprText(e: Expr): string {
  switch (e.kind) {
    case 'Number':
    case 'Money':
    case 'Percent':
    case 'Duration':
      return e.kind === 'Money'
        ? `${e.raw} ${e.currency}`.replace(`${e.currency} ${e.currency}`, e.currency)
        : e.raw;
    case 'StringExpr':
      return JSON.stringify(e.value);
    case 'Bool':
      return String(e.value);
    case 'Ref':
      return e.name.text;
    case 'Member':
      return `${exprText(e.object)}.${e.property.text}`;
    case 'Within':
      return `${e.fact.text} within ${e.window.raw}`;
    case 'Call':
      return `${e.callee.text}(${e.args.map(exprText).join(', ')})`;
    case 'Unary':
      return e.op === 'not' ? `not ${exprText(e.operand)}` : `-${exprText(e.operand)}`;
    case 'Binary':
      return `${exprText(e.left)} ${e.op} ${exprText(e.right)}`;
    case 'In':
      return `${exprText(e.value)} ${e.negated ? 'not in' : 'in'} [${e.list.map(exprText).join(', ')}]`;
    case 'If':
      return `if ${exprText(e.cond)} then ${exprText(e.then)} else ${exprText(e.else)}`;
    case 'Paren':
      return `(${exprText(e.inner)})`;
  }
}

function unknownName(
  name: Name,
  what: string,
  candidates: readonly string[],
  scope: ExprScope,
): void {
  const guess = suggest(name.text, candidates);
  scope.report(
    error(
      codes.unknownName,
      `unknown ${what} \`${name.text}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
      name.range,
      guess
        ? `replace with \`${guess}\``
        : `declare it with \`metric ${name.text} = ...\` or use a fact`,
    ),
  );
}

export function inferExpr(e: Expr, scope: ExprScope): Typed {
  switch (e.kind) {
    case 'Number':
      return { ty: NUM_UNTYPED, range: { lo: e.value, hi: e.value } };
    case 'Percent': {
      const v = e.value / 100;
      return { ty: DIMENSIONLESS, range: { lo: v, hi: v } };
    }
    case 'Money':
      if (e.currency !== scope.currency) {
        scope.report(
          error(
            codes.wrongCurrency,
            `amount in ${e.currency}, but the policy currency is ${scope.currency}`,
            e.range,
            `write the amount in ${scope.currency}`,
          ),
        );
      }
      return { ty: unitOf('money'), range: { lo: e.amount, hi: e.amount } };
    case 'Duration': {
      const minutes = durationMinutes(e.amount, e.unit);
      return { ty: unitOf('duration'), range: { lo: minutes, hi: minutes } };
    }
    case 'StringExpr':
      return STR_T;
    case 'Bool':
      return BOOL_T;
    case 'Paren':
      return inferExpr(e.inner, scope);
    case 'Ref':
      return inferRef(e.name, scope);
    case 'Within': {
      const measure = scope.measure(e.fact.text);
      if (measure) return measure;
      const unit = FACTS[e.fact.text];
      if (!unit) {
        const guess = suggest(e.fact.text, [...Object.keys(FACTS), ...scope.measureNames]);
        scope.report(
          error(
            codes.unknownFact,
            `\`within\` needs a fact, and \`${e.fact.text}\` is not one${guess ? `; did you mean \`${guess}\`?` : ''}`,
            e.fact.range,
          ),
        );
        return ERR_T;
      }
      return { ty: unitOf(unit), range: NON_NEGATIVE };
    }
    case 'Member':
      return inferMember(e, scope);
    case 'Call':
      return inferCall(e, scope);
    case 'Unary': {
      const a = inferExpr(e.operand, scope);
      if (e.op === 'not') {
        expectBool(a, e.operand, scope, '`not`');
        return BOOL_T;
      }
      if (a.ty.t !== 'num') {
        if (a.ty.t !== 'err') typeError(e.operand, a, 'a number after `-`', scope);
        return ERR_T;
      }
      return { ty: a.ty, range: { lo: -a.range.hi, hi: -a.range.lo } };
    }
    case 'Binary':
      return inferBinary(e, scope);
    case 'In': {
      const v = inferExpr(e.value, scope);
      for (const item of e.list) {
        const t = inferExpr(item, scope);
        if (!comparable(v.ty, t.ty)) {
          scope.report(
            error(
              codes.mixedList,
              `list item \`${exprText(item)}\` is ${unitText(t.ty)}, but \`${exprText(e.value)}\` is ${unitText(v.ty)}`,
              item.range,
            ),
          );
        }
      }
      return BOOL_T;
    }
    case 'If': {
      const c = inferExpr(e.cond, scope);
      expectBool(c, e.cond, scope, '`if`');
      const t = inferExpr(e.then, scope);
      const f = inferExpr(e.else, scope);
      const range = unionI(t.range, f.range);
      if (t.ty.t === 'num' && f.ty.t === 'num') {
        const u = unify(t.ty, f.ty);
        if (!u) {
          scope.report(
            error(
              codes.mixedBranches,
              `the branches of \`if\` differ in unit: ${unitText(t.ty)} and ${unitText(f.ty)}`,
              e.range,
            ),
          );
          return { ty: ERR, range };
        }
        return { ty: u, range };
      }
      if (t.ty.t === 'err' || f.ty.t === 'err') return { ty: ERR, range };
      if (!comparable(t.ty, f.ty)) {
        scope.report(
          error(codes.mixedBranches, 'the branches of `if` have different types', e.range),
        );
        return ERR_T;
      }
      return { ty: t.ty.t === 'any' ? f.ty : t.ty, range };
    }
  }
}

function inferRef(name: Name, scope: ExprScope): Typed {
  const metric = scope.metric(name.text);
  if (metric) return metric;
  const measure = scope.measure(name.text);
  if (measure) return measure;
  const fact = FACTS[name.text];
  if (fact) return { ty: unitOf(fact), range: NON_NEGATIVE };
  const attrs = attributesOf(scope.subject);
  const attr = attrs[name.text];
  if (attr) return attrTyped(attr);
  if (name.text === 'person' || name.text === 'attributes') return { ty: ANY, range: ALL };
  unknownName(
    name,
    'name',
    [...scope.metricNames, ...scope.measureNames, ...Object.keys(FACTS), ...Object.keys(attrs)],
    scope,
  );
  return ERR_T;
}

function inferMember(e: Extract<Expr, { kind: 'Member' }>, scope: ExprScope): Typed {
  const path: string[] = [];
  let cur: Expr = e;
  while (cur.kind === 'Member') {
    path.unshift(cur.property.text);
    cur = cur.object;
  }
  if (cur.kind !== 'Ref') {
    scope.report(
      error(
        codes.unknownAttribute,
        'attribute access works on `person`, `team` and `attributes`',
        e.range,
      ),
    );
    return ERR_T;
  }
  const root = cur.name.text;
  // person.attributes.x, team.attributes.x, attributes.x: free-form directory attributes
  const rest = root === 'attributes' ? path : path[0] === 'attributes' ? path.slice(1) : null;
  if (rest && (root === 'attributes' || root === 'person' || root === 'team')) {
    if (rest.length === 1) return { ty: ANY, range: ALL };
    scope.report(error(codes.unknownAttribute, `\`${exprText(e)}\` is not an attribute`, e.range));
    return ERR_T;
  }
  if ((root === 'team' || root === 'person') && path.length === 1) {
    const attrs = root === 'team' ? TEAM_ATTRIBUTES : PERSON_ATTRIBUTES;
    if (root === 'person' && scope.subject === 'team') {
      scope.report(error(codes.unknownAttribute, 'a team leaderboard has no `person`', cur.range));
      return ERR_T;
    }
    const attr = attrs[path[0]];
    if (attr) return attrTyped(attr);
    const prop = e.property;
    const guess = suggest(prop.text, Object.keys(attrs));
    scope.report(
      error(
        codes.unknownAttribute,
        `unknown ${root} attribute \`${prop.text}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
        prop.range,
        `${root} attributes: ${Object.keys(attrs).join(', ')}, attributes.<name>`,
      ),
    );
    return ERR_T;
  }
  const guess = suggest(root, ['person', 'team', 'attributes']);
  scope.report(
    error(
      codes.unknownAttribute,
      `\`${root}\` has no attributes${guess ? `; did you mean \`${guess}\`?` : ''}`,
      cur.range,
      'attribute access works on `person`, `team` and `attributes`',
    ),
  );
  return ERR_T;
}

function inferCall(e: Extract<Expr, { kind: 'Call' }>, scope: ExprScope): Typed {
  const args = e.args.map((a) => inferExpr(a, scope));
  const fn = FUNCTIONS[e.callee.text];
  if (!fn) {
    const guess = suggest(e.callee.text, Object.keys(FUNCTIONS));
    scope.report(
      error(
        codes.unknownFunction,
        `unknown function \`${e.callee.text}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
        e.callee.range,
        `functions: ${Object.keys(FUNCTIONS).join(', ')}`,
      ),
    );
    return ERR_T;
  }
  if (args.length < fn.min || args.length > fn.max) {
    const want = fn.min === fn.max ? `${fn.min}` : `at least ${fn.min}`;
    scope.report(
      error(
        codes.badArguments,
        `\`${e.callee.text}\` takes ${want} argument(s), got ${args.length}`,
        e.range,
      ),
    );
    return ERR_T;
  }
  for (let i = 0; i < args.length; i++) {
    if (args[i].ty.t !== 'num' && args[i].ty.t !== 'err') {
      typeError(e.args[i], args[i], `a number as argument of \`${e.callee.text}\``, scope);
      return ERR_T;
    }
  }
  // an argument already in error has no known unit or range: the call has none either, so
  // no follow-on unit error or hazard warning is reported about it
  if (args.some((arg) => arg.ty.t === 'err')) return ERR_T;
  const name = e.callee.text;
  if (fn.unit === 'dimensionless') {
    const r = args[0].range;
    if (name !== 'sqrt' && r.lo <= 0) {
      scope.report({
        severity: 'warning',
        code: codes.logOfNonPositive,
        message: `\`${exprText(e.args[0])}\` can be zero or negative, where \`${name}\` is undefined (evaluates to 0)`,
        range: e.args[0].range,
        hint: `use \`${name}(1 + ${exprText(e.args[0])})\` or \`${name}(max(${exprText(e.args[0])}, 1))\``,
      });
    }
    const f = name === 'log10' ? Math.log10 : name === 'ln' ? Math.log : Math.sqrt;
    const lo = r.lo > 0 ? f(r.lo) : -Infinity;
    const hi = r.hi > 0 ? f(r.hi) : 0;
    return { ty: DIMENSIONLESS, range: { lo: name === 'sqrt' ? Math.max(0, lo) : lo, hi } };
  }
  let ty: Ty = args[0].ty;
  for (let i = 1; i < args.length; i++) {
    const u = unify(ty, args[i].ty);
    if (!u) {
      scope.report(
        error(
          codes.badArguments,
          `the arguments of \`${name}\` differ in unit: ${unitText(ty)} and ${unitText(args[i].ty)}`,
          e.args[i].range,
        ),
      );
      return ERR_T;
    }
    ty = u;
  }
  const ranges = args.map((a) => a.range);
  let range: Interval;
  switch (name) {
    case 'max':
      range = {
        lo: Math.max(...ranges.map((r) => r.lo)),
        hi: Math.max(...ranges.map((r) => r.hi)),
      };
      break;
    case 'min':
      range = {
        lo: Math.min(...ranges.map((r) => r.lo)),
        hi: Math.min(...ranges.map((r) => r.hi)),
      };
      break;
    case 'clamp':
      range = {
        lo: Math.min(Math.max(ranges[0].lo, ranges[1].lo), ranges[2].hi),
        hi: Math.max(Math.min(ranges[0].hi, ranges[2].hi), ranges[1].lo),
      };
      break;
    case 'abs':
      range = containsZero(ranges[0])
        ? { lo: 0, hi: Math.max(-ranges[0].lo, ranges[0].hi) }
        : {
            lo: Math.min(Math.abs(ranges[0].lo), Math.abs(ranges[0].hi)),
            hi: Math.max(Math.abs(ranges[0].lo), Math.abs(ranges[0].hi)),
          };
      break;
    default:
      // round/floor/ceil can move a value by up to 1
      range = { lo: Math.floor(ranges[0].lo), hi: Math.ceil(ranges[0].hi) };
  }
  return { ty, range };
}

const ARITH_VERB: Record<string, string> = { '+': 'add', '-': 'subtract' };

function inferBinary(e: Extract<Expr, { kind: 'Binary' }>, scope: ExprScope): Typed {
  const a = inferExpr(e.left, scope);
  const b = inferExpr(e.right, scope);
  switch (e.op) {
    case 'and':
    case 'or':
      expectBool(a, e.left, scope, `\`${e.op}\``);
      expectBool(b, e.right, scope, `\`${e.op}\``);
      return BOOL_T;
    case '==':
    case '!=':
      if (!comparable(a.ty, b.ty)) {
        scope.report(
          error(
            codes.mixedUnitsComparison,
            `cannot compare ${unitText(a.ty)} with ${unitText(b.ty)}: \`${exprText(e)}\``,
            e.range,
          ),
        );
      }
      return BOOL_T;
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (a.ty.t === 'err' || b.ty.t === 'err') return BOOL_T;
      if (a.ty.t !== 'num' || b.ty.t !== 'num') {
        const bad = a.ty.t !== 'num' ? e.left : e.right;
        const badT = a.ty.t !== 'num' ? a : b;
        if (badT.ty.t !== 'any')
          typeError(bad, badT, `a number on both sides of \`${e.op}\``, scope);
        return BOOL_T;
      }
      if (!unify(a.ty, b.ty)) {
        scope.report(
          error(
            codes.mixedUnitsComparison,
            `cannot compare ${unitText(a.ty)} with ${unitText(b.ty)}: \`${exprText(e)}\``,
            e.range,
            'compare like with like, e.g. tokens with tokens, money with money',
          ),
        );
      }
      return BOOL_T;
    }
  }
  // arithmetic
  if (a.ty.t === 'err' || b.ty.t === 'err') return ERR_T;
  if (a.ty.t !== 'num' || b.ty.t !== 'num') {
    const bad = a.ty.t !== 'num' ? e.left : e.right;
    typeError(bad, a.ty.t !== 'num' ? a : b, `a number on both sides of \`${e.op}\``, scope);
    return ERR_T;
  }
  switch (e.op) {
    case '+':
    case '-': {
      const u = unify(a.ty, b.ty);
      if (!u) {
        scope.report(
          error(
            codes.mixedUnitsSum,
            `cannot ${ARITH_VERB[e.op]} ${unitText(b.ty)} ${e.op === '+' ? 'to' : 'from'} ${unitText(a.ty)}: \`${exprText(e)}\``,
            e.range,
            'both sides of + and - need the same unit',
          ),
        );
        return ERR_T;
      }
      return { ty: u, range: e.op === '+' ? addI(a.range, b.range) : subI(a.range, b.range) };
    }
    case '*': {
      const dims =
        a.ty.dims === null
          ? b.ty.dims
          : b.ty.dims === null
            ? a.ty.dims
            : mulDims(a.ty.dims, b.ty.dims, 1);
      return { ty: { t: 'num', dims }, range: mulI(a.range, b.range) };
    }
    default: {
      // '/'
      if (containsZero(b.range)) {
        const text = exprText(e.right);
        scope.report({
          severity: 'warning',
          code: codes.maybeDivisionByZero,
          message: `the denominator \`${text}\` can be zero (x / 0 evaluates to 0)`,
          range: e.right.range,
          hint: `use \`max(${text.replace(/^\((.*)\)$/, '$1')}, 1)\``,
        });
      }
      const dims: Dims | null =
        b.ty.dims === null ? a.ty.dims : mulDims(a.ty.dims ?? {}, b.ty.dims, -1);
      return { ty: { t: 'num', dims }, range: divI(a.range, b.range) };
    }
  }
}

function expectBool(t: Typed, e: Expr, scope: ExprScope, where: string): void {
  if (t.ty.t === 'bool' || t.ty.t === 'err' || t.ty.t === 'any') return;
  scope.report(
    error(
      codes.notACondition,
      `${where} needs a condition (true/false), but \`${exprText(e)}\` is ${unitText(t.ty)}`,
      e.range,
    ),
  );
}

function typeError(e: Expr, t: Typed, wanted: string, scope: ExprScope): void {
  scope.report(
    error(
      codes.arithmeticOnText,
      `expected ${wanted}, but \`${exprText(e)}\` is ${unitText(t.ty)}`,
      e.range,
    ),
  );
}

export { BOOL_T, ERR_T };
