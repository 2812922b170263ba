// Persisted boards (docs/scale.md, Cold boards): after a boards evaluation finishes, what
// its boards show is written to the database with its watermark, so a freshly started
// server answers its first board request from it at once (marked stale when the data moved
// on) while its own evaluation runs. A snapshot keeps, per board, the ranked rows of every
// cohort, the explanations of the entries any caller can be shown (the top of each cohort
// as governance and as lower roles see it) and the directory as boards judge privacy by
// it. Ids are stored unmasked: the board is masked when read, by privacy.ts, as a cached
// one is. Writes are enabled by `quotient serve` (`persistBoards`), not by every store.
import {
  clockStamp,
  type Freshness,
  type Loaded,
  type OrgEvaluationCache,
} from '../engine/cache.ts';
import type { Evaluation } from '../engine/evaluation.ts';
import { boardView } from '../engine/leaderboard.ts';
import type { DataMarks } from '../engine/ports.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import type {
  EvaluateResult,
  Explanation,
  LeaderboardResult,
  SubjectResult,
} from '../policy/evaluate/types.ts';
import type { SubjectKind } from '../policy/ir.ts';
import { loadBoardSnapshot, saveBoardSnapshot } from '../store/board-snapshots.ts';
import type { Store } from '../store/db.ts';
import { perStore } from './per-store.ts';
import { publicBoardHiddenOf } from './privacy.ts';

/**
 * A snapshot is written at most this often per (policy, clock stamp); the last evaluation
 * of a burst is written when the interval ends, and any waiting one at shutdown.
 */
export const SNAPSHOT_EVERY_MS = 30_000;

type SnapshotBoard = {
  subject: SubjectKind;
  window: LeaderboardResult['window'];
  top: number | null;
  smallCohorts: string[];
  /** cohort → [id, score, rank] in rank order */
  cohorts: Record<string, [string, number, number][]>;
  /**
   * id → cohort, for the entries a board can show; their explanations are kept apart
   * (`SnapshotExplanations`), inline only in rows written before that
   */
  shown: Record<string, { cohort: string | null; explanation?: Explanation }>;
};

export type BoardSnapshot = {
  now: string;
  policy: EvaluateResult['policy'];
  timezone: string;
  /**
   * the count of changes to the months read and the directory it was evaluated at, when
   * keyed per period (OrgEvaluationCache.keyOf): unchanged, it is current whatever else moved
   */
  mark?: string | null;
  /** [id, team] of every person evaluated */
  people: [string, string | null][];
  /** [id, sensitivity] of every team evaluated */
  teams: [string, string][];
  boards: Record<string, SnapshotBoard>;
};

/** board → id → explanation of every shown entry: stored apart, parsed on first use. */
export type SnapshotExplanations = Record<string, Record<string, Explanation>>;

/** What the boards of an evaluation show, as plain data, and their entries' explanations. */
export function snapshotOf(
  ruleSet: RuleSet,
  evaluation: Evaluation,
): { snapshot: BoardSnapshot; explanations: SnapshotExplanations } {
  const boards: Record<string, SnapshotBoard> = {};
  const explanations: SnapshotExplanations = {};
  for (const [name, board] of Object.entries(ruleSet.ir.leaderboards)) {
    const result = evaluation.result.leaderboards[name];
    if (!result) continue;
    const shown: SnapshotBoard['shown'] = {};
    const explained: Record<string, Explanation> = {};
    for (const hidden of [null, publicBoardHiddenOf(ruleSet, board.subject)]) {
      for (const e of boardView(ruleSet, name, evaluation, null, { hidden }).entries) {
        shown[e.id] = { cohort: e.cohort };
        explained[e.id] = e.explanation;
      }
    }
    explanations[name] = explained;
    boards[name] = {
      subject: result.subject,
      window: result.window,
      top: result.top,
      smallCohorts: result.smallCohorts,
      cohorts: Object.fromEntries(
        Object.entries(result.cohorts).map(([cohort, rows]) => [
          cohort,
          rows.map((r): [string, number, number] => [r.id, r.score, r.rank]),
        ]),
      ),
      shown,
    };
  }
  const { directory, result } = evaluation;
  const snapshot: BoardSnapshot = {
    now: result.now,
    policy: result.policy,
    timezone: result.timezone,
    people: directory.people.map((p) => [p.id, p.team]),
    teams: directory.teams.map((t) => [t.id, t.sensitivity]),
    boards,
  };
  return { snapshot, explanations };
}

/** A snapshot as stored: the ranks as JSON, the explanations as text beside them. */
function persistedFormOf(ruleSet: RuleSet, evaluation: Evaluation, mark: string | null) {
  const { snapshot, explanations } = snapshotOf(ruleSet, evaluation);
  return { snapshot: { ...snapshot, mark }, explanations: JSON.stringify(explanations) };
}

/**
 * An evaluation that answers board views as the one it was taken from did: the ranked
 * rows, the shown entries' explanations and the directory. It holds nothing else (no
 * tiers, badges or standings): only board requests read it. `explanations` (the JSON
 * text stored beside the snapshot) is parsed when an explanation is first read.
 */
export function evaluationOf(snapshot: BoardSnapshot, explanations: string | null): Evaluation {
  let parsed: SnapshotExplanations | null = null;
  const explanationOf = (board: string, id: string, inline: Explanation | undefined) => {
    if (inline) return inline;
    parsed ??= explanations === null ? {} : (JSON.parse(explanations) as SnapshotExplanations);
    const found = parsed[board]?.[id];
    if (!found) throw new Error(`persisted board ${board} has no explanation for a shown entry`);
    return found;
  };
  const subjects = new Map<string, SubjectResult>();
  const leaderboards: Record<string, LeaderboardResult> = {};
  for (const [name, board] of Object.entries(snapshot.boards)) {
    const cohorts: LeaderboardResult['cohorts'] = {};
    const rankOf = new Map<string, { rank: number; score: number; size: number }>();
    for (const [cohort, rows] of Object.entries(board.cohorts)) {
      cohorts[cohort] = rows.map(([id, score, rank]) => ({ id, score, rank }));
      for (const [id, score, rank] of rows) rankOf.set(id, { rank, score, size: rows.length });
    }
    leaderboards[name] = {
      subject: board.subject,
      window: board.window,
      top: board.top,
      cohorts,
      smallCohorts: board.smallCohorts,
    };
    for (const [id, entry] of Object.entries(board.shown)) {
      const key = `${board.subject}|${id}`;
      let subject = subjects.get(key);
      if (!subject) {
        subject = {
          kind: board.subject,
          id,
          metrics: {},
          tier: null,
          quota: null,
          budgets: [],
          escalations: [],
          rules: [],
          leaderboards: {},
          badges: [],
          flags: [],
        };
        subjects.set(key, subject);
      }
      const ranked = rankOf.get(id);
      subject.leaderboards[name] = {
        eligible: true,
        reason: null,
        cohort: entry.cohort,
        score: ranked?.score ?? null,
        rank: ranked?.rank ?? null,
        cohortSize: ranked?.size ?? 0,
        inTop: ranked !== undefined && (board.top === null || ranked.rank <= board.top),
        get explanation() {
          return explanationOf(name, id, entry.explanation);
        },
      };
    }
  }
  return {
    result: {
      policy: snapshot.policy,
      now: snapshot.now,
      timezone: snapshot.timezone,
      subjects: [...subjects.values()],
      leaderboards,
      org: null,
      errors: [],
    },
    directory: {
      people: snapshot.people.map(([id, team]) => ({
        id,
        name: null,
        team,
        role: null,
        manager: null,
        optedIn: false,
        fromDirectory: false,
        attributes: {},
      })),
      teams: snapshot.teams.map(([id, sensitivity]) => ({
        id,
        name: id,
        parent: null,
        costCenter: null,
        sensitivity,
        owner: null,
        fromDirectory: false,
      })),
    },
    input: { now: new Date(snapshot.now), subjects: [] },
  };
}

export type BoardSnapshots = {
  /** Starts writing snapshots of boards evaluations (`quotient serve`); `warn` hears of failed writes. */
  enable(warn?: (error: unknown) => void): void;
  readonly enabled: boolean;
  /** The cache's hook: a finished boards evaluation, to be written. */
  evaluated(loaded: Loaded): void;
  /**
   * A boards evaluation for a board request: the cache's once it has finished one for this
   * policy and clock; before that, the persisted one (stale when the data moved on) while
   * the cache evaluates, or, with none persisted, the cache's load.
   */
  current(
    cache: OrgEvaluationCache,
    ruleSet: RuleSet,
    clock: Date,
    watermark: DataMarks,
  ): Promise<Freshness>;
  /**
   * Reads the persisted evaluations of these clocks ahead of the first board request (a
   * fresh server's start); true when every one was found.
   */
  prefetch(ruleSet: RuleSet, clocks: readonly Date[]): Promise<boolean>;
  /** Writes what waits (shutdown). */
  flush(): Promise<void>;
};

export const boardSnapshotsFor = perStore(createBoardSnapshots);

type Pending = { loaded: Loaded; timer: NodeJS.Timeout | null };

function createBoardSnapshots(store: Store): BoardSnapshots {
  let enabled = false;
  /** per key: when the last write started */
  const written = new Map<string, number>();
  /** per key: the newest evaluation not yet written */
  const pending = new Map<string, Pending>();
  const writing = new Set<Promise<void>>();
  /** per key: the persisted evaluation, parsed once, until the cache has its own */
  const read = new Map<
    string,
    Promise<{ watermark: string; mark: string | null; evaluation: Evaluation } | null>
  >();
  /** per key: the watermark of the persisted board this server read */
  const storedWatermark = new Map<string, string>();

  const keyOf = (ruleSet: RuleSet, clock: Date) => `${ruleSet.hash}|${clockStamp(ruleSet, clock)}`;

  let warn: (error: unknown) => void = () => {};

  const write = (key: string, loaded: Loaded) => {
    written.set(key, performance.now());
    const { ruleSet, now, watermark, evaluation } = loaded;
    const done = Promise.resolve()
      .then(() =>
        saveBoardSnapshot(store, {
          policyHash: ruleSet.hash,
          clockStamp: clockStamp(ruleSet, now),
          watermark,
          ...persistedFormOf(ruleSet, evaluation, loaded.mark),
        }),
      )
      // a lost snapshot costs the next fresh server one evaluation of that window
      .catch((error) => warn(error))
      .finally(() => writing.delete(done));
    writing.add(done);
  };

  /** The persisted evaluation for a policy and clock, read and parsed once; null when none. */
  const persisted = (ruleSet: RuleSet, clock: Date) => {
    const key = keyOf(ruleSet, clock);
    let saved = read.get(key);
    if (!saved) {
      saved = loadBoardSnapshot(store, ruleSet.hash, clockStamp(ruleSet, clock)).then((row) => {
        if (!row) return null;
        if (storedWatermark.size >= 64) storedWatermark.clear();
        storedWatermark.set(key, row.watermark);
        const snapshot = row.snapshot as BoardSnapshot;
        return {
          watermark: row.watermark,
          mark: snapshot.mark ?? null,
          evaluation: evaluationOf(snapshot, row.explanations),
        };
      });
      if (read.size >= 8) read.clear();
      read.set(key, saved);
      saved.catch(() => read.delete(key));
    }
    return saved.catch(() => null);
  };

  const service: BoardSnapshots = {
    enable(onWarning) {
      if (onWarning) warn = onWarning;
      if (enabled) return;
      enabled = true;
      store.beforeClose(() => service.flush());
    },
    get enabled() {
      return enabled;
    },
    evaluated(loaded) {
      if (!enabled || loaded.purpose !== 'boards') return;
      const key = keyOf(loaded.ruleSet, loaded.now);
      read.delete(key);
      // the evaluation of a persisted board at the same watermark (a restart) adds nothing
      const stored = storedWatermark.get(key);
      if (stored !== undefined && BigInt(stored) >= BigInt(loaded.watermark)) return;
      const waiting = pending.get(key);
      if (waiting) {
        // the timer writes the newest when the interval ends
        if (BigInt(loaded.watermark) >= BigInt(waiting.loaded.watermark)) waiting.loaded = loaded;
        return;
      }
      const since = performance.now() - (written.get(key) ?? Number.NEGATIVE_INFINITY);
      if (since >= SNAPSHOT_EVERY_MS) {
        write(key, loaded);
        return;
      }
      const entry: Pending = { loaded, timer: null };
      entry.timer = setTimeout(() => {
        pending.delete(key);
        write(key, entry.loaded);
      }, SNAPSHOT_EVERY_MS - since);
      entry.timer.unref();
      pending.set(key, entry);
    },
    async prefetch(ruleSet, clocks) {
      if (!enabled) return false;
      const found = await Promise.all(clocks.map((clock) => persisted(ruleSet, clock)));
      return found.every((f) => f !== null);
    },
    async current(cache, ruleSet, clock, watermark) {
      if (!enabled || cache.finished(ruleSet, clock, 'boards'))
        return cache.current(ruleSet, clock, watermark, 'boards');
      const loading = cache.current(ruleSet, clock, watermark, 'boards');
      const found = await persisted(ruleSet, clock);
      if (!found) return loading;
      loading.catch(() => {}); // its callers are those that wait for it; this one does not
      if (cache.finished(ruleSet, clock, 'boards')) {
        read.delete(keyOf(ruleSet, clock));
        return loading;
      }
      // per period when it was keyed so (a past window stays current under ingest)
      const stale =
        found.mark !== null
          ? BigInt(found.mark) < cache.keyOf(ruleSet, clock, watermark, 'boards').mark
          : BigInt(found.watermark) < BigInt(watermark.total);
      return {
        evaluation: found.evaluation,
        stale,
        watermark:
          stale || BigInt(found.watermark) > BigInt(watermark.total)
            ? found.watermark
            : watermark.total,
      };
    },
    async flush() {
      for (const [key, entry] of pending) {
        if (entry.timer) clearTimeout(entry.timer);
        pending.delete(key);
        write(key, entry.loaded);
      }
      await Promise.all([...writing]);
    },
  };
  return service;
}
