// The request limits' replay: how many of the window's requests each version would have
// warned about and blocked, per model class. Request limits weigh one request's input, which
// no rollup keeps: the store counts, from the raw events, the requests above each threshold
// either version names (an event covering several requests counts each at its average).
import type { IrRequestLimit, RuleSetIR } from '../policy/ir.ts';
import { priceTable } from '../policy/ir.ts';
import { resolveModel } from '../policy/price.ts';
import type { RequestSizeRow, UsageReader } from './ports.ts';

export type RequestCounts = { warned: number; blocked: number };

export type RequestLimitImpact = {
  /** requests in the window */
  requests: number;
  before: RequestCounts;
  after: RequestCounts;
  /** per model class ("(unpriced)" for models with no class), classes with requests only */
  classes: { modelClass: string; requests: number; before: RequestCounts; after: RequestCounts }[];
};

const UNPRICED = '(unpriced)';

/** The lowest warn and block thresholds that apply to a class (its own limit and `any`). */
function thresholdsFor(
  limits: Record<string, IrRequestLimit> | undefined,
  modelClass: string | null,
): { warn: number | null; block: number | null } {
  const applicable = [modelClass !== null ? limits?.[modelClass] : undefined, limits?.any];
  const lowest = (action: 'warn' | 'block') => {
    const values = applicable.flatMap((l) => (l?.[action] ? [l[action].above] : []));
    return values.length ? Math.min(...values) : null;
  };
  return { warn: lowest('warn'), block: lowest('block') };
}

function countsOf(
  row: RequestSizeRow,
  thresholds: readonly number[],
  t: { warn: number | null; block: number | null },
): RequestCounts {
  const above = (x: number | null) => (x === null ? 0 : row.above[thresholds.indexOf(x)]);
  const blocked = above(t.block);
  // a request above the block is blocked, never warned; a warning at or past the block
  // (`any` warns higher than a class blocks) warns no one
  if (t.warn === null || (t.block !== null && t.warn >= t.block)) return { warned: 0, blocked };
  return { warned: above(t.warn) - blocked, blocked };
}

/** Null when neither version has request limits. */
export async function compareRequestLimits(
  reader: UsageReader,
  a: RuleSetIR,
  b: RuleSetIR,
  start: Date,
  end: Date,
): Promise<RequestLimitImpact | null> {
  if (!a.requestLimits && !b.requestLimits) return null;
  const thresholds = [
    ...new Set(
      [a, b].flatMap((ir) =>
        Object.values(ir.requestLimits ?? {}).flatMap((l) =>
          [l.warn, l.block].flatMap((s) => (s ? [s.above] : [])),
        ),
      ),
    ),
  ].sort((x, y) => x - y);
  const rows = await reader.requestSizes(start, end, thresholds);
  const classOf = (ir: RuleSetIR, model: string) => {
    const declared = resolveModel(priceTable(ir), model);
    return declared === null ? null : (ir.models[declared]?.class ?? null);
  };
  const out: RequestLimitImpact = {
    requests: 0,
    before: { warned: 0, blocked: 0 },
    after: { warned: 0, blocked: 0 },
    classes: [],
  };
  const byClass = new Map<string, RequestLimitImpact['classes'][number]>();
  const add = (into: RequestCounts, c: RequestCounts) => {
    into.warned += c.warned;
    into.blocked += c.blocked;
  };
  for (const row of rows) {
    const ca = classOf(a, row.model);
    const cb = classOf(b, row.model);
    const before = countsOf(row, thresholds, thresholdsFor(a.requestLimits, ca));
    const after = countsOf(row, thresholds, thresholdsFor(b.requestLimits, cb));
    out.requests += row.requests;
    add(out.before, before);
    add(out.after, after);
    // listed under the new version's class
    const key = cb ?? UNPRICED;
    const entry = byClass.get(key) ?? {
      modelClass: key,
      requests: 0,
      before: { warned: 0, blocked: 0 },
      after: { warned: 0, blocked: 0 },
    };
    entry.requests += row.requests;
    add(entry.before, before);
    add(entry.after, after);
    byClass.set(key, entry);
  }
  out.classes = [...byClass.values()].sort((x, y) => x.modelClass.localeCompare(y.modelClass));
  return out;
}
