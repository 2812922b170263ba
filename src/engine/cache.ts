// The org evaluation cache. Evaluating 20,000 people means summing a quarter of rollups:
// seconds, not milliseconds. Its result only changes when (a) the policy changes, (b) the
// data changes, or (c) the clock crosses a local day (rollups are daily; trailing `Nd`
// windows move at midnight). So it is cached per (policy hash, local day, watermark),
// where the watermark (UsageReader.watermark) moves with every committed change. Windows
// finer than a day (`12h`) key on the minute instead. Concurrent misses share one load.
//
// Clock-exact parts (forecasts, elapsed fractions) are recomputed by callers from the
// cached input with `evaluateAt`, which re-runs only the subjects they need.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type { EvaluateResult, SubjectInput } from '../policy/evaluate/types.ts';
import { windowKeyMinutes } from '../policy/windows.ts';
import type { Evaluation } from './evaluation.ts';
import { collectOrg, needsOf } from './facts.ts';
import type { UsageReader } from './ports.ts';
import { localDate } from './usage.ts';

/** The part of the clock an org evaluation depends on, for this rule set. */
export function clockStamp(ruleSet: RuleSet, now: Date): string {
  const tz = ruleSet.ir.timezone;
  const subDay = Object.values(ruleSet.required).some((req) =>
    [...req.keys()].some((key) => {
      const minutes = windowKeyMinutes(key.split('@')[0]);
      return minutes !== null && minutes % 1440 !== 0;
    }),
  );
  return subDay ? now.toISOString().slice(0, 16) : localDate(now, tz);
}

export type CacheStats = { hits: number; misses: number; size: number };

export class OrgEvaluationCache {
  readonly #reader: UsageReader;
  readonly #max: number;
  readonly #entries = new Map<string, Promise<Evaluation>>();
  #hits = 0;
  #misses = 0;

  constructor(reader: UsageReader, options: { maxEntries?: number } = {}) {
    this.#reader = reader;
    this.#max = options.maxEntries ?? 8;
  }

  /**
   * The org evaluation for `ruleSet` at `now`, from the cache when nothing it depends on
   * changed. Pass a `watermark` read just before to save a query.
   */
  async evaluation(ruleSet: RuleSet, now: Date, watermark?: string): Promise<Evaluation> {
    const mark = watermark ?? (await this.#reader.watermark());
    const key = `${ruleSet.hash}|${clockStamp(ruleSet, now)}|${mark}`;
    const found = this.#entries.get(key);
    if (found) {
      this.#hits++;
      // most recently used last
      this.#entries.delete(key);
      this.#entries.set(key, found);
      return found;
    }
    this.#misses++;
    const loading = this.#load(ruleSet, now);
    this.#entries.set(key, loading);
    loading.catch(() => this.#entries.delete(key));
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return loading;
  }

  async #load(ruleSet: RuleSet, now: Date): Promise<Evaluation> {
    const { input, directory } = await collectOrg(
      this.#reader,
      needsOf([ruleSet]),
      now,
      ruleSet.ir.timezone,
    );
    return { result: evaluate(ruleSet, input), directory, input };
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#entries.size };
  }

  clear(): void {
    this.#entries.clear();
  }
}

/**
 * Re-evaluates some subjects of a cached evaluation at an exact clock (forecasts move
 * with time even when the data does not). Facts are reused as they are.
 */
export function evaluateAt(
  ruleSet: RuleSet,
  evaluation: Evaluation,
  now: Date,
  keep: (subject: SubjectInput) => boolean,
  withOrg: boolean,
): EvaluateResult {
  const { input } = evaluation;
  return evaluate(ruleSet, {
    now,
    subjects: input.subjects.filter(keep),
    org: withOrg ? input.org : undefined,
  });
}
