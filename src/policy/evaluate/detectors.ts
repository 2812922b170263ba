// Built-in anomaly and gaming detectors (docs/language/rules.md, "Detectors"). Each reads
// facts the rule set requires (see detectorReads) and answers with its figures, fired or
// not, so a fired rule says which detector fired and why.
import type { Facts } from '../compile/codegen.ts';
import type { IrDetector } from '../ir.ts';
import { daysAgoKey, periodBounds } from '../windows.ts';
import type { DetectorFinding } from './types.ts';

/** MAD × 1.4826 estimates the standard deviation of normally distributed data. */
const MAD_SCALE = 1.4826;
/** When half the days are equal (MAD 0): mean absolute deviation × 1.2533 instead. */
const MEAN_AD_SCALE = 1.2533;
/** Task splitting: today's tokens per task must be below this share of the usual. */
const SPLIT_TOKENS_SHARE = 0.5;
/** Ratio and burst detectors count history in the last 30 days. */
const HISTORY_WINDOW = '30d';
const TODAY = '1d';
const DAY_MS = 86_400_000;

/** The lookback of a baseline detector in days (`28d` → 28). */
function lookbackDays(d: IrDetector): number {
  return Number.parseInt(d.window, 10);
}

/** [window key, fact] pairs a detector reads. */
export function detectorReads(d: IrDetector): [string, string][] {
  const out: [string, string][] = [];
  const series = (facts: string[]) => {
    for (const f of facts) out.push([TODAY, f]);
    for (let k = 1; k <= lookbackDays(d); k++) for (const f of facts) out.push([daysAgoKey(k), f]);
  };
  const history = () => {
    out.push([HISTORY_WINDOW, 'active_days'], [TODAY, 'active_days']);
  };
  switch (d.detector) {
    case 'deviation':
      series([d.fact as string]);
      break;
    case 'task_splitting':
      series(['tasks', 'tokens']);
      break;
    case 'retry_loop':
      out.push([d.window, 'requests'], [d.window, 'tasks']);
      history();
      break;
    case 'period_end_burst':
      out.push([d.period ?? 'month', d.fact as string], [d.window, d.fact as string]);
      history();
      break;
  }
  return out;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Centre and spread of a series: median, and MAD × 1.4826 (or mean AD × 1.2533 when MAD is 0). */
export function robustBaseline(values: readonly number[]): {
  median: number;
  mad: number;
  spread: number;
} {
  const m = median(values);
  const deviations = values.map((v) => Math.abs(v - m));
  const mad = median(deviations);
  const meanAd = deviations.length ? deviations.reduce((a, b) => a + b, 0) / deviations.length : 0;
  return { median: m, mad, spread: mad > 0 ? MAD_SCALE * mad : MEAN_AD_SCALE * meanAd };
}

// one formatter for every figure: toLocaleString builds a new one per call
const numbers = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const fmt = (n: number) => numbers.format(n);

/** The days before today with a positive value of `fact`, oldest first. */
function activeSeries(F: Facts, days: number, fact: string): { day: number; value: number }[] {
  const out: { day: number; value: number }[] = [];
  for (let k = days; k >= 1; k--) {
    const v = F[daysAgoKey(k)]?.[fact] ?? 0;
    if (v > 0) out.push({ day: k, value: v });
  }
  return out;
}

type Figures = Pick<DetectorFinding, 'fired' | 'value' | 'history'> &
  Partial<Omit<DetectorFinding, 'detector' | 'window' | 'minHistory' | 'text'>> & {
    /** the finding in words; formatted only when read (most findings do not fire) */
    text: () => string;
  };

/** A finding with the detector's own settings; no baseline unless the figures give one. */
function finding(d: IrDetector, figures: Figures): DetectorFinding {
  const { text: describe, ...rest } = figures;
  let text: string | undefined;
  return {
    detector: d.detector,
    fact: d.fact ?? null,
    window: d.window,
    baseline: null,
    spread: null,
    deviation: null,
    threshold: d.above,
    minHistory: d.history,
    ...rest,
    get text() {
      text ??= describe();
      return text;
    },
  };
}

function tooNew(d: IrDetector, history: number, what: string): DetectorFinding | null {
  if (history >= d.history) return null;
  return finding(d, {
    fired: false,
    value: 0,
    history,
    text: () => `${d.detector}: not weighed, ${history} ${what} of history < ${d.history} needed`,
  });
}

function deviation(d: IrDetector, F: Facts): DetectorFinding {
  const fact = d.fact as string;
  const series = activeSeries(F, lookbackDays(d), fact);
  const early = tooNew(d, series.length, `day${series.length === 1 ? '' : 's'} with ${fact}`);
  if (early) return early;
  const today = F[TODAY]?.[fact] ?? 0;
  const base = robustBaseline(series.map((x) => x.value));
  const threshold = base.median + d.above * base.spread;
  const z = base.spread > 0 ? (today - base.median) / base.spread : 0;
  const fired = base.spread > 0 && today > threshold;
  return finding(d, {
    fired,
    value: today,
    baseline: base.median,
    spread: base.spread,
    deviation: z,
    threshold,
    history: series.length,
    text: () =>
      base.spread > 0
        ? `deviation: ${fact} today ${fmt(today)} ${fired ? '>' : '≤'} ${fmt(threshold)} = median ${fmt(base.median)} + ${d.above} × ${fmt(base.spread)} (MAD ${fmt(base.mad)} × 1.4826) over ${series.length} days with ${fact} in ${d.window}; deviation ${fmt(z)}`
        : `deviation: ${fact} has no spread over ${series.length} days in ${d.window} (every day ${fmt(base.median)}): not weighed`,
  });
}

function taskSplitting(d: IrDetector, F: Facts): DetectorFinding {
  const series = activeSeries(F, lookbackDays(d), 'tasks');
  const early = tooNew(d, series.length, `day${series.length === 1 ? '' : 's'} with tasks`);
  if (early) return early;
  const tasks = F[TODAY]?.tasks ?? 0;
  const tokens = F[TODAY]?.tokens ?? 0;
  const perTask = tasks > 0 ? tokens / tasks : 0;
  const base = robustBaseline(series.map((x) => x.value));
  const usualPerTask = median(series.map((x) => (F[daysAgoKey(x.day)]?.tokens ?? 0) / x.value));
  const threshold = base.median + d.above * base.spread;
  const z = base.spread > 0 ? (tasks - base.median) / base.spread : 0;
  const manyTasks = base.spread > 0 && tasks > threshold;
  const smallTasks = tasks > 0 && perTask < SPLIT_TOKENS_SHARE * usualPerTask;
  return finding(d, {
    fact: 'tasks',
    fired: manyTasks && smallTasks,
    value: tasks,
    baseline: base.median,
    spread: base.spread,
    deviation: z,
    threshold,
    history: series.length,
    tokensPerTask: perTask,
    usualTokensPerTask: usualPerTask,
    text: () =>
      `task_splitting: tasks today ${fmt(tasks)} ${manyTasks ? '>' : '≤'} ${fmt(threshold)} = median ${fmt(base.median)} + ${d.above} × ${fmt(base.spread)} over ${series.length} days with tasks in ${d.window} (deviation ${fmt(z)}), and tokens per task ${fmt(perTask)} ${smallTasks ? '<' : '≥'} half the usual ${fmt(usualPerTask)}`,
  });
}

function activeHistory(F: Facts): number {
  return Math.max(
    0,
    (F[HISTORY_WINDOW]?.active_days ?? 0) - ((F[TODAY]?.active_days ?? 0) > 0 ? 1 : 0),
  );
}

function retryLoop(d: IrDetector, F: Facts): DetectorFinding {
  const history = activeHistory(F);
  const early = tooNew(d, history, 'active days in 30d');
  if (early) return early;
  const requests = F[d.window]?.requests ?? 0;
  const tasks = F[d.window]?.tasks ?? 0;
  const ratio = tasks > 0 ? requests / tasks : 0;
  const fired = tasks > 0 && ratio > d.above;
  return finding(d, {
    fired,
    value: ratio,
    history,
    text: () =>
      `retry_loop: ${fmt(requests)} requests for ${fmt(tasks)} tasks in ${d.window} = ${fmt(ratio)} per task ${fired ? '>' : '≤'} ${d.above}`,
  });
}

function periodEndBurst(d: IrDetector, F: Facts, now: number, tz: string): DetectorFinding {
  const history = activeHistory(F);
  const early = tooNew(d, history, 'active days in 30d');
  if (early) return early;
  const fact = d.fact as string;
  const period = d.period ?? 'month';
  const end = periodBounds(period, now, tz).end.getTime();
  const todayStart = periodBounds('day', now, tz).start.getTime();
  const daysLeft = Math.round((end - todayStart) / DAY_MS);
  const lastDays = Number.parseInt(d.window, 10);
  const total = F[period]?.[fact] ?? 0;
  const recent = F[d.window]?.[fact] ?? 0;
  const share = total > 0 ? (100 * recent) / total : 0;
  const inLastDays = daysLeft <= lastDays;
  const fired = inLastDays && share > d.above;
  return finding(d, {
    fired,
    value: share,
    history,
    daysLeft,
    text: () =>
      `period_end_burst: ${fmt(recent)} of ${fmt(total)} ${fact} this ${period} in the last ${d.window} = ${fmt(share)}% ${fired ? '>' : inLastDays ? '≤' : 'vs'} ${d.above}%, ${daysLeft} day${daysLeft === 1 ? '' : 's'} left${inLastDays ? '' : ` (weighed in the last ${lastDays})`}`,
  });
}

/** What a detector finds for one subject's facts at `now`. */
export function runDetector(d: IrDetector, F: Facts, now: number, tz: string): DetectorFinding {
  switch (d.detector) {
    case 'deviation':
      return deviation(d, F);
    case 'task_splitting':
      return taskSplitting(d, F);
    case 'retry_loop':
      return retryLoop(d, F);
    case 'period_end_burst':
      return periodEndBurst(d, F, now, tz);
  }
}
