// Types and units of expressions. A numeric type carries dimensions as exponents of the
// base units (tokens, money, duration, count): `cost / tokens` is money¹·tokens⁻¹.
// Percentages and ratios are dimensionless. A bare number literal is "untyped" and takes
// the unit of whatever it meets (`tasks >= 5`, `max(tasks, 1)`), like Go's constants.
import type { BaseUnit } from './vocabulary.ts';

export type Dims = Partial<Record<BaseUnit, number>>;

export type Ty =
  | { t: 'num'; dims: Dims | null }
  | { t: 'str' }
  | { t: 'bool' }
  /** free-form attribute: compares with anything */
  | { t: 'any' }
  /** already reported: suppresses follow-on errors */
  | { t: 'err' };

export const NUM_UNTYPED: Ty = { t: 'num', dims: null };
export const DIMENSIONLESS: Ty = { t: 'num', dims: {} };
export const STR: Ty = { t: 'str' };
export const BOOL: Ty = { t: 'bool' };
export const ANY: Ty = { t: 'any' };
export const ERR: Ty = { t: 'err' };

export function unitOf(base: BaseUnit): Ty {
  return { t: 'num', dims: { [base]: 1 } };
}

const ORDER: BaseUnit[] = ['money', 'tokens', 'duration', 'count'];

function clean(d: Dims): Dims {
  const out: Dims = {};
  for (const b of ORDER) if (d[b]) out[b] = d[b];
  return out;
}

export function sameDims(a: Dims, b: Dims): boolean {
  return ORDER.every((u) => (a[u] ?? 0) === (b[u] ?? 0));
}

export function mulDims(a: Dims, b: Dims, sign: 1 | -1): Dims {
  const out: Dims = {};
  for (const u of ORDER) out[u] = (a[u] ?? 0) + sign * (b[u] ?? 0);
  return clean(out);
}

/** "tokens", "money/tokens", "tokens/count", "1" for dimensionless, "number" for untyped. */
export function unitText(ty: Ty): string {
  if (ty.t === 'str') return 'text';
  if (ty.t === 'bool') return 'true/false';
  if (ty.t === 'any' || ty.t === 'err') return 'any';
  if (ty.dims === null) return 'number';
  const up: string[] = [];
  const down: string[] = [];
  for (const u of ORDER) {
    const n = ty.dims[u] ?? 0;
    const text = Math.abs(n) === 1 ? u : `${u}^${Math.abs(n)}`;
    if (n > 0) up.push(text);
    if (n < 0) down.push(text);
  }
  if (up.length === 0 && down.length === 0) return '1';
  return `${up.length ? up.join('*') : '1'}${down.length ? `/${down.join('/')}` : ''}`;
}

/** Unify two numeric types for +, -, comparison, max/min: null when they differ. */
export function unify(a: Ty, b: Ty): Ty | null {
  if (a.t === 'err' || b.t === 'err') return ERR;
  if (a.t !== 'num' || b.t !== 'num') return null;
  if (a.dims === null) return b;
  if (b.dims === null) return a;
  return sameDims(a.dims, b.dims) ? a : null;
}

/** Can two values be compared with == / != ? */
export function comparable(a: Ty, b: Ty): boolean {
  if (a.t === 'err' || b.t === 'err' || a.t === 'any' || b.t === 'any') return true;
  if (a.t === 'num' && b.t === 'num') return unify(a, b) !== null;
  return a.t === b.t;
}

// ---------- value ranges, for "can this denominator be zero?" ----------

export type Interval = { lo: number; hi: number };

export const ALL: Interval = { lo: -Infinity, hi: Infinity };
export const NON_NEGATIVE: Interval = { lo: 0, hi: Infinity };

function safeMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : a * b;
}

export function addI(a: Interval, b: Interval): Interval {
  return { lo: a.lo + b.lo, hi: a.hi + b.hi };
}

export function subI(a: Interval, b: Interval): Interval {
  return { lo: a.lo - b.hi, hi: a.hi - b.lo };
}

export function mulI(a: Interval, b: Interval): Interval {
  const p = [safeMul(a.lo, b.lo), safeMul(a.lo, b.hi), safeMul(a.hi, b.lo), safeMul(a.hi, b.hi)];
  return { lo: Math.min(...p), hi: Math.max(...p) };
}

export function containsZero(i: Interval): boolean {
  return i.lo <= 0 && i.hi >= 0;
}

/** Division where the denominator excludes zero; runtime x/0 = 0 otherwise. */
export function divI(a: Interval, b: Interval): Interval {
  if (containsZero(b)) {
    if (a.lo >= 0 && b.lo >= 0) return NON_NEGATIVE;
    return ALL;
  }
  const inv: Interval = { lo: 1 / b.hi, hi: 1 / b.lo };
  return mulI(a, inv);
}

export function unionI(a: Interval, b: Interval): Interval {
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}
