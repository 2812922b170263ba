// Shared helpers for the store tests: prices, fixture reading and database sums.
import { join } from 'node:path';
import type { PriceTable } from '../../src/policy/price.ts';
import type { Store } from '../../src/store/db.ts';
import { type Format, readBatches } from '../../src/store/ingest/read.ts';
import {
  addTotals,
  emptyTotals,
  type IngestTotals,
  ingestBatch,
  type RowResult,
} from '../../src/store/loader.ts';

export const FIXTURES = join(import.meta.dirname, '../fixtures/ingest');

/** The DESIGN.md example prices (micro-units per 1M tokens). */
export const TEST_PRICES: PriceTable = {
  currency: 'USD',
  models: {
    'claude-opus-4-1': {
      class: 'premium',
      input: 15_000_000,
      output: 75_000_000,
      cacheRead: 1_500_000,
      cacheWrite: 18_750_000,
    },
    'claude-sonnet-4-5': {
      class: 'standard',
      input: 3_000_000,
      output: 15_000_000,
      cacheRead: 300_000,
      cacheWrite: 3_750_000,
    },
    'gpt-4o-mini': {
      class: 'economy',
      input: 150_000,
      output: 600_000,
      cacheRead: 0,
      cacheWrite: 0,
    },
  },
};

export const NOW = Date.parse('2026-11-22T12:00:00Z');

export async function importFixture(
  store: Store,
  file: string,
  format: Format,
): Promise<{ totals: IngestTotals; results: RowResult[] }> {
  const totals = emptyTotals();
  const results: RowResult[] = [];
  for await (const batch of readBatches(join(FIXTURES, file), format, { batchSize: 5000 })) {
    const outcome = await ingestBatch(store, batch, {
      prices: TEST_PRICES,
      source: format,
      now: NOW,
    });
    addTotals(totals, outcome.totals);
    results.push(...outcome.results);
  }
  return { totals, results };
}

export type Sums = {
  events: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  requests: number;
  cost: string;
  unpriced: number;
};

/** Sums over the raw usage events; with `source`, only the events from that adapter. */
export async function eventSums(store: Store, source?: string): Promise<Sums> {
  const [row] = await store.query<Record<string, string>>(
    `select count(*) as events, coalesce(sum(input_tokens), 0) as input, coalesce(sum(output_tokens), 0) as output,
            coalesce(sum(cache_read_tokens), 0) as cache_read, coalesce(sum(cache_write_tokens), 0) as cache_write,
            coalesce(sum(requests), 0) as requests, coalesce(sum(cost), 0)::numeric(28, 12)::text as cost,
            count(*) filter (where cost is null) as unpriced
       from usage_events where $1::text is null or source = $1`,
    [source ?? null],
  );
  return toSums(row);
}

/** The same sums over the daily rollups. */
export async function rollupSums(store: Store): Promise<Sums> {
  const [row] = await store.query<Record<string, string>>(
    `select coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0) as all_tokens,
            coalesce(sum(input_tokens), 0) as input, coalesce(sum(output_tokens), 0) as output,
            coalesce(sum(cache_read_tokens), 0) as cache_read, coalesce(sum(cache_write_tokens), 0) as cache_write,
            coalesce(sum(requests), 0) as requests, coalesce(sum(cost), 0)::numeric(28, 12)::text as cost,
            coalesce(sum(unpriced_requests), 0) as unpriced,
            (select count(*) from usage_events) as events
       from daily_rollups`,
  );
  return toSums(row);
}

function toSums(row: Record<string, string>): Sums {
  return {
    events: Number(row.events),
    input: Number(row.input),
    output: Number(row.output),
    cacheRead: Number(row.cache_read),
    cacheWrite: Number(row.cache_write),
    requests: Number(row.requests),
    cost: row.cost,
    unpriced: Number(row.unpriced),
  };
}
