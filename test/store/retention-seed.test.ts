import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingMigrations } from '../../src/store/db.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import {
  cutoffFor,
  dropUsagePartitionsBefore,
  listUsagePartitions,
} from '../../src/store/partitions.ts';
import { activePolicyVersion } from '../../src/store/policies.ts';
import { DEFAULT_POLICY_FILE, seedDemo } from '../../src/store/seed.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { eventSums, NOW, rollupSums, TEST_PRICES } from './helpers.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.destroy();
});

const usage = (id: string, ts: string) => ({
  line: 1,
  data: { type: 'usage', id, ts, person: 'old@acme.test', model: 'gpt-4o-mini', input_tokens: 100 },
});

describe('retention', () => {
  it('drops whole old partitions, keeps the rollups, and still rejects re-imports as duplicates', async () => {
    await ingestBatch(
      store,
      [usage('r-1', '2024-03-05T10:00:00Z'), usage('r-2', '2026-10-05T10:00:00Z')],
      { prices: TEST_PRICES, now: NOW },
    );
    const cutoff = cutoffFor('13mo', new Date(NOW));
    expect(cutoff.toISOString()).toBe('2025-10-22T12:00:00.000Z');
    const dropped = await dropUsagePartitionsBefore(store, cutoff);
    expect(dropped.map((p) => p.name)).toEqual(['usage_events_2024_03']);
    expect((await listUsagePartitions(store)).map((p) => p.name)).toEqual(['usage_events_2026_10']);
    expect(await eventSums(store)).toMatchObject({ events: 1, input: 100 });
    const rollups = await rollupSums(store);
    expect(rollups.input).toBe(200);
    const again = await ingestBatch(store, [usage('r-1', '2024-03-05T10:00:00Z')], {
      prices: TEST_PRICES,
      now: NOW,
    });
    expect(again.totals.duplicates).toBe(1);
  });

  it('parses durations', () => {
    const now = new Date('2026-11-22T00:00:00Z');
    expect(cutoffFor('90d', now).toISOString()).toBe('2026-08-24T00:00:00.000Z');
    expect(cutoffFor('2y', now).toISOString()).toBe('2024-11-22T00:00:00.000Z');
    expect(() => cutoffFor('13 months', now)).toThrow(/--keep expects/);
  });
});

describe('seed', () => {
  const options = {
    people: 40,
    teams: 10,
    days: 7,
    seed: 7,
    now: new Date('2026-11-22T15:00:00Z'),
  };

  it('builds the same organisation and usage from the same seed', async () => {
    const a = await createTestStore();
    const b = await createTestStore();
    try {
      const first = await seedDemo(a, options);
      const second = await seedDemo(b, options);
      expect(first.totals).toEqual(second.totals);
      expect(first.totals.byType).toMatchObject({ team: 10, person: 40 });
      expect(first.totals.byType.usage).toBeGreaterThan(100);
      expect(first.totals.rejected).toBe(0);
      expect(await eventSums(a)).toEqual(await eventSums(b));
      expect(await rollupSums(a)).toEqual(await eventSums(a));
      const restricted = await a.query<{ id: string }>(
        "select id from teams where sensitivity = 'restricted' order by id",
      );
      expect(restricted.map((t) => t.id)).toEqual(['hr', 'legal', 'security']);
      const [latest] = await a.query<{ latest: string }>(
        'select max(ts)::text as latest from usage_events',
      );
      expect(Date.parse(latest.latest)).toBeLessThanOrEqual(options.now.getTime());
      if (existsSync(DEFAULT_POLICY_FILE)) expect(await activePolicyVersion(a)).not.toBeNull();
      const skipped = await seedDemo(a, { ...options, onlyIfEmpty: true });
      expect(skipped.skipped).toMatch(/already has people/);
      expect(await pendingMigrations(a)).toEqual([]);
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });
});
