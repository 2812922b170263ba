// The change watermark per period: ingest counts against the month of the rollup days it
// changes (and the directory against its own part), so a boards evaluation of a past
// window stays valid while the current month takes ingest, and is evaluated again as soon
// as its own months or the directory change. Loads are counted by wrapping the reader's
// fact read; nothing here depends on timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { readServiceFor } from '../../src/app/reads.ts';
import { previousClock } from '../../src/engine/leaderboard.ts';
import { DIRECTORY_PERIOD, marksOver } from '../../src/engine/ports.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { readDataMarks } from '../../src/store/usage-reader.ts';
import { loadTinyOrg, NOW } from '../engine/fixture.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;
let lines = 0;

async function ingest(...rows: Record<string, unknown>[]) {
  const result = await ingestBatch(
    store,
    rows.map((data) => ({ line: ++lines, data })),
  );
  expect(result.results.map((r) => r.status)).toEqual(rows.map(() => 'accepted'));
}

const outcome = (id: string, person: string, ts: string) => ({
  type: 'outcome',
  id,
  ts,
  person,
  task: id,
  outcome: 'accepted',
});

beforeAll(async () => {
  store = await createTestStore();
  await loadTinyOrg(store);
  activePolicyFor(store).setClock(() => NOW);
}, 120_000);

afterAll(async () => {
  await store?.destroy();
});

describe('the watermark per period', () => {
  it('moves the months a change touches and the directory, each with the whole watermark', async () => {
    const before = await readDataMarks(store);
    expect(before.periods.get('2026-10')).toBeGreaterThan(0n);
    expect(before.periods.get('2026-11')).toBeGreaterThan(0n);
    await ingest(outcome('pw-nov', 'ana', '2026-11-20T09:30:00Z'));
    const afterNovember = await readDataMarks(store);
    expect(BigInt(afterNovember.total)).toBe(BigInt(before.total) + 1n);
    expect(afterNovember.periods.get('2026-11')).toBe((before.periods.get('2026-11') ?? 0n) + 1n);
    expect(afterNovember.periods.get('2026-10')).toBe(before.periods.get('2026-10'));
    expect(afterNovember.periods.get(DIRECTORY_PERIOD)).toBe(before.periods.get(DIRECTORY_PERIOD));

    // one transaction over two months: each counts once
    await ingest(
      outcome('pw-oct-a', 'bo', '2026-10-05T09:00:00Z'),
      outcome('pw-nov-b', 'bo', '2026-11-19T09:00:00Z'),
    );
    const afterBoth = await readDataMarks(store);
    expect(afterBoth.periods.get('2026-10')).toBe((before.periods.get('2026-10') ?? 0n) + 1n);
    expect(afterBoth.periods.get('2026-11')).toBe((before.periods.get('2026-11') ?? 0n) + 2n);

    // a directory change that changes no row counts nowhere; one that does, for the directory
    await store.query(
      `insert into people (id, team_id) values ('ana', 'eng') on conflict do nothing`,
    );
    const unchanged = await readDataMarks(store);
    expect(unchanged.periods).toEqual(afterBoth.periods);
    await store.query(`update people set name = 'Ana B' where id = 'ana'`);
    const renamed = await readDataMarks(store);
    expect(renamed.periods.get(DIRECTORY_PERIOD)).toBe(
      (afterBoth.periods.get(DIRECTORY_PERIOD) ?? 0n) + 1n,
    );
    expect(marksOver(renamed, '2026-10', '2026-10')).toBe(
      marksOver(afterBoth, '2026-10', '2026-10') + 1n,
    );
    expect(BigInt(renamed.total)).toBeGreaterThan(BigInt(afterBoth.total));
  });

  it("keeps the previous window's boards evaluation through ingest into the current month", async () => {
    const reads = readServiceFor(store);
    const reader = reads.reader;
    const sumFacts = reader.sumFacts;
    const loads: string[] = [];
    reader.sumFacts = async (windows, ...rest) => {
      loads.push(windows.map((w) => (w.kind === 'days' ? w.from : '')).join(','));
      return sumFacts(windows, ...rest);
    };
    const { ruleSet } = await activePolicyFor(store).require();
    const previous = previousClock(ruleSet, 'value', NOW);
    const both = async () => {
      const active = await activePolicyFor(store).require();
      const marks = await reads.marks(active);
      // through `evaluation`, which waits for a fresh one (`current` may serve a slow load stale)
      const [current, past] = await Promise.all([
        reads.cache.evaluation(ruleSet, NOW, marks, 'boards'),
        reads.cache.evaluation(ruleSet, previous, marks, 'boards'),
      ]);
      return { current, past, marks, total: active.watermark };
    };
    const first = await both();
    expect(loads).toHaveLength(2);

    // ingest into November: the current window is evaluated again, October's is kept
    await ingest(outcome('pw-nov-2', 'bo', '2026-11-20T10:30:00Z'));
    const second = await both();
    expect(loads).toHaveLength(3);
    expect(second.past).toBe(first.past);
    // and is served as current, at the watermark of now
    expect(await reads.cache.current(ruleSet, previous, second.marks, 'boards')).toEqual({
      evaluation: first.past,
      stale: false,
      watermark: second.marks.total,
    });
    expect(second.current).not.toBe(first.current);
    expect(BigInt(second.total)).toBeGreaterThan(BigInt(first.total));

    // an event dated in October: October's evaluation is evaluated again and counts it;
    // November's, which reads no October day, is kept
    const facts = (e: typeof first.past) => e.input.subjects.find((s) => s.id === 'di')?.facts;
    await ingest(outcome('pw-oct-di', 'di', '2026-10-21T10:00:00Z'));
    const third = await both();
    expect(loads).toHaveLength(4);
    expect(third.current).toBe(second.current);
    expect(third.past).not.toBe(first.past);
    expect(JSON.stringify(facts(third.past))).not.toBe(JSON.stringify(facts(first.past)));

    // a directory change: both
    await store.query(`update people set role = 'analyst' where id = 'bo'`);
    const fourth = await both();
    expect(loads).toHaveLength(6);
    expect(fourth.past).not.toBe(third.past);
    expect(fourth.current).not.toBe(third.current);
    reader.sumFacts = sumFacts;
  });
});
