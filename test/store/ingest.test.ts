import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../src/store/loader.ts';
import { listUsagePartitions } from '../../src/store/partitions.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { eventSums, importFixture, NOW, rollupSums, TEST_PRICES } from './helpers.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.destroy();
});

describe('native JSONL ingest', () => {
  it('lands the good rows and rejects each bad one with its line and reason', async () => {
    const { totals, results } = await importFixture(store, 'native.jsonl', 'native');
    expect(totals).toMatchObject({
      rows: 25,
      accepted: 15,
      duplicates: 1,
      rejected: 9,
      unpriced: 1,
      failedChunks: 0,
    });
    expect(totals.byType).toEqual({ team: 3, person: 2, usage: 5, outcome: 3, compliance: 2 });
    expect(totals.unpricedModels).toEqual({ 'mystery-model-9': 1 });
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => [r.line, r.reason]);
    expect(rejected).toEqual([
      [18, expect.stringMatching(/^unparsable JSON/)],
      [19, 'person: is required'],
      [20, 'input_tokens: must be a non-negative integer'],
      [21, 'input_tokens: must be a non-negative integer'],
      [22, 'ts: cannot parse timestamp "yesterday"'],
      [23, 'ts: timestamp 2099-01-01T00:00:00Z is more than 5 minutes in the future'],
      [24, 'unknown type "invoice" (expected one of team, person, usage, outcome, compliance)'],
      [25, 'outcome: "great" is not one of accepted, rejected, reworked, completed'],
      [26, 'id: is required'],
    ]);
    expect(results.find((r) => r.line === 11)).toMatchObject({
      status: 'duplicate',
      id: 'u-000002',
    });
  });

  it('prices exactly at ingest and keeps the rollups equal to the raw events', async () => {
    const events = await eventSums(store);
    expect(events).toEqual({
      events: 5,
      input: 6600,
      output: 1700,
      cacheRead: 1000,
      cacheWrite: 200,
      requests: 5,
      cost: '0.038100000000',
      unpriced: 1,
    });
    expect(await rollupSums(store)).toEqual(events);
    const [facts] = await store.query<Record<string, string>>(
      `select sum(tasks) as tasks, sum(accepted) as accepted, sum(rejected) as rejected, sum(reworked) as reworked,
              sum(minutes_saved) as minutes, sum(redaction_failures) as redaction, sum(sensitive_flags) as sensitive
         from daily_rollups`,
    );
    expect(facts).toEqual({
      tasks: '3',
      accepted: '1',
      rejected: '1',
      reworked: '1',
      minutes: '15.50',
      redaction: '1',
      sensitive: '1',
    });
  });

  it('is idempotent: the same file again adds nothing', async () => {
    const before = await rollupSums(store);
    const { totals } = await importFixture(store, 'native.jsonl', 'native');
    expect(totals).toMatchObject({ accepted: 5, duplicates: 11, rejected: 9, unpriced: 0 });
    expect(totals.byType).toEqual({ team: 3, person: 2, usage: 0, outcome: 0, compliance: 0 });
    expect(await rollupSums(store)).toEqual(before);
  });

  it('routes events to monthly partitions across a month boundary', async () => {
    const rows = await store.query<{ partition: string; id: string }>(
      'select tableoid::regclass::text as partition, id from usage_events order by id',
    );
    expect(rows).toEqual([
      { partition: 'usage_events_2026_09', id: 'u-000001' },
      { partition: 'usage_events_2026_10', id: 'u-000002' },
      { partition: 'usage_events_2026_10', id: 'u-000003' },
      { partition: 'usage_events_2026_10', id: 'u-000004' },
      { partition: 'usage_events_2026_10', id: 'u-000005' },
    ]);
    const days = await store.query<{ day: string }>(
      "select distinct day::text from daily_rollups where person_id = 'ana@acme.test' and model = 'claude-sonnet-4-5' order by 1",
    );
    expect(days.map((d) => d.day)).toEqual(['2026-09-30', '2026-10-01']);
    expect((await listUsagePartitions(store)).map((p) => p.name)).toEqual([
      'usage_events_2026_09',
      'usage_events_2026_10',
    ]);
  });

  it('creates unknown people (not from the directory) and keeps the directory', async () => {
    const people = await store.query<{ id: string; team_id: string; from_directory: boolean }>(
      'select id, team_id, from_directory from people order by id',
    );
    expect(people).toEqual([
      { id: 'ana@acme.test', team_id: 'platform', from_directory: true },
      { id: 'bo@acme.test', team_id: 'platform', from_directory: true },
      { id: 'carl@acme.test', team_id: 'legal', from_directory: false },
    ]);
    const teams = await store.query('select id, parent_id, sensitivity from teams order by id');
    expect(teams).toEqual([
      { id: 'engineering', parent_id: null, sensitivity: 'normal' },
      { id: 'legal', parent_id: null, sensitivity: 'restricted' },
      { id: 'platform', parent_id: 'engineering', sensitivity: 'normal' },
    ]);
  });

  it('counts an id that comes back with another timestamp as a duplicate', async () => {
    const { results } = await ingestBatch(
      store,
      [
        {
          line: 1,
          data: {
            type: 'usage',
            id: 'u-000003',
            ts: '2026-11-02T00:00:00Z',
            person: 'bo@acme.test',
            model: 'gpt-4o-mini',
            input_tokens: 9,
          },
        },
      ],
      { prices: TEST_PRICES, now: NOW },
    );
    expect(results).toEqual([{ line: 1, status: 'duplicate', type: 'usage', id: 'u-000003' }]);
  });
});

describe('a database error mid-import', () => {
  it('rejects only the row the database refuses (the chunk is retried in halves); the rest lands', async () => {
    const local = await createTestStore();
    try {
      // a trigger that fails any insert of the id "boom", as a stand-in for any DB error
      await local.query(`create function fail_on_boom() returns trigger language plpgsql as $$
        begin if new.id = 'boom' then raise exception 'simulated failure'; end if; return new; end $$`);
      await local.query(
        'create trigger fail_on_boom before insert on usage_event_ids for each row execute function fail_on_boom()',
      );
      const rows = Array.from({ length: 30 }, (_, i) => ({
        line: i + 1,
        data: {
          type: 'usage',
          id: i === 14 ? 'boom' : `e-${i}`,
          ts: '2026-10-10T10:00:00Z',
          person: `p${i % 3}@acme.test`,
          model: 'gpt-4o-mini',
          input_tokens: 10,
        },
      }));
      const logged: string[] = [];
      const { totals, results } = await ingestBatch(local, rows, {
        prices: TEST_PRICES,
        chunkSize: 10,
        now: NOW,
        onDatabaseError: (error) => logged.push((error as Error).message),
      });
      expect(totals).toMatchObject({ accepted: 29, rejected: 1, failedChunks: 0 });
      expect(results.filter((r) => r.status === 'rejected')).toEqual([
        expect.objectContaining({ line: 15, id: 'boom' }),
      ]);
      // the database's own words go to the log, never to the caller
      expect(results[14].reason).toBe(
        'the database refused this row (SQLSTATE P0001); nothing of it was stored',
      );
      expect(logged).toEqual(['simulated failure']);
      expect(await eventSums(local)).toMatchObject({ events: 29, input: 290 });
      expect(await rollupSums(local)).toMatchObject({ events: 29, input: 290, requests: 29 });
    } finally {
      await local.destroy();
    }
  });
});

describe('text with a NUL character', () => {
  it('rejects only the rows holding one, naming the field; the rest of the chunk lands', async () => {
    const local = await createTestStore();
    try {
      const usage = (i: number, extra: Record<string, unknown> = {}) => ({
        line: i,
        data: {
          type: 'usage',
          id: `n-${i}`,
          ts: '2026-10-10T10:00:00Z',
          person: 'ana@acme.test',
          model: 'gpt-4o-mini',
          input_tokens: 10,
          ...extra,
        },
      });
      const rows = [
        usage(1),
        usage(2, { task: 'fix\u0000bug' }),
        usage(3),
        {
          line: 4,
          data: {
            type: 'person',
            person: 'bo@acme.test',
            attributes: { site: { room: 'a\u0000' } },
          },
        },
        { line: 5, data: { type: 'team', team: 'legal', name: 'Le\u0000gal' } },
        usage(6),
      ];
      const { totals, results } = await ingestBatch(local, rows, {
        prices: TEST_PRICES,
        chunkSize: 10,
        now: NOW,
      });
      expect(totals).toMatchObject({ accepted: 3, rejected: 3, failedChunks: 0 });
      const why = 'contains a NUL character (\\u0000), which cannot be stored';
      expect(results.filter((r) => r.status === 'rejected').map((r) => [r.line, r.reason])).toEqual(
        [
          [2, `task: ${why}`],
          [4, `attributes.site.room: ${why}`],
          [5, `name: ${why}`],
        ],
      );
      expect(await eventSums(local)).toMatchObject({ events: 3, input: 30 });
    } finally {
      await local.destroy();
    }
  });
});

describe('CSV without a type column', () => {
  it('reads usage rows', async () => {
    const { csvRecordToRow } = await import('../../src/store/ingest/csv.ts');
    const row = csvRecordToRow(
      { id: 'x1', ts: '2026-10-01T00:00:00Z', person: 'a', model: 'm', input_tokens: '5' },
      2,
    );
    expect(row).toEqual({
      line: 2,
      data: {
        type: 'usage',
        id: 'x1',
        ts: '2026-10-01T00:00:00Z',
        person: 'a',
        model: 'm',
        input_tokens: 5,
      },
    });
  });

  it('rejects timestamps before 2000', async () => {
    const { results } = await ingestBatch(
      store,
      [
        {
          line: 7,
          data: { type: 'usage', id: 'old', ts: '0026-10-01T00:00:00Z', person: 'a', model: 'm' },
        },
      ],
      { prices: TEST_PRICES, now: NOW },
    );
    expect(results).toEqual([
      {
        line: 7,
        status: 'rejected',
        id: 'old',
        reason: 'ts: timestamp 0026-10-01T00:00:00Z is before 2000-01-01',
      },
    ]);
  });
});

describe('text that COPY and array literals must escape', () => {
  it('stores events and rollups with the exact text, on either write path', async () => {
    const odd = [
      'quote " and \\ backslash',
      'tab\there',
      'line\nbreak\rmid',
      'NULL',
      '\\N',
      '{a,b}',
      'zé 東京 🚀',
    ];
    const rows = odd.map((text, i) => ({
      line: i + 1,
      data: {
        type: 'usage',
        id: `odd-${i}-${text}`,
        ts: '2026-11-20T10:00:00Z',
        person: `odd-person ${text}`,
        model: 'claude-sonnet-4-5',
        project: text,
        task: text,
        input_tokens: 1_000 + i,
      },
    }));
    const { totals } = await ingestBatch(store, rows, {
      prices: TEST_PRICES,
      timezone: 'UTC',
      now: NOW,
    });
    expect(totals.accepted).toBe(odd.length);
    const events = await store.query<{
      id: string;
      person_id: string;
      project: string;
      task: string;
    }>(
      "select id, person_id, project, task from usage_events where id like 'odd-%' order by input_tokens",
    );
    expect(events).toEqual(
      odd.map((text, i) => ({
        id: `odd-${i}-${text}`,
        person_id: `odd-person ${text}`,
        project: text,
        task: text,
      })),
    );
    const rollups = await store.query<{ person_id: string; project: string; input_tokens: string }>(
      "select person_id, project, input_tokens::text from daily_rollups where person_id like 'odd-person %' order by input_tokens",
    );
    expect(rollups).toEqual(
      odd.map((text, i) => ({
        person_id: `odd-person ${text}`,
        project: text,
        input_tokens: String(1_000 + i),
      })),
    );
    // sent again: every id is a duplicate, nothing is added
    const again = await ingestBatch(store, rows, {
      prices: TEST_PRICES,
      timezone: 'UTC',
      now: NOW,
    });
    expect(again.totals).toMatchObject({ accepted: 0, duplicates: odd.length });
  });
});
