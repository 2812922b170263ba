// Impact replay prices each version's usage with that version's full price model: `matches`
// patterns, 1-hour cache writes, web search calls, batch share, long-context tiers and
// audio rates. Every figure below is computed by hand from the two policies.
// Runs on the embedded database, or on DATABASE_URL in a fresh database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImpactReport, impactReplay } from '../../src/engine/impact.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable, type RuleSetIR } from '../../src/policy/ir.ts';
import { storeCostReader } from '../../src/store/impact-costs.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { ir } from './fixture.ts';

const A = `policy "prices" version "A"
currency USD
timezone "UTC"
class standard "General"
model "claude-sonnet-4-5" class standard
  matches "claude-sonnet-4-5-2*"
  price {
    input 3.00  output 15.00  cache_read 0.30  cache_write 3.75  cache_write_1h 6.00
    web_search 10.00 per 1k
    batch 50%
    above 200k input { input 6.00  output 22.50  cache_read 0.60  cache_write 7.50  cache_write_1h 12.00 }
  }
model "gpt-4o-audio-preview" class standard
  price { input 2.50  output 10.00  audio_input 40.00  audio_output 80.00 }
tier all "All" { limit 100M tokens per month models standard }
assign all otherwise
budget each team { 4.40 USD per month }
`;

// B: a Bedrock pattern, 1-hour writes at 8.00, web search at 20.00 per 1k, batch at 40%,
// the long-context tier from 100k input, audio input at 32.00
const B = A.replace('version "A"', 'version "B"')
  .replace(
    'matches "claude-sonnet-4-5-2*"',
    'matches "claude-sonnet-4-5-2*", "*anthropic.claude-sonnet-4-5-*"',
  )
  .replace('cache_write_1h 6.00\n', 'cache_write_1h 8.00\n')
  .replace('web_search 10.00', 'web_search 20.00')
  .replace('batch 50%', 'batch 40%')
  .replace('above 200k input', 'above 100k input')
  .replace('audio_input 40.00', 'audio_input 32.00');

const SONNET = 'claude-sonnet-4-5-20250929';
const BEDROCK = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const usage = (id: string, model: string, fields: Record<string, unknown>) => ({
  type: 'usage',
  id,
  ts: '2026-10-05T10:00:00Z',
  person: 'ana',
  team: 'core',
  model,
  ...fields,
});

const ROWS = [
  { type: 'team', team: 'core', owner: 'ana' },
  { type: 'person', person: 'ana', team: 'core', role: 'engineer', opted_in: true },
  // prompt 80k: list rates in both.
  // A: 10k×3 + 2k×15 + 50k×0.30 + 15k×3.75 + 5k×6 = 0.03 + 0.03 + 0.015 + 0.05625 + 0.03,
  //    + 3 searches × 10/1000 = 0.03 → 0.19125
  // B: the same but 5k×8 = 0.04 and 3 × 20/1000 = 0.06 → 0.23125
  usage('e1', SONNET, {
    input_tokens: 10_000,
    output_tokens: 2_000,
    cache_read_tokens: 50_000,
    cache_write_tokens: 20_000,
    cache_write_1h_tokens: 5_000,
    web_search_requests: 3,
  }),
  // batch of 10 requests, 100k prompt each (not above 100k): 1M×3 + 100k×15 = 4.50;
  // A 50% → 2.25, B 40% → 1.80
  usage('e2', SONNET, {
    input_tokens: 1_000_000,
    output_tokens: 100_000,
    requests: 10,
    service_tier: 'batch',
  }),
  // one 250k prompt: the long-context tier in both: 250k×6 + 10k×22.50 = 1.725
  usage('e3', SONNET, { input_tokens: 250_000, output_tokens: 10_000 }),
  // a Bedrock name: unpriced under A (0), B's pattern prices it: 100k×3 = 0.30
  usage('e4', BEDROCK, { input_tokens: 100_000, output_tokens: 0 }),
  // audio: A 5k×2.50 + 5k×40 + 1k×10 + 1k×80 = 0.3025; B 5k×32 = 0.16 for audio in → 0.2625
  usage('e5', 'gpt-4o-audio-preview', {
    input_tokens: 10_000,
    audio_input_tokens: 5_000,
    output_tokens: 2_000,
    audio_output_tokens: 1_000,
  }),
].map((data, i) => ({ line: i + 1, data }));

const NOW = new Date('2026-11-22T12:00:00Z');

describe('impact replay under each version’s full price model', () => {
  let store: TestStore;
  let report: ImpactReport;
  const irA = ir(A);
  const irB = ir(B);

  beforeAll(async () => {
    store = await createTestStore();
    // stored under A's prices: e1–e3 as the declared model, e4 unpriced under its own name
    const result = await ingestBatch(store, ROWS, {
      prices: priceTable(irA),
      timezone: 'UTC',
      now: NOW.getTime(),
    });
    expect(result.totals.rejected ?? 0).toBe(0);
    report = await impactReplay({
      reader: usageReader(store),
      costs: storeCostReader(store),
      from: { ir: irA, label: 'A' },
      to: { ir: irB, label: 'B' },
      window: '2026-10',
      identity: (id) => ({ id, masked: false }),
      now: NOW,
    });
  }, 60_000);

  afterAll(async () => {
    await store?.destroy();
  });

  it('totals the hand-computed costs of both versions', () => {
    // A: 0.19125 + 2.25 + 1.725 + 0 + 0.3025; B: 0.23125 + 1.80 + 1.725 + 0.30 + 0.2625
    expect(report.cost?.total).toEqual({
      key: 'total',
      before: '4.468750000000',
      after: '4.318750000000',
      delta: '-0.150000000000',
    });
  });

  it('prices each stored model name, matched or not', () => {
    const byModel = Object.fromEntries(
      (report.cost?.byModel ?? []).map((m) => [m.key, [m.before, m.after]]),
    );
    expect(byModel).toEqual({
      'claude-sonnet-4-5': ['4.166250000000', '3.756250000000'],
      [BEDROCK]: ['0.000000000000', '0.300000000000'],
      'gpt-4o-audio-preview': ['0.302500000000', '0.262500000000'],
    });
  });

  it('feeds the same costs to the budgets: the team is over under A, under under B', () => {
    const team = report.budgets.flips.find((f) => f.subject.kind === 'team');
    // 4.46875 / 4.40 = 101.6%; 4.31875 / 4.40 = 98.2%
    expect(team?.before?.percent).toBe(101.6);
    expect(team?.after?.percent).toBe(98.2);
  });

  it('agrees with the costs ingest stored under A', async () => {
    const [stored] = await store.query<{ cost: string }>(
      'select sum(cost)::text as cost from usage_events',
    );
    expect(stored.cost).toBe('4.468750000000');
  });
});
