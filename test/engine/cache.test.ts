// The org evaluation cache: hits while nothing changes, fresh results after a change, and
// stale-while-revalidate only when evaluating is slow. A fake reader counts its reads;
// "slow" is a threshold of 0 ms, so nothing here depends on timing.
import { describe, expect, it, vi } from 'vitest';
import { BYTES_PER_SUBJECT, OrgEvaluationCache } from '../../src/engine/cache.ts';
import { previousClock } from '../../src/engine/leaderboard.ts';
import type { DataMarks, FactSums, GroupedFactSums, UsageReader } from '../../src/engine/ports.ts';
import { NOW, tinyPolicy } from './fixture.ts';

const { ruleSet } = tinyPolicy();

function fakeReader() {
  // `gate`, when set, holds every read until it resolves: a load "under way"
  const state = {
    tokens: 1,
    reads: 0,
    directoryReads: 0,
    gate: null as Promise<void> | null,
    /** how far a read moves the (fake) clock: a load's duration */
    readMs: 0,
  };
  const reader: UsageReader = {
    async directory() {
      state.directoryReads++;
      return {
        people: [
          {
            id: 'ana',
            name: 'Ana',
            team: null,
            role: 'engineer',
            manager: null,
            optedIn: true,
            fromDirectory: true,
            attributes: {},
          },
        ],
        teams: [],
      };
    },
    async sumFacts(windows, groupings) {
      state.reads++;
      const tokens = state.tokens;
      if (state.gate) await state.gate;
      if (state.readMs > 0) vi.advanceTimersByTime(state.readMs);
      const out: GroupedFactSums = {};
      for (const g of groupings) {
        const sums: FactSums = new Map();
        for (const w of windows) {
          const values = Object.fromEntries(w.facts.map((f) => [f, f === 'tokens' ? tokens : 0]));
          sums.set(w.key, new Map([[g === 'person' ? 'ana' : 'org', values]]));
        }
        out[g] = sums;
      }
      return out;
    },
    async watermark() {
      return String(state.tokens);
    },
    async teamBudgetCosts() {
      throw new Error('the cache never re-evaluates people');
    },
    async requestSizes() {
      throw new Error('the cache never replays request limits');
    },
    async usage() {
      return [];
    },
    async teamDayFacts() {
      throw new Error('the cache reads no team-days');
    },
  };
  return { reader, state };
}

/** Holds every read from now until the returned function is called. */
function holdReads(state: { gate: Promise<void> | null }): () => void {
  let open = () => {};
  state.gate = new Promise<void>((resolve) => {
    open = () => {
      state.gate = null;
      resolve();
    };
  });
  return open;
}

const tokensOf = (f: {
  evaluation: { result: { subjects: { id: string; quota: { used: number } | null }[] } };
}) => f.evaluation.result.subjects.find((s) => s.id === 'ana')?.quota?.used;

describe('OrgEvaluationCache', () => {
  it('reads once per watermark and day, and again after a change', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader);
    expect(tokensOf(await cache.current(ruleSet, NOW, '1'))).toBe(1);
    await cache.current(ruleSet, NOW, '1');
    expect(state.reads).toBe(1);
    state.tokens = 2;
    const fresh = await cache.current(ruleSet, NOW, '2');
    expect(fresh.stale).toBe(false);
    expect(tokensOf(fresh)).toBe(2);
    expect(state.reads).toBe(2);
    // a new local day is a new evaluation even with the same data
    await cache.current(ruleSet, new Date(NOW.getTime() + 86_400_000), '2');
    expect(state.reads).toBe(3);
  });

  it('serves the last evaluation, marked stale, while a slow one is recomputed', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader, { staleAfterMs: 0, restFactor: 0 });
    await cache.current(ruleSet, NOW, '1');
    state.tokens = 2;
    const stale = await cache.current(ruleSet, NOW, '2');
    expect(stale).toMatchObject({ stale: true, watermark: '1' });
    expect(tokensOf(stale)).toBe(1);
    await cache.evaluation(ruleSet, NOW, '2'); // the refresh already under way
    const fresh = await cache.current(ruleSet, NOW, '2');
    expect(fresh).toMatchObject({ stale: false, watermark: '2' });
    expect(tokensOf(fresh)).toBe(2);
    expect(state.reads).toBe(2);
  });

  it('runs one slow refresh at a time while the data keeps moving', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader, { staleAfterMs: 0, restFactor: 0 });
    await cache.current(ruleSet, NOW, '1');
    expect(state.reads).toBe(1);
    const open = holdReads(state);
    state.tokens = 2;
    // each batch of ingest moves the watermark; only the first request starts a refresh
    for (const watermark of ['2', '3', '4', '5']) {
      const answer = await cache.current(ruleSet, NOW, watermark);
      expect(answer).toMatchObject({ stale: true, watermark: '1' });
    }
    expect(state.reads).toBe(2);
    open();
    await cache.evaluation(ruleSet, NOW, '2');
    // the refresh saw watermark 2; the data is at 5, so the next request starts one more
    const after = await cache.current(ruleSet, NOW, '5');
    expect(after).toMatchObject({ stale: true, watermark: '2' });
    expect(tokensOf(after)).toBe(2);
    expect(state.reads).toBe(3);
  });

  it('rests between the loads of a stale evaluation, then loads the newest data asked for', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { reader, state } = fakeReader();
      state.readMs = 100;
      const cache = new OrgEvaluationCache(reader, { staleAfterMs: 0, restFactor: 2 });
      await cache.current(ruleSet, NOW, '1');
      state.tokens = 2;
      // the load took 100 ms: the next one waits 200 ms after it, whatever is asked meanwhile
      expect(await cache.current(ruleSet, NOW, '2')).toMatchObject({ stale: true, watermark: '1' });
      state.tokens = 3;
      expect(await cache.current(ruleSet, NOW, '3')).toMatchObject({ stale: true, watermark: '1' });
      await vi.advanceTimersByTimeAsync(199);
      expect(state.reads).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(state.reads).toBe(2);
      // one load, for the newest watermark asked
      await cache.evaluation(ruleSet, NOW, '3');
      const fresh = await cache.current(ruleSet, NOW, '3');
      expect(fresh).toMatchObject({ stale: false, watermark: '3' });
      expect(tokensOf(fresh)).toBe(3);
      expect(state.reads).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('has requests join the first load under way instead of starting their own', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader);
    const open = holdReads(state);
    const first = cache.current(ruleSet, NOW, '1');
    const second = cache.current(ruleSet, NOW, '2');
    const third = cache.current(ruleSet, NOW, '1');
    open();
    expect(await first).toMatchObject({ stale: false, watermark: '1' });
    expect(await second).toMatchObject({ stale: true, watermark: '1' });
    expect(await third).toMatchObject({ stale: false, watermark: '1' });
    expect(state.reads).toBe(1);
  });

  it('keeps one generation per policy and day, and answers older watermarks from it', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader);
    await cache.current(ruleSet, NOW, '1');
    state.tokens = 2;
    await cache.current(ruleSet, NOW, '2');
    expect(cache.stats().size).toBe(1);
    // a request that read watermark 1 before the second load finished
    const late = await cache.current(ruleSet, NOW, '1');
    expect(late).toMatchObject({ stale: false, watermark: '2' });
    expect(tokensOf(late)).toBe(2);
    expect(state.reads).toBe(2);
  });

  it('holds finished evaluations within their byte bound, always the two last used', async () => {
    const { reader, state } = fakeReader();
    const one = BYTES_PER_SUBJECT.all; // the fake organisation has one subject
    const cache = new OrgEvaluationCache(reader, { maxBytes: 2 * one });
    const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);
    await cache.current(ruleSet, day(0), '1');
    await cache.current(ruleSet, day(1), '1');
    expect(cache.stats()).toMatchObject({ size: 2, bytes: 2 * one });
    await cache.current(ruleSet, day(0), '1'); // day 0 is now the last used
    await cache.current(ruleSet, day(2), '1');
    expect(cache.stats()).toMatchObject({ size: 2, bytes: 2 * one });
    expect(state.reads).toBe(3);
    // day 1 was forgotten with its newest-finished record: read again, not served from it
    const again = await cache.current(ruleSet, day(1), '1');
    expect(again.stale).toBe(false);
    expect(state.reads).toBe(4);
    await cache.current(ruleSet, day(2), '1');
    expect(state.reads).toBe(4);
    // a bound below one evaluation still keeps the pair a board needs
    const tight = new OrgEvaluationCache(reader, { maxBytes: 1 });
    await tight.current(ruleSet, day(0), '1');
    await tight.current(ruleSet, day(1), '1');
    await tight.current(ruleSet, day(0), '1');
    expect(tight.stats()).toMatchObject({ size: 2, bytes: 2 * one });
    expect(state.reads).toBe(6);
  });

  it('estimates a boards-only evaluation lighter than a whole one', async () => {
    const { reader } = fakeReader();
    const cache = new OrgEvaluationCache(reader);
    await cache.current(ruleSet, NOW, '1', 'boards');
    expect(cache.stats().bytes).toBe(BYTES_PER_SUBJECT.boards);
    await cache.current(ruleSet, NOW, '1', 'all');
    expect(cache.stats().bytes).toBe(BYTES_PER_SUBJECT.boards + BYTES_PER_SUBJECT.all);
    expect(BYTES_PER_SUBJECT.boards).toBeLessThan(BYTES_PER_SUBJECT.all);
  });

  describe('keyed per period (boards)', () => {
    const previous = previousClock(ruleSet, 'value', NOW);
    const marks = (total: number, periods: Record<string, number>): DataMarks => ({
      total: String(total),
      periods: new Map(Object.entries(periods).map(([p, n]) => [p, BigInt(n)])),
    });

    it('keeps a past window through changes to other months, not to its own', async () => {
      const { reader, state } = fakeReader();
      const cache = new OrgEvaluationCache(reader);
      const at1 = marks(3, { '2026-10': 1, '2026-11': 1, directory: 1 });
      const october = await cache.current(ruleSet, previous, at1, 'boards');
      await cache.current(ruleSet, NOW, at1, 'boards');
      expect(state.reads).toBe(2);
      // a change to November only
      const at2 = marks(4, { '2026-10': 1, '2026-11': 2, directory: 1 });
      const kept = await cache.current(ruleSet, previous, at2, 'boards');
      expect(kept).toEqual({ evaluation: october.evaluation, stale: false, watermark: '4' });
      await cache.evaluation(ruleSet, NOW, at2, 'boards');
      expect(state.reads).toBe(3);
      // a change to October
      const at3 = marks(5, { '2026-10': 2, '2026-11': 2, directory: 1 });
      const again = await cache.evaluation(ruleSet, previous, at3, 'boards');
      expect(again).not.toBe(october.evaluation);
      expect(state.reads).toBe(4);
      // a whole watermark (no parts) is never compared with a period mark
      await cache.evaluation(ruleSet, previous, '5', 'boards');
      expect(state.reads).toBe(5);
    });

    it('shares the directory between loads until it changes', async () => {
      const { reader, state } = fakeReader();
      const cache = new OrgEvaluationCache(reader);
      const at1 = marks(3, { '2026-10': 1, '2026-11': 1, directory: 1 });
      await Promise.all([
        cache.evaluation(ruleSet, previous, at1, 'boards'),
        cache.evaluation(ruleSet, NOW, at1, 'boards'),
      ]);
      await cache.evaluation(
        ruleSet,
        NOW,
        marks(4, { '2026-10': 1, '2026-11': 2, directory: 1 }),
        'boards',
      );
      expect(state).toMatchObject({ reads: 3, directoryReads: 1 });
      const moved = marks(5, { '2026-10': 1, '2026-11': 2, directory: 2 });
      const [past, current] = await Promise.all([
        cache.evaluation(ruleSet, previous, moved, 'boards'),
        cache.evaluation(ruleSet, NOW, moved, 'boards'),
      ]);
      expect(state).toMatchObject({ reads: 5, directoryReads: 2 });
      expect(past.directory).toBe(current.directory);
    });
  });

  it('runs one load at a time', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader);
    const open = holdReads(state);
    const first = cache.evaluation(ruleSet, NOW, '1');
    const second = cache.evaluation(ruleSet, new Date(NOW.getTime() + 86_400_000), '1');
    // let every read that may start start
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(state.reads).toBe(1);
    open();
    await Promise.all([first, second]);
    expect(state.reads).toBe(2);
  });

  it('forgets the evaluations of other policies when told which one is active', async () => {
    const { reader, state } = fakeReader();
    const cache = new OrgEvaluationCache(reader);
    await cache.current(ruleSet, NOW, '1', 'boards');
    cache.retainPolicy(ruleSet.hash);
    expect(cache.stats().size).toBe(1);
    cache.retainPolicy('another version');
    expect(cache.stats()).toMatchObject({ size: 0, bytes: 0 });
    await cache.current(ruleSet, NOW, '1', 'boards');
    expect(state.reads).toBe(2);
  });
});
