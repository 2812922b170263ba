// Outcome measures for the engine's fact reads. A policy reads a declared measure under a
// fact name that carries its aggregation ("measure:review_score:mean", see
// src/policy/ir.ts measureFact); this module answers those names from measure_rollups (day
// windows) or the raw outcome events (sub-day windows): per person the observations, their
// sum and a merged histogram, then team and org values from the same parts (a team's mean
// is its members' total over their observations, not a mean of means).
import type {
  FactGrouping,
  FactSums,
  FactWindow,
  GroupedFactSums,
  PersonScope,
} from '../engine/ports.ts';
import { type MeasureRead, parseMeasureFact } from '../policy/ir.ts';

/** Relative width of a histogram bucket (the migration's measure_bucket uses the same). */
export const MEASURE_BUCKET_GAMMA = 1.02;

/** What a group's observations of one measure in one window add up to. */
export type MeasureParts = { n: number; total: number; buckets: Map<string, number> | null };

/** The value a bucket key stands for: the middle of (γ^(k-1), γ^k], negated for "n"k, 0 for "z". */
export function bucketValue(key: string): number {
  if (key === 'z') return 0;
  const negative = key.startsWith('n');
  const k = Number(negative ? key.slice(1) : key);
  const value = (2 * MEASURE_BUCKET_GAMMA ** k) / (MEASURE_BUCKET_GAMMA + 1);
  return negative ? -value : value;
}

/** The nearest-rank percentile of a histogram (0 when empty), within γ of the true value. */
export function histogramPercentile(buckets: ReadonlyMap<string, number>, p: number): number {
  const entries = [...buckets]
    .filter(([, c]) => c > 0)
    .map(([k, c]) => [bucketValue(k), c] as const)
    .sort((a, b) => a[0] - b[0]);
  const n = entries.reduce((sum, [, c]) => sum + c, 0);
  if (n === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  let seen = 0;
  for (const [value, c] of entries) {
    seen += c;
    if (seen >= rank) return value;
  }
  return entries[entries.length - 1][0];
}

/** One aggregation of a group's parts. */
export function measureValue(parts: MeasureParts | undefined, read: MeasureRead): number {
  if (!parts || parts.n === 0) return 0;
  if (read.aggregate === 'sum') return parts.total;
  if (read.aggregate === 'mean') return parts.total / parts.n;
  return histogramPercentile(parts.buckets ?? new Map(), read.percentile ?? 50);
}

/** Splits each window's facts into built-in facts and measure reads. */
export function splitMeasures(windows: readonly FactWindow[]): {
  facts: FactWindow[];
  measures: FactWindow[];
} {
  const facts: FactWindow[] = [];
  const measures: FactWindow[] = [];
  for (const w of windows) {
    const m = w.facts.filter((f) => parseMeasureFact(f) !== null);
    if (m.length === 0) facts.push(w);
    else {
      const rest = w.facts.filter((f) => parseMeasureFact(f) === null);
      if (rest.length > 0) facts.push({ ...w, facts: rest });
      measures.push({ ...w, facts: m });
    }
  }
  return { facts, measures };
}

type Row = {
  w: number;
  person_id: string;
  team_id: string | null;
  measure: string;
  n: string;
  total: string;
  buckets: Record<string, number | string> | null;
};

export type MeasureQuery = {
  /** runs one statement; the caller chooses session settings */
  read: (sql: string, values: unknown[]) => Promise<Row[]>;
  /** SQL restricting `column` (a person id) to the scope, adding its values to `values` */
  scopeWhere: (scope: PersonScope | undefined, values: unknown[], column: string) => string;
};

/**
 * Reads every measure fact of `windows` (from splitMeasures) and writes person, team and
 * org values into `out`, beside the facts already there. Windows scoped to an environment
 * read 0: outcomes belong to no environment.
 */
export async function sumMeasures(
  query: MeasureQuery,
  windows: readonly FactWindow[],
  groupings: readonly FactGrouping[],
  scope: PersonScope | undefined,
  out: GroupedFactSums,
): Promise<void> {
  const values: unknown[] = [];
  const add = (v: unknown, cast = '') => {
    values.push(v);
    return `$${values.length}${cast}`;
  };
  const parts: string[] = [];
  const readable = windows.filter((w) => !w.environment);
  readable.forEach((w, wi) => {
    const reads = w.facts.map((f) => parseMeasureFact(f) as MeasureRead);
    const names = add([...new Set(reads.map((r) => r.measure))], '::text[]');
    const histogram = reads.some((r) => r.aggregate === 'percentile');
    const source =
      w.kind === 'days'
        ? `(select person_id, project, measure, n, total, buckets from measure_rollups
             where day >= ${add(w.from, '::date')} and day < ${add(w.to, '::date')})`
        : `(select o.person_id, coalesce(o.project, '') as project, m.key as measure, 1 as n,
                   m.value::numeric as total,
                   jsonb_build_object(measure_bucket(m.value::numeric), 1) as buckets
              from outcome_events o cross join lateral jsonb_each_text(o.measures) m
             where o.measures is not null and o.ts > ${add(w.start.toISOString(), '::timestamptz')}
               and o.ts <= ${add(w.end.toISOString(), '::timestamptz')})`;
    const project = w.project ? ` and x.project = ${add(w.project)}` : '';
    parts.push(`
      select ${wi} as w, x.person_id, p.team_id, x.measure, sum(x.n)::text as n,
             sum(x.total)::text as total,
             ${histogram ? 'measure_buckets_merge(x.buckets)' : 'null::jsonb'} as buckets
        from ${source} x left join people p on p.id = x.person_id
       where x.measure = any(${names})${project}
         and ${query.scopeWhere(scope, values, 'x.person_id')}
       group by x.person_id, p.team_id, x.measure`);
  });
  const rows = parts.length > 0 ? await query.read(parts.join('\n union all\n'), values) : [];

  // group → window → measure → parts
  const groups = new Map<string, Map<number, Map<string, MeasureParts>>>();
  const collect = (key: string, r: Row) => {
    let byWindow = groups.get(key);
    if (!byWindow) {
      byWindow = new Map();
      groups.set(key, byWindow);
    }
    let byMeasure = byWindow.get(r.w);
    if (!byMeasure) {
      byMeasure = new Map();
      byWindow.set(r.w, byMeasure);
    }
    let p = byMeasure.get(r.measure);
    if (!p) {
      p = { n: 0, total: 0, buckets: r.buckets ? new Map() : null };
      byMeasure.set(r.measure, p);
    }
    p.n += Number(r.n);
    p.total += Number(r.total);
    if (r.buckets && p.buckets)
      for (const [k, c] of Object.entries(r.buckets))
        p.buckets.set(k, (p.buckets.get(k) ?? 0) + Number(c));
  };
  for (const r of rows) {
    if (groupings.includes('person')) collect(`person|${r.person_id}`, r);
    if (groupings.includes('team') && r.team_id !== null) collect(`team|${r.team_id}`, r);
    if (groupings.includes('org')) collect('org|org', r);
  }
  for (const g of groupings) out[g] ??= new Map();
  for (const [key, byWindow] of groups) {
    const bar = key.indexOf('|');
    const grouping = key.slice(0, bar) as FactGrouping;
    const id = key.slice(bar + 1);
    const sums = out[grouping] as FactSums;
    for (const [wi, byMeasure] of byWindow) {
      const w = readable[wi];
      let byId = sums.get(w.key);
      if (!byId) {
        byId = new Map();
        sums.set(w.key, byId);
      }
      const target = byId.get(id) ?? {};
      byId.set(id, target);
      for (const fact of w.facts) {
        const read = parseMeasureFact(fact) as MeasureRead;
        target[fact] = measureValue(byMeasure.get(read.measure), read);
      }
    }
  }
}
