// The org evaluation cache. Evaluating 20,000 people means summing a quarter of rollups:
// seconds, not milliseconds. Its result only changes when (a) the policy changes, (b) the
// data changes, or (c) the clock crosses a local day (rollups are daily; trailing `Nd`
// windows move at midnight). So it is cached per (policy hash, local day, watermark),
// where the watermark (UsageReader.watermark) moves with every committed change. Windows
// finer than a day (`12h`) key on the minute instead. Concurrent misses share one load.
// Boards evaluations given the watermark's parts (DataMarks) key on the months they read
// and the directory only: ingest into this month leaves a past window's evaluation valid.
//
// Clock-exact parts (forecasts, elapsed fractions) are recomputed by callers from the
// cached input with `evaluateAt`, which re-runs only the subjects they need.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type { EvaluateResult, SubjectInput } from '../policy/evaluate/types.ts';
import { parseWindowKey, windowKeyMinutes } from '../policy/windows.ts';
import type { Evaluation } from './evaluation.ts';
import { boardNeeds, collectOrg, collectTeamDays, factWindows, merge, needsOf } from './facts.ts';
import {
  type DataMarks,
  DIRECTORY_PERIOD,
  type Directory,
  marksOver,
  type UsageReader,
} from './ports.ts';
import { addDays, localDate } from './usage.ts';

/** The part of the clock an org evaluation depends on, for this rule set. */
export function clockStamp(ruleSet: RuleSet, now: Date): string {
  const tz = ruleSet.ir.timezone;
  const subDay = Object.values(ruleSet.required).some((req) =>
    [...req.keys()].some((key) => {
      const minutes = windowKeyMinutes(parseWindowKey(key).base);
      return minutes !== null && minutes % 1440 !== 0;
    }),
  );
  return subDay ? now.toISOString().slice(0, 16) : localDate(now, tz);
}

/**
 * What an evaluation is for. `boards` reads only the facts leaderboards use (other facts
 * are 0, so tiers, quotas and budgets in it mean nothing): a much narrower scan. `all`
 * reads everything. `team-days:k` holds team subjects only, their board facts made of
 * team-days with at least k people (team-days.ts): team boards below governance.
 */
export type Purpose = 'all' | 'boards' | TeamDayPurpose;
export type TeamDayPurpose = `team-days:${number}`;

/** The purpose of team boards over team-days of at least `floor` people. */
export function teamDayPurpose(floor: number): TeamDayPurpose {
  return `team-days:${floor}`;
}

/**
 * What a cache lookup is keyed on: the whole watermark, or (boards purposes) the watermark
 * with its parts per period, of which only the months read and the directory count.
 */
export type Watermark = string | DataMarks;

/**
 * The months of data ('YYYY-MM', inclusive) an evaluation for `purpose` at `now` reads, or
 * null when it reads none. Sub-day windows read raw events by instant: a day either side
 * covers whatever local day their rollups carry.
 */
export function monthsRead(
  ruleSet: RuleSet,
  now: Date,
  purpose: Purpose,
): { from: string; to: string } | null {
  const needs = purpose === 'all' ? needsOf([ruleSet]) : boardNeeds(ruleSet);
  const tz = ruleSet.ir.timezone;
  let from: string | null = null;
  let to: string | null = null;
  for (const w of factWindows(merge(needs.person, needs.team, needs.org), now, tz)) {
    const [first, last] =
      w.kind === 'days'
        ? [w.from, addDays(w.to, -1)]
        : [
            localDate(w.start.getTime() - 86_400_000, tz),
            localDate(w.end.getTime() + 86_400_000, tz),
          ];
    if (from === null || first < from) from = first;
    if (to === null || last > to) to = last;
  }
  return from !== null && to !== null ? { from: from.slice(0, 7), to: to.slice(0, 7) } : null;
}

/**
 * The version of the directory a lookup knows: the directory's own count when the
 * watermark has its parts, else the whole watermark (which moves with the directory too).
 */
function directoryVersion(keyed: Keyed): string {
  return keyed.periods ? `d${keyed.periods.get(DIRECTORY_PERIOD) ?? 0n}` : `w${keyed.total}`;
}

function floorOf(purpose: Purpose): number | null {
  return purpose.startsWith('team-days:') ? Number(purpose.slice('team-days:'.length)) : null;
}

export type CacheStats = {
  hits: number;
  misses: number;
  stale: number;
  /** evaluations held (finished or under way) */
  size: number;
  /** estimated bytes of the finished evaluations held (see `estimatedBytes`) */
  bytes: number;
};

/** An evaluation and how fresh it is. */
export type Freshness = {
  evaluation: Evaluation;
  /** true when newer data exists and a fresh evaluation is being computed */
  stale: boolean;
  /**
   * the (whole) watermark of the data the evaluation stands for: the caller's when nothing
   * it reads changed since it was evaluated, else the one it was evaluated at
   */
  watermark: string;
};

/** Loads slower than this may be served stale while they are recomputed (see `current`). */
export const DEFAULT_STALE_AFTER_MS = 1_000;

/**
 * After a load served stale finishes, the next one for the same base waits this many times
 * its duration: under sustained ingest with boards polled, loads otherwise ran back to back,
 * each allocating a whole organisation's input, which kept a core busy beside ingest and
 * held the server's memory near its peak.
 */
export const DEFAULT_REST_FACTOR = 2;

/**
 * Heap bytes a cached evaluation holds per subject, measured on the default policy at
 * 20,000 people (heap after GC, before and after one evaluation; docs/scale.md): a
 * boards-only one (the compact entries, the board facts, the directory) about 1 KB, a whole
 * one (every fact, tier, quota, budget and explanation) about 3.9 KB.
 */
export const BYTES_PER_SUBJECT: Record<'all' | 'boards', number> = { boards: 1_000, all: 3_900 };

/** What finished evaluations may hold by default: 100 MB (five boards evaluations of 20,000). */
export const DEFAULT_MAX_BYTES = 100_000_000;

/** The estimated heap bytes of an evaluation held for `purpose`. */
export function estimatedBytes(evaluation: Evaluation, purpose: Purpose): number {
  return (
    evaluation.result.subjects.length * BYTES_PER_SUBJECT[purpose === 'all' ? 'all' : 'boards']
  );
}

/**
 * A board needs its window's evaluation and the previous window's: the two finished ones
 * used last are kept whatever they weigh, or a large organisation would evaluate one of
 * the pair again on every request.
 */
const ALWAYS_KEPT = 2;

export type CacheOptions = {
  /** evaluations held at most (finished or under way) */
  maxEntries?: number;
  /** estimated bytes of finished evaluations held at most, beyond the two last used */
  maxBytes?: number;
  staleAfterMs?: number;
  /** a stale evaluation is loaded again at most once per this many times its last load's duration */
  restFactor?: number;
  /** told of every finished load (persisted boards: src/app/board-snapshots.ts) */
  onEvaluated?: (loaded: Loaded) => void;
};

/** A finished load, as `onEvaluated` is told of it. */
export type Loaded = {
  ruleSet: RuleSet;
  now: Date;
  /** the whole watermark it was evaluated at */
  watermark: string;
  /** what it is keyed on when keyed per period (`keyOf`), else null */
  mark: string | null;
  purpose: Purpose;
  evaluation: Evaluation;
};

/** Where a lookup lands: the entries of one (purpose, policy, clock), and the mark within. */
type Keyed = {
  base: string;
  mark: bigint;
  total: bigint;
  periodKeyed: boolean;
  /** the watermark's parts, when the lookup had them */
  periods?: ReadonlyMap<string, bigint>;
};

const maxText = (a: bigint, b: bigint) => String(a > b ? a : b);

export class OrgEvaluationCache {
  readonly #reader: UsageReader;
  readonly #max: number;
  readonly #maxBytes: number;
  #staleAfterMs: number;
  readonly #onEvaluated: ((loaded: Loaded) => void) | undefined;
  /** every evaluation held, least recently used first */
  readonly #entries = new Map<string, Promise<Evaluation>>();
  /** the entries whose load finished, with their estimated bytes */
  readonly #settled = new Map<string, { evaluation: Evaluation; bytes: number }>();
  #bytes = 0;
  /** per (purpose, policy, clock stamp): the newest load under way, its mark and whole watermark */
  readonly #loading = new Map<
    string,
    { watermark: bigint; total: bigint; loading: Promise<Evaluation> }
  >();
  /**
   * per (purpose, policy, clock stamp): the newest finished evaluation, its mark, whole
   * watermark and cost; always one of the settled entries (forgotten with it)
   */
  readonly #latest = new Map<
    string,
    { evaluation: Evaluation; watermark: bigint; total: bigint; ms: number; finishedAt: number }
  >();
  /** per base resting after its last load: the timer, and the newest lookup it loads for */
  readonly #resting = new Map<
    string,
    { timer: NodeJS.Timeout; next: { ruleSet: RuleSet; now: Date; keyed: Keyed; purpose: Purpose } }
  >();
  readonly #restFactor: number;
  /** per base keyed per period: the months its evaluations read */
  readonly #months = new Map<string, { from: string; to: string } | null>();
  /** the directory loads read last, and the version it was read at: loads share it */
  #directory: { version: string; directory: Promise<Directory> } | null = null;
  /** the loads, one after another (see `#serial`) */
  #queue: Promise<unknown> = Promise.resolve();
  #hits = 0;
  #misses = 0;
  #stale = 0;

  constructor(reader: UsageReader, options: CacheOptions = {}) {
    this.#reader = reader;
    this.#max = options.maxEntries ?? 8;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.#restFactor = options.restFactor ?? DEFAULT_REST_FACTOR;
    this.#onEvaluated = options.onEvaluated;
  }

  /**
   * How slow a load must be before `current` serves the last evaluation stale instead of
   * waiting; tests set Infinity so that what they read never depends on the machine's speed.
   */
  serveStaleAfter(ms: number): void {
    this.#staleAfterMs = ms;
  }

  /** Whether a load for this policy, clock stamp and purpose has finished (at any watermark). */
  finished(ruleSet: RuleSet, now: Date, purpose: Purpose = 'all'): boolean {
    const base = `${purpose}|${ruleSet.hash}|${clockStamp(ruleSet, now)}`;
    return this.#latest.has(base) || this.#latest.has(`${base}|p`);
  }

  /**
   * What a lookup is keyed on. The whole watermark, unless `watermark` has its parts and the
   * purpose is a boards one: then the count of changes to the months the evaluation reads
   * and to the directory (`|p` bases, never compared with whole watermarks).
   */
  keyOf(ruleSet: RuleSet, now: Date, watermark: Watermark, purpose: Purpose): Keyed {
    const base = `${purpose}|${ruleSet.hash}|${clockStamp(ruleSet, now)}`;
    if (typeof watermark === 'string') {
      const total = BigInt(watermark);
      return { base, mark: total, total, periodKeyed: false };
    }
    const total = BigInt(watermark.total);
    const { periods } = watermark;
    if (purpose === 'all') return { base, mark: total, total, periodKeyed: false, periods };
    const periodBase = `${base}|p`;
    let months = this.#months.get(periodBase);
    if (months === undefined) {
      months = monthsRead(ruleSet, now, purpose);
      if (this.#months.size >= 64) this.#months.clear();
      this.#months.set(periodBase, months);
    }
    // no month read: only the directory counts ('~' sorts after every month)
    const mark = months
      ? marksOver(watermark, months.from, months.to)
      : marksOver(watermark, '~', '');
    return { base: periodBase, mark, total, periodKeyed: true, periods };
  }

  /**
   * Like `evaluation`, but when the data moved on and evaluating it is slow (the last load
   * took at least `staleAfterMs`), the newest finished evaluation for the same policy and
   * day is returned at once, marked stale, while the fresh one is computed in the
   * background. Small organisations (fast loads) always get fresh results. Callers show
   * the staleness (boards carry `stale` and the data watermark).
   *
   * One load per (purpose, policy, day) at a time: under live ingest the watermark moves
   * with every batch, and starting a load per new watermark piled up concurrent whole-org
   * evaluations (boards at 41 requests/s with a p99 of 6.9 s during ingest). A request that
   * finds one under way is answered from the last finished evaluation, or, before there is
   * one, joins the load under way.
   */
  async current(
    ruleSet: RuleSet,
    now: Date,
    watermark: Watermark,
    purpose: Purpose = 'all',
  ): Promise<Freshness> {
    const keyed = this.keyOf(ruleSet, now, watermark, purpose);
    const { base, mark: wanted, total } = keyed;
    if (!this.#settled.has(`${base}|${wanted}`)) {
      const last = this.#latest.get(base);
      // a watermark read before a newer load finished: that load is at least as fresh
      if (last && last.watermark >= wanted) {
        this.#hits++;
        return { evaluation: last.evaluation, stale: false, watermark: maxText(last.total, total) };
      }
      const running = this.#loading.get(base);
      if (last && last.ms >= this.#staleAfterMs) {
        this.#stale++;
        if (!running) this.#refreshAfterRest(ruleSet, now, keyed, purpose, last);
        return { evaluation: last.evaluation, stale: true, watermark: String(last.total) };
      }
      if (!last && running && running.watermark !== wanted) {
        const evaluation = await running.loading;
        const stale = running.watermark < wanted;
        return {
          evaluation,
          stale,
          watermark: stale ? String(running.total) : maxText(running.total, total),
        };
      }
    }
    const evaluation = await this.#evaluate(ruleSet, now, keyed, purpose);
    return { evaluation, stale: false, watermark: String(total) };
  }

  /**
   * Starts the load of a stale evaluation once the base has rested `restFactor` times its
   * last load's duration since that load finished; until then one timer waits, and loads
   * for the newest lookup asked meanwhile.
   */
  #refreshAfterRest(
    ruleSet: RuleSet,
    now: Date,
    keyed: Keyed,
    purpose: Purpose,
    last: { ms: number; finishedAt: number },
  ): void {
    const next = { ruleSet, now, keyed, purpose };
    const resting = this.#resting.get(keyed.base);
    if (resting) {
      if (keyed.mark > resting.next.keyed.mark) resting.next = next;
      return;
    }
    const wait = last.finishedAt + this.#restFactor * last.ms - performance.now();
    if (wait <= 0) {
      this.#evaluate(ruleSet, now, keyed, purpose).catch(() => {});
      return;
    }
    // clear() and retainPolicy() clear the timer with its entry: here the entry is this one
    const timer = setTimeout(() => {
      const entry = this.#resting.get(keyed.base);
      if (!entry) return;
      this.#resting.delete(keyed.base);
      const { ruleSet: rs, now: at, keyed: newest, purpose: p } = entry.next;
      if (!this.#loading.has(newest.base)) this.#evaluate(rs, at, newest, p).catch(() => {});
    }, wait);
    timer.unref();
    this.#resting.set(keyed.base, { timer, next });
  }

  /**
   * The org evaluation for `ruleSet` at `now`, from the cache when nothing it depends on
   * changed. Pass a `watermark` read just before to save a query.
   */
  async evaluation(
    ruleSet: RuleSet,
    now: Date,
    watermark?: Watermark,
    purpose: Purpose = 'all',
  ): Promise<Evaluation> {
    const known =
      watermark ??
      (purpose !== 'all' && this.#reader.marks
        ? await this.#reader.marks()
        : await this.#reader.watermark());
    return this.#evaluate(ruleSet, now, this.keyOf(ruleSet, now, known, purpose), purpose);
  }

  #evaluate(ruleSet: RuleSet, now: Date, keyed: Keyed, purpose: Purpose): Promise<Evaluation> {
    const { base, mark, total } = keyed;
    const key = `${base}|${mark}`;
    const found = this.#entries.get(key);
    if (found) {
      this.#hits++;
      // most recently used last
      this.#entries.delete(key);
      this.#entries.set(key, found);
      return found;
    }
    this.#misses++;
    let ms = 0;
    const loading = this.#serial(async () => {
      const started = performance.now();
      try {
        return await this.#load(ruleSet, now, purpose, directoryVersion(keyed));
      } finally {
        ms = performance.now() - started;
      }
    });
    this.#entries.set(key, loading);
    const running = { watermark: mark, total, loading };
    this.#loading.set(base, running);
    const done = () => {
      if (this.#loading.get(base) === running) this.#loading.delete(base);
    };
    loading.then(
      (evaluation) => {
        done();
        // unless it was already forgotten (a newer evaluation replaced it, or it was evicted)
        if (this.#entries.get(key) !== loading) return;
        const bytes = estimatedBytes(evaluation, purpose);
        this.#settled.set(key, { evaluation, bytes });
        this.#bytes += bytes;
        const last = this.#latest.get(base);
        if (!last || last.watermark <= mark) {
          this.#latest.set(base, {
            evaluation,
            watermark: mark,
            total,
            ms,
            finishedAt: performance.now(),
          });
          this.#dropOlder(base, mark);
        }
        this.#trim();
        this.#onEvaluated?.({
          ruleSet,
          now,
          watermark: String(total),
          mark: keyed.periodKeyed ? String(mark) : null,
          purpose,
          evaluation,
        });
      },
      () => {
        done();
        if (this.#entries.get(key) === loading) this.#entries.delete(key);
      },
    );
    this.#trim();
    return loading;
  }

  /**
   * Forgets least recently used evaluations while more than `maxEntries` are held, or
   * finished ones weigh more than `maxBytes` (never the two finished ones last used). A
   * load under way is forgotten only for the count: its callers still get it, and it is
   * not kept.
   */
  #trim(): void {
    for (const key of this.#entries.keys()) {
      const over = this.#entries.size > this.#max;
      const heavy = this.#bytes > this.#maxBytes && this.#settled.size > ALWAYS_KEPT;
      if (!over && !heavy) return;
      if (over || this.#settled.has(key)) this.#forget(key);
    }
  }

  /** Forgets one entry, and the newest-finished record of its base if it is that one. */
  #forget(key: string): void {
    this.#entries.delete(key);
    const settled = this.#settled.get(key);
    if (!settled) return;
    this.#settled.delete(key);
    this.#bytes -= settled.bytes;
    const base = key.slice(0, key.lastIndexOf('|'));
    if (this.#latest.get(base)?.evaluation === settled.evaluation) this.#latest.delete(base);
  }

  /**
   * Forgets evaluations of `base` at watermarks below `mark`: the watermark only grows, so
   * nothing asks for them again (see `current`), and under live ingest they filled the
   * cache with generations of the same whole-org evaluation (10M-event database, ingest
   * with boards polled: server RSS 0.75 GB → 1.84 GB after 70 s and still growing; with
   * this, level at 1.43–1.48 GB).
   */
  #dropOlder(base: string, mark: bigint): void {
    for (const key of [...this.#entries.keys()]) {
      const cut = key.lastIndexOf('|');
      if (key.slice(0, cut) === base && BigInt(key.slice(cut + 1)) < mark) this.#forget(key);
    }
  }

  /**
   * Runs loads one at a time. A load holds the rows of its reads and its input besides the
   * result; two at once (a board's window and the previous one, or the old and the new
   * version's at an activation) were the server's memory peak. Loads of a busy cache are
   * rarely concurrent anyway (one per base at a time, and the previous window's is kept
   * under ingest): the cost is the first board after an activation, which waits for two
   * loads in turn instead of side by side.
   */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The whole directory, read once per version while it has not changed (loads share it). */
  #wholeDirectory(version: string): Promise<Directory> {
    if (this.#directory?.version === version) return this.#directory.directory;
    const directory = this.#reader.directory();
    const entry = { version, directory };
    this.#directory = entry;
    directory.catch(() => {
      if (this.#directory === entry) this.#directory = null;
    });
    return directory;
  }

  async #load(
    ruleSet: RuleSet,
    now: Date,
    purpose: Purpose,
    directoryAt: string,
  ): Promise<Evaluation> {
    // the reader, with the whole directory shared between loads of the same version
    const reader: UsageReader = Object.create(this.#reader);
    reader.directory = (scope) =>
      scope ? this.#reader.directory(scope) : this.#wholeDirectory(directoryAt);
    const floor = floorOf(purpose);
    if (floor !== null) {
      const { input, directory } = await collectTeamDays(reader, ruleSet, now, floor);
      return { result: evaluate(ruleSet, input, { only: 'boards' }), directory, input };
    }
    const { input, directory } = await collectOrg(
      reader,
      purpose === 'boards' ? boardNeeds(ruleSet) : needsOf([ruleSet]),
      now,
      ruleSet.ir.timezone,
    );
    const only = purpose === 'boards' ? 'boards' : undefined;
    return { result: evaluate(ruleSet, input, { only }), directory, input };
  }

  /**
   * Forgets the finished evaluations of every other policy (a new version was activated:
   * nothing asks for the old one's again), so they are not held while the new one's load.
   */
  retainPolicy(hash: string): void {
    for (const key of [...this.#settled.keys()]) {
      if (key.split('|')[1] !== hash) this.#forget(key);
    }
    for (const [base, { timer }] of this.#resting) {
      if (base.split('|')[1] === hash) continue;
      clearTimeout(timer);
      this.#resting.delete(base);
    }
  }

  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      stale: this.#stale,
      size: this.#entries.size,
      bytes: this.#bytes,
    };
  }

  clear(): void {
    for (const { timer } of this.#resting.values()) clearTimeout(timer);
    this.#resting.clear();
    this.#entries.clear();
    this.#settled.clear();
    this.#bytes = 0;
    this.#loading.clear();
    this.#latest.clear();
    this.#months.clear();
    this.#directory = null;
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
