// The re-evaluation queue: every ingest batch appends the people whose rollups it changed
// (no uniqueness, so concurrent batches never wait on each other there), and the drain
// takes each person once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastDirtySeq, markDirty, takeDirtyPeople, vacuumQueues } from '../../src/store/jobs.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { NOW, TEST_PRICES } from './helpers.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.destroy();
});

const usage = (id: string, person: string) => ({
  line: 1,
  data: {
    type: 'usage',
    id,
    ts: '2026-11-20T10:00:00Z',
    person,
    model: 'gpt-4o-mini',
    input_tokens: 5,
  },
});

describe('the dirty-people queue', () => {
  it('gets a row per batch and person, and drains each person once', async () => {
    const options = { prices: TEST_PRICES, timezone: 'UTC', now: NOW };
    // concurrent batches sharing a person: on a server both append without waiting
    await Promise.all([
      ingestBatch(store, [usage('q-1', 'dq-ana'), usage('q-2', 'dq-bo')], options),
      ingestBatch(store, [usage('q-3', 'dq-ana'), usage('q-4', 'dq-cy')], options),
    ]);
    await markDirty(store, ['dq-bo']);
    const [{ rows }] = await store.query<{ rows: number }>(
      "select count(*)::int as rows from enforcement_dirty where person_id like 'dq-%'",
    );
    expect(rows).toBe(5);
    // one take gives each person once
    expect((await takeDirtyPeople(store, 100)).filter((p) => p.startsWith('dq-'))).toEqual([
      'dq-ana',
      'dq-bo',
      'dq-cy',
    ]);
    // with a limit below the number of rows, successive takes still reach everyone
    await Promise.all([
      ingestBatch(store, [usage('q-5', 'dq-ana'), usage('q-6', 'dq-bo')], options),
      ingestBatch(store, [usage('q-7', 'dq-ana'), usage('q-8', 'dq-cy')], options),
    ]);
    const taken = new Set<string>();
    for (let people = await takeDirtyPeople(store, 2); people.length > 0; ) {
      expect(new Set(people).size).toBe(people.length);
      for (const p of people) taken.add(p);
      people = await takeDirtyPeople(store, 2);
    }
    expect([...taken].filter((p) => p.startsWith('dq-')).sort()).toEqual([
      'dq-ana',
      'dq-bo',
      'dq-cy',
    ]);
    const [{ left }] = await store.query<{ left: number }>(
      'select count(*)::int as left from enforcement_dirty',
    );
    expect(left).toBe(0);
  });

  it('bounds a drain round by what was queued before it began', async () => {
    expect(await lastDirtySeq(store)).toBeNull();
    await markDirty(store, ['dq-early-1', 'dq-early-2']);
    const end = await lastDirtySeq(store);
    expect(end).not.toBeNull();
    // queued while the round runs: left for the next round
    await markDirty(store, ['dq-late', 'dq-early-1']);
    expect(await takeDirtyPeople(store, 100, end)).toEqual(['dq-early-1', 'dq-early-2']);
    expect(await takeDirtyPeople(store, 100, end)).toEqual([]);
    expect(await takeDirtyPeople(store, 100)).toEqual(['dq-early-1', 'dq-late']);
    expect(await lastDirtySeq(store)).toBeNull();
  });

  it('takes a busy person once with every row queued for them, however long the backlog', async () => {
    // queued by 60 batches before anyone else: a take of the oldest rows used to give this
    // person alone, again and again
    for (let i = 0; i < 60; i++) await markDirty(store, ['dq-busy']);
    await markDirty(store, ['dq-quiet', 'dq-busy']);
    const end = await lastDirtySeq(store);
    await markDirty(store, ['dq-busy']);
    expect(await takeDirtyPeople(store, 2, end)).toEqual(['dq-busy', 'dq-quiet']);
    // the row queued after the round's end stays for the next round
    const left = await store.query<{ person_id: string }>(
      'select person_id from enforcement_dirty',
    );
    expect(left.map((r) => r.person_id)).toEqual(['dq-busy']);
    expect(await takeDirtyPeople(store, 1)).toEqual(['dq-busy']);
    expect(await lastDirtySeq(store)).toBeNull();
  });

  it('vacuums the queues (outside a transaction, on PGlite and PostgreSQL)', async () => {
    await markDirty(store, ['dq-vacuum']);
    await takeDirtyPeople(store, 10);
    await expect(vacuumQueues(store)).resolves.toBeUndefined();
    expect(await lastDirtySeq(store)).toBeNull();
  });
});
