// IR expression → JavaScript function. The generated source contains only code emitted
// here plus JSON.stringify'd literals and keys (fact names, attribute paths, string
// constants), never text copied from the policy, so nothing in a policy can inject code.
//
// Shape of a generated function, for a formula evaluated in window "quarter":
//   function (F, S, Z, O) {
//     const w0 = F["quarter"] ?? E;      // facts of the context window
//     const f0 = w0["accepted"] ?? 0; ...// each fact read once
//     const m0 = D(f0, M.max(...), Z, 0); // metrics it needs, dependencies first
//     if (O !== null) { O[0] = m0; ... }  // metric values, for explanations
//     return G(1000 * m0 * m1 / ..., Z);  // the formula, guarded against NaN/Infinity
//   }
// F: facts by window key; S: attribute values by dotted path; Z: sink that records a
// runtime hazard at a site and returns 0; O: optional array receiving metric values.
import type { IrExpr, RuleSetIR } from '../ir.ts';
import { irToText } from '../ir.ts';

export type Facts = Record<string, Record<string, number> | undefined>;
export type Attributes = Record<string, unknown>;
/** Records a runtime hazard at a site index and returns the defined value 0. */
export type Sink = (site: number) => number;
export type FormulaFn = (F: Facts, S: Attributes, Z: Sink, O: number[] | null) => unknown;

export type Site = { kind: 'division_by_zero' | 'invalid_math'; where: string; expr: string };

export type CompiledFormula = {
  fn: FormulaFn;
  formula: string;
  window: string;
  /** every fact read (directly or through metrics), in first-use order */
  facts: { name: string; window: string }[];
  /** every attribute path read, in first-use order */
  attributes: string[];
  /** every metric used, dependencies first; O[i] receives metrics[i] */
  metrics: string[];
  sites: Site[];
  source: string;
};

// runtime helpers, bound into every generated function
const D = (a: number, b: number, z: Sink, s: number): number => (b === 0 ? z(s) : a / b);
const L10 = (x: number, z: Sink, s: number): number => (x > 0 ? Math.log10(x) : z(s));
const LN = (x: number, z: Sink, s: number): number => (x > 0 ? Math.log(x) : z(s));
const SQ = (x: number, z: Sink, s: number): number => (x >= 0 ? Math.sqrt(x) : z(s));
const G = (x: number, z: Sink, s: number): number => (Number.isFinite(x) ? x : z(s));
const IN = (v: unknown, list: unknown[]): boolean => list.includes(v);
const EMPTY: Readonly<Record<string, number>> = Object.freeze({});

const lit = (v: unknown) => JSON.stringify(v);

class Emitter {
  readonly facts: { name: string; window: string }[] = [];
  readonly attributes: string[] = [];
  readonly factVars = new Map<string, string>();
  readonly sites: Site[] = [];
  readonly consts: unknown[] = [];
  readonly metricVars = new Map<string, string>();
  where = '';
  readonly ir: RuleSetIR;
  readonly window: string;

  constructor(ir: RuleSetIR, window: string) {
    this.ir = ir;
    this.window = window;
  }

  site(kind: Site['kind'], e: IrExpr): number {
    this.sites.push({ kind, where: this.where, expr: irToText(e) });
    return this.sites.length - 1;
  }

  fact(name: string, within: string | undefined): string {
    const window = within ?? this.window;
    const key = `${window}\u0000${name}`;
    let v = this.factVars.get(key);
    if (!v) {
      v = `f${this.factVars.size}`;
      this.factVars.set(key, v);
      this.facts.push({ name, window });
    }
    return v;
  }

  expr(e: IrExpr): string {
    switch (e.k) {
      case 'num':
        if (typeof e.v !== 'number') throw new Error('a number node without a number');
        return Object.is(e.v, -0) || e.v < 0 ? `(${lit(e.v)})` : lit(e.v);
      case 'str':
      case 'bool':
        return lit(e.v);
      case 'fact':
        return this.fact(e.name, e.within);
      case 'metric': {
        const v = this.metricVars.get(e.name);
        if (!v) throw new Error(`metric used before it is computed: ${e.name}`);
        return v;
      }
      case 'attr': {
        const path = e.path.join('.');
        if (!this.attributes.includes(path)) this.attributes.push(path);
        return `S[${lit(path)}]`;
      }
      case 'not':
        return `(!${this.expr(e.a)})`;
      case 'neg':
        return `(-${this.expr(e.a)})`;
      case 'if':
        return `(${this.expr(e.c)} ? ${this.expr(e.t)} : ${this.expr(e.e)})`;
      case 'in': {
        const v = this.expr(e.v);
        const allLiterals = e.list.every((x) => x.k === 'str' || x.k === 'num' || x.k === 'bool');
        let test: string;
        if (allLiterals && e.list.length > 0) {
          test = `(${e.list.map((x) => `${v} === ${this.expr(x)}`).join(' || ')})`;
        } else {
          test = `IN(${v}, [${e.list.map((x) => this.expr(x)).join(', ')}])`;
        }
        return e.negated ? `(!${test})` : test;
      }
      case 'call': {
        const args = e.args.map((a) => this.expr(a));
        switch (e.fn) {
          case 'max':
          case 'min':
          case 'abs':
          case 'round':
          case 'floor':
          case 'ceil':
            return `Math.${e.fn}(${args.join(', ')})`;
          case 'clamp':
            return `Math.min(Math.max(${args[0]}, ${args[1]}), ${args[2]})`;
          case 'log10':
            return `L10(${args[0]}, Z, ${this.site('invalid_math', e)})`;
          case 'ln':
            return `LN(${args[0]}, Z, ${this.site('invalid_math', e)})`;
          case 'sqrt':
            return `SQ(${args[0]}, Z, ${this.site('invalid_math', e)})`;
          default:
            throw new Error(`unknown function ${e.fn}`);
        }
      }
      case 'bin': {
        const a = this.expr(e.a);
        const b = this.expr(e.b);
        switch (e.op) {
          case '/':
            return `D(${a}, ${b}, Z, ${this.site('division_by_zero', e)})`;
          case '==':
            return `(${a} === ${b})`;
          case '!=':
            return `(${a} !== ${b})`;
          case 'and':
            return `(${a} && ${b})`;
          case 'or':
            return `(${a} || ${b})`;
          case '+':
          case '-':
          case '*':
          case '<':
          case '<=':
          case '>':
          case '>=':
            return `(${a} ${e.op} ${b})`;
          default:
            // an IR read back from storage is data: never let an unknown operator into code
            throw new Error(`unknown operator ${JSON.stringify(e.op)}`);
        }
      }
    }
  }
}

/** Metrics an expression needs, transitively, in dependency order (the IR's metricOrder). */
export function metricsNeeded(
  ir: RuleSetIR,
  roots: readonly IrExpr[],
  extra: readonly string[] = [],
): string[] {
  const needed = new Set<string>();
  const pending: string[] = [...extra];
  for (const r of roots) for (const n of walk(r)) if (n.k === 'metric') pending.push(n.name);
  // iterative, so long metric chains cannot overflow the stack
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (needed.has(name) || !ir.metrics[name]) continue;
    needed.add(name);
    pending.push(...ir.metrics[name].deps);
  }
  const rank = orderIndex(ir);
  return [...needed].filter((m) => rank.has(m)).sort((a, b) => rank.get(a)! - rank.get(b)!);
}

const orderIndexes = new WeakMap<RuleSetIR, Map<string, number>>();
function orderIndex(ir: RuleSetIR): Map<string, number> {
  let index = orderIndexes.get(ir);
  if (!index) {
    index = new Map(ir.metricOrder.map((m, i) => [m, i]));
    orderIndexes.set(ir, index);
  }
  return index;
}

function* walk(e: IrExpr): Generator<IrExpr> {
  yield e;
  switch (e.k) {
    case 'call':
      for (const a of e.args) yield* walk(a);
      break;
    case 'not':
    case 'neg':
      yield* walk(e.a);
      break;
    case 'bin':
      yield* walk(e.a);
      yield* walk(e.b);
      break;
    case 'in':
      yield* walk(e.v);
      for (const a of e.list) yield* walk(a);
      break;
    case 'if':
      yield* walk(e.c);
      yield* walk(e.t);
      yield* walk(e.e);
      break;
  }
}

/**
 * Compile `expr` (or just the metrics, when expr is null) for evaluation in `window`.
 * `where` names the context in runtime flags ("leaderboard value_per_token score").
 * `numeric` adds the final NaN/Infinity guard.
 */
export function compileFormula(
  ir: RuleSetIR,
  expr: IrExpr | null,
  window: string,
  where: string,
  options: { numeric?: boolean; extraMetrics?: readonly string[] } = {},
): CompiledFormula {
  const em = new Emitter(ir, window);
  const metrics = metricsNeeded(ir, expr ? [expr] : [], options.extraMetrics);
  const lines: string[] = [];
  metrics.forEach((name, i) => {
    em.where = `metric ${name}`;
    const code = em.expr(ir.metrics[name].expr);
    lines.push(`const m${i} = G(${code}, Z, ${em.site('invalid_math', ir.metrics[name].expr)});`);
    em.metricVars.set(name, `m${i}`);
  });
  em.where = where;
  let result = 'undefined';
  if (expr) {
    result = em.expr(expr);
    if (options.numeric) result = `G(${result}, Z, ${em.site('invalid_math', expr)})`;
  }
  // each window object is read once, then each fact once
  const windowVars = new Map<string, string>();
  const factLines: string[] = [];
  for (const [key, v] of em.factVars) {
    const [win, name] = key.split('\u0000');
    let w = windowVars.get(win);
    if (!w) {
      w = `w${windowVars.size}`;
      windowVars.set(win, w);
      factLines.push(`const ${w} = F[${lit(win)}] ?? E;`);
    }
    factLines.push(`const ${v} = ${w}[${lit(name)}] ?? 0;`);
  }
  const out = metrics.length
    ? [`if (O !== null) { ${metrics.map((_, i) => `O[${i}] = m${i};`).join(' ')} }`]
    : [];
  const body = [...factLines, ...lines, ...out, `return ${result};`].join('\n  ');
  const source = `"use strict";\nreturn function formula(F, S, Z, O) {\n  ${body}\n};`;
  const fn = new Function('D', 'L10', 'LN', 'SQ', 'G', 'IN', 'E', source)(
    D,
    L10,
    LN,
    SQ,
    G,
    IN,
    EMPTY,
  ) as FormulaFn;
  return {
    fn,
    formula: expr ? irToText(expr) : '',
    window,
    facts: em.facts,
    attributes: em.attributes,
    metrics,
    sites: em.sites,
    source,
  };
}
