// Unpriced provider names and repricing: usage that arrived under a policy without
// `matches` is priced when a policy with patterns is activated and `repriceUsage` runs;
// rollups equal the events exactly, and a second run changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, InvalidRequestError } from '../../src/app/errors.ts';
import { listUnpricedModels, repriceUsage } from '../../src/app/pricing.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const HEAD = `policy "p" version "1"\ncurrency USD\ntimezone "UTC"\nprivacy { min_group_size 2 }\nclass standard "S"\ntier t "T" { limit 1M tokens per month }\nassign t otherwise\n`;
const EXACT = `${HEAD}model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 cache_read 0.30 cache_write 3.75 cache_write_1h 6.00 }\n`;
const MATCHING = `${HEAD}model "claude-sonnet-4-5" class standard matches "claude-sonnet-4-5-2*", "*anthropic.claude-sonnet-4-5-*" price { input 3.00 output 15.00 cache_read 0.30 cache_write 3.75 cache_write_1h 6.00 batch 50% }\n`;

const usage = (id: string, person: string, model: string, extra: Record<string, unknown> = {}) => ({
  line: 0,
  data: {
    type: 'usage',
    id,
    ts: '2026-11-20T10:00:00Z',
    person,
    model,
    input_tokens: 1_000,
    output_tokens: 100,
    ...extra,
  },
});

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
  const published = await publishPolicySource(store, { source: EXACT, activate: true });
  expect(published.kind).toBe('published');
  const rows = [
    // priced under both: 1,000 × $3 + 100 × $15 = $0.0045
    usage('a', 'ana', 'claude-sonnet-4-5'),
    // unpriced until the patterns arrive; then $0.0045 each
    usage('b', 'ana', 'claude-sonnet-4-5-20250929'),
    usage('c', 'bo', 'claude-sonnet-4-5-20250929'),
    // batch: ($0.003 + $0.0015 + 1,000 1h writes × $6 = $0.006) / 2 = $0.00525 under MATCHING;
    // unpriced under EXACT
    usage('d', 'bo', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', {
      service_tier: 'batch',
      cache_write_tokens: 1_000,
      cache_write_1h_tokens: 1_000,
    }),
    // never priced
    usage('e', 'cy', 'mystery-1'),
  ];
  const result = await ingestBatch(store, rows, { now: Date.parse('2026-11-22T00:00:00Z') });
  expect(result.totals.accepted).toBe(5);
  expect(result.totals.unpricedModels).toEqual({
    'claude-sonnet-4-5-20250929': 2,
    'us.anthropic.claude-sonnet-4-5-20250929-v1:0': 1,
    'mystery-1': 1,
  });
});
afterAll(async () => {
  await store?.destroy();
});

async function sums() {
  const [events] = await store.query<{ cost: string; unpriced: string }>(
    `select coalesce(sum(cost), 0)::text as cost, count(*) filter (where cost is null)::text as unpriced
       from usage_events`,
  );
  const [rollups] = await store.query<{ cost: string; unpriced: string; tokens: string }>(
    `select sum(cost)::text as cost, sum(unpriced_requests)::text as unpriced,
            sum(input_tokens + output_tokens + cache_write_tokens)::text as tokens
       from daily_rollups`,
  );
  const models = await store.query<{ model: string }>(
    `select distinct model from daily_rollups where model <> '' order by 1`,
  );
  return { events, rollups, models: models.map((m) => m.model) };
}

describe('unpriced provider names', () => {
  it('lists them for governance with counts, people and the declaration to add', async () => {
    const rows = await listUnpricedModels(store, { role: 'governance' }, {});
    expect(rows).toEqual([
      {
        model: 'claude-sonnet-4-5-20250929',
        events: 2,
        people: 2,
        declaration: 'add "claude-sonnet-4-5-2*" to the matches of model "claude-sonnet-4-5"',
      },
      {
        model: 'mystery-1',
        events: 1,
        people: 1,
        declaration: 'model "mystery-1" class <class> price { input <per 1M> output <per 1M> }',
      },
      {
        model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        events: 1,
        people: 1,
        declaration: 'add "*claude-sonnet-4-5-2*" to the matches of model "claude-sonnet-4-5"',
      },
    ]);
  });

  it('shows a viewer only names used by min_group_size people, without people counts', async () => {
    const rows = await listUnpricedModels(store, { role: 'viewer' }, {});
    expect(rows.map((r) => [r.model, r.people])).toEqual([['claude-sonnet-4-5-20250929', null]]);
  });

  it('refuses members and ingest keys', async () => {
    await expect(listUnpricedModels(store, { role: 'member' }, {})).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(listUnpricedModels(store, { role: 'ingest' }, {})).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });
});

describe('repriceUsage', () => {
  it('is governance work and checks its dates', async () => {
    await expect(
      repriceUsage(store, { role: 'viewer', keyId: 'k-viewer' }, {}),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      repriceUsage(
        store,
        { role: 'governance', keyId: 'k-gov' },
        { since: '2026-11-21', until: '2026-11-20' },
      ),
    ).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('prices stored usage under the newly active policy, exactly, and only once', async () => {
    const before = await sums();
    expect(before.events.cost).toBe('0.004500000000');
    expect(before.rollups.cost).toBe('0.004500000000');
    expect(before.events.unpriced).toBe('4');

    await publishPolicySource(store, { source: MATCHING, activate: true });
    const days: number[] = [];
    const first = await repriceUsage(store, { role: 'governance', keyId: 'k-gov' }, {}, (done) =>
      days.push(done),
    );
    expect(days).toEqual([0, 1]);
    // 3 × $0.0045 + $0.00525
    expect(first).toMatchObject({
      days: 1,
      events: 5,
      changed: 3,
      unpriced: 1,
      costBefore: '0.004500000000',
      costAfter: '0.018750000000',
      currency: 'USD',
    });
    const after = await sums();
    expect(after.events).toEqual({ cost: '0.018750000000', unpriced: '1' });
    // 5 events × 1,100 tokens + 1,000 cache writes
    expect(after.rollups).toEqual({ cost: '0.018750000000', unpriced: '1', tokens: '6500' });
    // matched names roll up under the declared model; the provider's name stays on the event
    expect(after.models).toEqual(['claude-sonnet-4-5', 'mystery-1']);
    const [event] = await store.query<{ model: string; provider_model: string }>(
      `select model, provider_model from usage_events where id = 'd'`,
    );
    expect(event).toEqual({
      model: 'claude-sonnet-4-5',
      provider_model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    });

    const second = await repriceUsage(store, null, { since: '2026-11-01' });
    expect(second).toMatchObject({ changed: 0, costBefore: '0.018750000000' });
    expect(await sums()).toEqual(after);

    // each run is in the audit log: who, which days, how many events changed
    const audit = await store.query<{
      actor: string | null;
      role: string;
      subject: string;
      detail: Record<string, unknown>;
    }>(
      `select actor, role, subject, detail from audit_log where action = 'usage.reprice' order by id`,
    );
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({
      actor: 'k-gov',
      role: 'governance',
      subject: 'start..end',
      detail: { daysDone: 1, days: 1, events: 5, changed: 3, costAfter: '0.018750000000' },
    });
    expect(audit[1]).toMatchObject({
      actor: null,
      role: 'local',
      subject: '2026-11-01..end',
      detail: { since: '2026-11-01', until: null, changed: 0 },
    });
  });

  it('new usage is priced at ingest under the patterns', async () => {
    const result = await ingestBatch(store, [usage('f', 'ana', 'claude-sonnet-4-5-20250929')], {
      now: Date.parse('2026-11-22T00:00:00Z'),
    });
    expect(result.totals.unpriced).toBe(0);
    const [row] = await store.query<{ cost: string; model: string }>(
      `select cost::text as cost, model from usage_events where id = 'f'`,
    );
    expect(row).toEqual({ cost: '0.004500000000', model: 'claude-sonnet-4-5' });
  });
});
