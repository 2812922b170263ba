// Realistic vendor exports (test/fixtures/exports/README.md names each source) priced
// under the shipped policies/default.policy: every token row priced, totals equal to the
// hand-computed ones, and a re-pull of a changed report bucket replacing the old values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable } from '../../src/policy/ir.ts';
import {
  restateClaudeCodeOutcomes,
  writeClaudeCodeActivity,
} from '../../src/store/claude-code-activity.ts';
import { claudeCodeActivity, claudeCodeOutcomeIds } from '../../src/store/ingest/claude-code.ts';
import { type Format, readBatches } from '../../src/store/ingest/read.ts';
import { addTotals, emptyTotals, type IngestTotals, ingestBatch } from '../../src/store/loader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { NOW } from './helpers.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/exports');
const policy = analyzePolicy(
  readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8'),
);
if (!policy.ir) throw new Error('default.policy does not compile');
const prices = priceTable(policy.ir);
const timezone = policy.ir.timezone;

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.destroy();
});

const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

async function load(file: string, format: Format): Promise<IngestTotals> {
  const totals = emptyTotals();
  for await (const batch of readBatches(join(FIXTURES, file), format, { batchSize: 5000 })) {
    const outcome = await ingestBatch(store, batch, { prices, timezone, source: format, now: NOW });
    addTotals(totals, outcome.totals);
  }
  return totals;
}

async function costOf(source: string) {
  const [events] = await store.query<{ cost: string; unpriced: string; n: string }>(
    `select coalesce(sum(cost), 0)::text as cost, count(*) filter (where cost is null)::text as unpriced,
            count(*)::text as n
       from usage_events where source = $1`,
    [source],
  );
  return events;
}

async function rollupsEqualEvents() {
  const [e] = await store.query<Record<string, string>>(
    `select sum(input_tokens)::text as input, sum(output_tokens)::text as output,
            sum(cache_read_tokens)::text as cache_read, sum(cache_write_tokens)::text as cache_write,
            coalesce(sum(cost), 0)::text as cost, sum(requests)::text as requests
       from usage_events`,
  );
  const [r] = await store.query<Record<string, string>>(
    `select sum(input_tokens)::text as input, sum(output_tokens)::text as output,
            sum(cache_read_tokens)::text as cache_read, sum(cache_write_tokens)::text as cache_write,
            sum(cost)::text as cost, sum(requests)::text as requests
       from daily_rollups where model <> ''`,
  );
  expect(r).toEqual(e);
}

describe('Anthropic usage report', () => {
  it('prices 5m and 1h cache writes, web search, the long-context window and batch', async () => {
    const totals = await load('anthropic-usage.json', 'anthropic');
    expect(totals).toMatchObject({ accepted: 3, rejected: 0, unpriced: 0 });
    // row 1: 1,000 × $3 + 4,000 × $3.75 + 2,000 × $6 + 10,000 × $0.30 + 500 × $15 = $0.0405,
    //        + 3 searches × $10 / 1,000 = $0.03                                    → $0.0705
    // row 2: context_window 200k-1M: 300,000 × $6 + 1,000 × $22.50                 → $1.8225
    // row 3: batch: (100,000 × $1 + 100,000 × $5) / 2                               → $0.30
    expect(await costOf('anthropic')).toEqual({ cost: '2.193000000000', unpriced: '0', n: '3' });
    const [row] = await store.query<Record<string, unknown>>(
      `select model, provider_model, cache_write_tokens::int as writes,
              cache_write_1h_tokens::int as writes_1h, web_search_requests::int as searches,
              service_tier, long_context
         from usage_events where source = 'anthropic' and web_search_requests > 0`,
    );
    expect(row).toEqual({
      model: 'claude-sonnet-4-5',
      provider_model: 'claude-sonnet-4-5-20250929',
      writes: 6000,
      writes_1h: 2000,
      searches: 3,
      service_tier: 'standard',
      long_context: false,
    });
  });

  it('a re-pull of the same bucket replaces the restated row, and only it', async () => {
    const totals = await load('anthropic-usage-restated.json', 'anthropic');
    expect(totals).toMatchObject({ accepted: 0, replaced: 1, duplicates: 2, rejected: 0 });
    // row 1 now: 800 output (+ $0.0045) and 4 searches (+ $0.01): $0.085
    expect(await costOf('anthropic')).toEqual({ cost: '2.207500000000', unpriced: '0', n: '3' });
    await rollupsEqualEvents();
    // the same pull again changes nothing
    const again = await load('anthropic-usage-restated.json', 'anthropic');
    expect(again).toMatchObject({ replaced: 0, duplicates: 3 });
    expect((await costOf('anthropic')).cost).toBe('2.207500000000');
  });
});

describe('OpenAI usage API', () => {
  it('prices cached input, the batch share and audio tokens', async () => {
    const totals = await load('openai-usage.json', 'openai');
    expect(totals).toMatchObject({ accepted: 3, rejected: 0, unpriced: 0 });
    // gpt-4o: 600 × $2.50 + 400 × $1.25 + 500 × $10                          → $0.007
    // gpt-4o-mini batch: (2,000 × $0.15 + 1,000 × $0.60) / 2                 → $0.00045
    // audio preview: 400 × $2.50 + 600 × $40 + 100 × $10 + 400 × $80         → $0.058
    expect(await costOf('openai')).toEqual({ cost: '0.065450000000', unpriced: '0', n: '3' });
    const [audio] = await store.query<Record<string, number>>(
      `select input_tokens::int as input, audio_input_tokens::int as audio_in,
              output_tokens::int as output, audio_output_tokens::int as audio_out
         from usage_events where source = 'openai' and audio_input_tokens > 0`,
    );
    expect(audio).toEqual({ input: 1000, audio_in: 600, output: 500, audio_out: 400 });
  });
});

describe('LiteLLM spend logs', () => {
  it('splits cache reads and writes out of prompt_tokens, skips cache hits and failures', async () => {
    const totals = await load('litellm-spend-logs.json', 'litellm');
    // 7 logs: a proxy cache hit and two failed calls are not usage
    expect(totals).toMatchObject({ rows: 4, accepted: 4, rejected: 0, unpriced: 0 });
    // a1: 1,000 × $3 + 300 × $0.30 + 200 × $3.75 + 100 × $15   → $0.00534
    // a2: 600 × $2.50 + 400 × $1.25 + 200 × $10                → $0.004
    // a6: 100 × $0.15 + 10 × $0.60                              → $0.000021
    // a7: 500 × $1 + 50 × $5 + 2 searches × $10 / 1,000         → $0.02075
    expect(await costOf('litellm')).toEqual({ cost: '0.030111000000', unpriced: '0', n: '4' });
    const rows = await store.query<Record<string, unknown>>(
      `select id, person_id, team_id, input_tokens::int as input, cache_read_tokens::int as cache_read,
              cache_write_tokens::int as cache_write
         from usage_events where source = 'litellm' order by id`,
    );
    expect(rows).toEqual([
      {
        id: 'litellm:chatcmpl-a1',
        person_id: 'ana@acme.test',
        team_id: 'platform',
        input: 1000,
        cache_read: 300,
        cache_write: 200,
      },
      {
        id: 'litellm:chatcmpl-a2',
        person_id: 'bo@acme.test',
        team_id: 'platform',
        input: 600,
        cache_read: 400,
        cache_write: 0,
      },
      // a team's service key with no user: the key, never the app's end_user
      {
        id: 'litellm:chatcmpl-a6',
        person_id: 'key:support-bot-key',
        team_id: 'support',
        input: 100,
        cache_read: 0,
        cache_write: 0,
      },
      {
        id: 'litellm:chatcmpl-a7',
        person_id: 'cy@acme.test',
        team_id: null,
        input: 500,
        cache_read: 0,
        cache_write: 0,
      },
    ]);
  });
});

describe('Claude Code analytics', () => {
  it('counts subscription seats at no API cost and prices API actors', async () => {
    const totals = await load('claude-code.json', 'claude-code');
    // 2 usage rows + 3 outcome rows (2 accepted, 1 rejected edits)
    expect(totals).toMatchObject({ accepted: 5, rejected: 0, unpriced: 0 });
    // ana (subscription): $0; ci-bot (api): 1,000 × $1 + 100 × $5 = $0.0015
    expect(await costOf('claude-code')).toEqual({ cost: '0.001500000000', unpriced: '0', n: '2' });
  });

  it('a re-pull restates tokens and adds the new outcomes', async () => {
    const totals = await load('claude-code-restated.json', 'claude-code');
    // both usage rows changed; the third accepted edit is new; 3 outcomes already stored
    expect(totals).toMatchObject({ replaced: 2, accepted: 1, duplicates: 3 });
    // ci-bot: 1,000 × $1 + 300 × $5 = $0.0025; ana still $0
    expect(await costOf('claude-code')).toEqual({ cost: '0.002500000000', unpriced: '0', n: '2' });
    const [ana] = await store.query<Record<string, string>>(
      `select sum(output_tokens) filter (where project = 'claude-code')::text as output,
              sum(accepted)::text as accepted,
              sum(rejected)::text as rejected
         from daily_rollups where person_id = 'ana@acme.test' and day = '2026-11-10'`,
    );
    expect(ana).toEqual({ output: '200', accepted: '3', rejected: '1' });
    await rollupsEqualEvents();
  });

  it('a re-pull with fewer tool actions removes the outcomes the day no longer has', async () => {
    const lower = fixture('claude-code-restated.json');
    lower.data[0].tool_actions.edit_tool = { accepted: 1, rejected: 0 };
    const removed = await restateClaudeCodeOutcomes(store, claudeCodeOutcomeIds(lower), timezone);
    // accepted 3 → 1 and rejected 1 → 0: three outcome events go
    expect(removed).toBe(3);
    const [ana] = await store.query<Record<string, string>>(
      `select sum(accepted)::text as accepted, sum(rejected)::text as rejected,
              sum(tasks)::text as tasks
         from daily_rollups where person_id = 'ana@acme.test' and day = '2026-11-10'`,
    );
    expect(ana).toEqual({ accepted: '1', rejected: '0', tasks: '1' });
    const [events] = await store.query<{ n: string }>(
      "select count(*)::text as n from outcome_events where source = 'claude-code'",
    );
    expect(events.n).toBe('1');
    // the same page again removes nothing more
    expect(await restateClaudeCodeOutcomes(store, claudeCodeOutcomeIds(lower), timezone)).toBe(0);
  });

  it('keeps core_metrics per actor and day, the latest pull winning', async () => {
    const first = fixture('claude-code.json');
    expect(await writeClaudeCodeActivity(store, claudeCodeActivity(first))).toBe(2);
    await writeClaudeCodeActivity(store, claudeCodeActivity(fixture('claude-code-restated.json')));
    const rows = await store.query<Record<string, unknown>>(
      `select to_char(day, 'YYYY-MM-DD') as day, person_id, sessions, lines_added, lines_removed,
              commits, pull_requests, customer_type
         from claude_code_activity order by person_id`,
    );
    expect(rows).toEqual([
      {
        day: '2026-11-10',
        person_id: 'ana@acme.test',
        sessions: 4,
        lines_added: 120,
        lines_removed: 30,
        commits: 3,
        pull_requests: 1,
        customer_type: 'subscription',
      },
      {
        day: '2026-11-10',
        person_id: 'ci-bot',
        sessions: 1,
        lines_added: 10,
        lines_removed: 2,
        commits: 1,
        pull_requests: 0,
        customer_type: 'api',
      },
    ]);
  });
});
