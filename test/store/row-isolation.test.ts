// One bad row never sinks another (issue 15, item 1): every limit the database would
// enforce is checked per row first; a row the database still refuses is found by retrying
// its chunk in halves; a failure in a group commit stays with its own batch; and two
// copies of one id in a file resolve to the first in file order on both databases.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFiles } from '../../src/store/import.ts';
import type { IngestRow } from '../../src/store/ingest/native.ts';
import { ingestTogether, splitByShard } from '../../src/store/ingest-queue.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { eventSums, NOW, rollupSums, TEST_PRICES } from './helpers.ts';

let store: TestStore;
let dir: string;
beforeAll(async () => {
  store = await createTestStore();
  dir = mkdtempSync(join(tmpdir(), 'quotient-rows-'));
});
afterAll(async () => {
  await store?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const usage = (id: string, extra: Record<string, unknown> = {}) => ({
  type: 'usage',
  id,
  ts: '2026-10-10T10:00:00Z',
  person: 'ana@acme.test',
  model: 'gpt-4o-mini',
  input_tokens: 10,
  ...extra,
});

function deep(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = { down: value };
  return value;
}

describe('limits checked per row before the database', () => {
  it('rejects each poison row alone, naming its field; the clean rows of its chunk land', async () => {
    const poison: [Record<string, unknown>, RegExp][] = [
      [
        usage('p-project', { project: 'x'.repeat(3000) }),
        /^project: is 3000 bytes long; at most 256/,
      ],
      [usage('p-person', { person: 'é'.repeat(200) }), /^person: is 400 bytes long/],
      [usage('p-model', { model: `m${'\u{1F600}'.repeat(100)}` }), /^model: is 401 bytes/],
      [usage('p-day', { ts: '2026-02-30T10:00:00Z' }), /^ts: no such date: "2026-02-30T10:00:00Z"/],
      [usage('p-leap', { ts: '2026-02-29T10:00:00.000Z' }), /^ts: no such date/],
      [
        usage('p-surrogate', { person: 'ana\ud800@acme.test' }),
        /^person: contains a lone UTF-16 surrogate/,
      ],
      [
        usage('p-count', { input_tokens: 2e12 }),
        /^input_tokens: must be at most 1,000,000,000,000/,
      ],
      [usage('p-requests', { requests: 1e15 }), /^requests: must be at most/],
      [
        {
          type: 'outcome',
          id: 'o-big',
          ts: '2026-10-10T10:00:00Z',
          person: 'ana@acme.test',
          outcome: 'accepted',
          minutes_saved: 1e11,
        },
        /^minutes_saved: must be at most 1,000,000/,
      ],
      [
        { type: 'person', person: 'deep@acme.test', attributes: { nest: deep(50_000) } },
        /^attributes\.nest(\.down)+: nested more than 8 levels deep/,
      ],
      [
        { type: 'person', person: 'wide@acme.test', attributes: { blob: 'y'.repeat(20_000) } },
        /^attributes\.blob: is 20000 bytes long/,
      ],
      [
        {
          type: 'person',
          person: 'many@acme.test',
          attributes: Object.fromEntries(
            Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'value-text']),
          ),
        },
        /^attributes: is \d+ bytes as JSON; at most 16384/,
      ],
      [
        { type: 'team', team: 'ops', name: 'n'.repeat(2000) },
        /^name: is 2000 bytes long; at most 1024/,
      ],
      [{ type: 'team', team: 't'.repeat(300) }, /^team: is 300 bytes/],
      [usage('i'.repeat(257)), /^id: is 257 bytes/],
      [
        {
          type: 'outcome',
          id: 'o-enum',
          ts: '2026-10-10T10:00:00Z',
          person: 'ana@acme.test',
          outcome: deep(50_000),
        },
        /^outcome: an object is not one of accepted/,
      ],
    ];
    const rows: IngestRow[] = [];
    let line = 0;
    for (const [data] of poison) {
      rows.push({ line: ++line, data: usage(`clean-${line}`) });
      rows.push({ line: ++line, data });
    }
    const { totals, results } = await ingestBatch(store, rows, {
      prices: TEST_PRICES,
      now: NOW,
    });
    expect(totals).toMatchObject({
      rows: poison.length * 2,
      accepted: poison.length,
      rejected: poison.length,
      failedChunks: 0,
    });
    poison.forEach(([, reason], i) => {
      const result = results.find((r) => r.line === 2 * i + 2);
      expect(result?.status).toBe('rejected');
      expect(result?.reason).toMatch(reason);
    });
    expect(await eventSums(store)).toMatchObject({
      events: poison.length,
      input: 10 * poison.length,
    });
    expect(await rollupSums(store)).toMatchObject({
      events: poison.length,
      input: 10 * poison.length,
    });
    // nobody was created from the refused rows
    const [{ n }] = await store.query<{ n: string }>(
      `select count(*) as n from people where id like '%@acme.test' and id <> 'ana@acme.test'`,
    );
    expect(Number(n)).toBe(0);
  });
});

describe('rows the database still refuses', () => {
  it("cost only themselves, also inside a group commit of other clients' batches", async () => {
    const local = await createTestStore();
    try {
      // a stand-in for any refusal the validators cannot foresee
      await local.query(`create function refuse_poison() returns trigger language plpgsql as $$
        begin if new.id like 'poison%' then raise exception 'refused %', new.id; end if; return new; end $$`);
      await local.query(
        'create trigger refuse_poison before insert on usage_event_ids for each row execute function refuse_poison()',
      );
      const batch = (client: string, size: number, poisonAt?: number): IngestRow[] =>
        Array.from({ length: size }, (_, i) => ({
          line: i,
          data: usage(i === poisonAt ? `poison-${client}` : `${client}-${i}`, {
            person: `${client}@acme.test`,
          }),
        }));
      // four clients at once: their batches share group commits with the poisoned one
      const [a, b, c, d] = await Promise.all([
        ingestTogether(local, batch('a', 200), 'api'),
        ingestTogether(local, batch('b', 200, 117), 'api'),
        ingestTogether(local, batch('c', 200), 'api'),
        ingestTogether(local, batch('d', 200, 3), 'api'),
      ]);
      for (const clean of [a, c]) {
        expect(clean.totals).toMatchObject({
          rows: 200,
          accepted: 200,
          rejected: 0,
          failedChunks: 0,
        });
      }
      expect(b.totals).toMatchObject({ accepted: 199, rejected: 1, failedChunks: 0 });
      expect(b.results.filter((r) => r.status === 'rejected')).toEqual([
        expect.objectContaining({
          line: 117,
          id: 'poison-b',
          reason: 'the database refused this row (SQLSTATE P0001); nothing of it was stored',
        }),
      ]);
      expect(d.totals).toMatchObject({ accepted: 199, rejected: 1 });
      expect(d.results.find((r) => r.status === 'rejected')?.line).toBe(3);
      expect(await eventSums(local)).toMatchObject({ events: 798, input: 7980 });
      expect(await rollupSums(local)).toMatchObject({ events: 798, input: 7980, requests: 798 });
    } finally {
      await local.destroy();
    }
  });
});

describe('two copies of one id in a file', () => {
  it('keep the first in file order, whichever chunk commits first', async () => {
    const local = await createTestStore();
    try {
      // the chunk holding the first copy is slow: on PostgreSQL, with chunks in flight at
      // once, the later chunk's copy would otherwise be stored first and kept
      await local.query(`create function slow_first() returns trigger language plpgsql as $$
        begin if new.id = 'a-slow' then perform pg_sleep(0.5); end if; return new; end $$`);
      await local.query(
        'create trigger slow_first before insert on usage_event_ids for each row execute function slow_first()',
      );
      const lines: string[] = [];
      for (let i = 1; i <= 40; i++) {
        const id = i === 3 ? 'a-slow' : i === 5 || i === 35 ? 'twice' : `r-${i}`;
        const tokens = i === 35 ? 1000 : 1;
        lines.push(JSON.stringify(usage(id, { input_tokens: tokens })));
      }
      const file = join(dir, 'twice.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const summary = await importFiles(local, [file], {
        format: 'native',
        chunkSize: 10,
        concurrency: 4,
        prices: TEST_PRICES,
        timezone: 'UTC',
      });
      expect(summary.totals).toMatchObject({ rows: 40, accepted: 39, duplicates: 1, rejected: 0 });
      const [stored] = await local.query<{ input_tokens: string }>(
        `select input_tokens from usage_events where id = 'twice'`,
      );
      expect(Number(stored.input_tokens)).toBe(1);
      expect(await eventSums(local)).toMatchObject({ events: 39, input: 39 });
    } finally {
      await local.destroy();
    }
  });
});

describe('a batch split over the writers by person', () => {
  /** Two people whose rows the writers split apart. */
  function peopleInTwoShards(): [string, string] {
    const shardOf = (person: string) =>
      splitByShard([{ line: 0, data: usage('x', { person }) }], 2)[0].shard;
    const first = 'p0@acme.test';
    for (let i = 1; ; i++) {
      const other = `p${i}@acme.test`;
      if (shardOf(other) !== shardOf(first)) return [first, other];
    }
  }

  it("keeps a person's rows together, every copy of an id with its first copy, lines mapped back", () => {
    const [a, b] = peopleInTwoShards();
    const rows: IngestRow[] = [
      { line: 0, data: usage('r0', { person: a }) },
      { line: 1, data: usage('r1', { person: b }) },
      { line: 2, data: usage('r0', { person: b }) },
      { line: 3, data: usage('r3', { person: ` ${a} ` }) },
      { line: 4, error: 'a NUL character' },
    ];
    const parts = splitByShard(rows, 2);
    expect(parts).toHaveLength(2);
    const ofA = parts.find((p) => p.lines?.includes(0));
    const ofB = parts.find((p) => p.lines?.includes(1));
    // the second copy of r0 names b but goes with the first copy; a's padded id goes with a
    expect(ofA?.lines).toEqual(expect.arrayContaining([0, 2, 3]));
    expect(ofB?.lines).toEqual(expect.arrayContaining([1]));
    for (const part of parts)
      expect(part.rows.map((r) => r.line)).toEqual(part.rows.map((_r, i) => i));
    // one person's batch is not split at all
    expect(splitByShard(rows.slice(0, 1), 2)).toEqual([
      { shard: ofA?.shard, rows: rows.slice(0, 1), lines: null },
    ]);
    expect(splitByShard(rows, 1)).toEqual([{ shard: 0, rows, lines: null }]);
  });

  it('writes each part once, keeps the first copy of an id and answers on the batch lines', async () => {
    const local = await createTestStore();
    try {
      const [a, b] = peopleInTwoShards();
      const batch = (client: string): IngestRow[] =>
        [
          usage(`${client}-0`, { person: a }),
          usage(`${client}-twice`, { person: a, input_tokens: 1 }),
          usage(`${client}-1`, { person: b }),
          usage(`${client}-twice`, { person: b, input_tokens: 1000 }),
          usage(`${client}-bad`, { person: b, input_tokens: -1 }),
          usage(`${client}-2`, { person: b }),
        ].map((data, line) => ({ line, data }));
      const results = await Promise.all(
        ['c1', 'c2', 'c3'].map((c) => ingestTogether(local, batch(c), 'api')),
      );
      for (const [i, result] of results.entries()) {
        const client = `c${i + 1}`;
        expect(result.totals).toMatchObject({ rows: 6, accepted: 4, duplicates: 1, rejected: 1 });
        expect(result.results.map((r) => [r.line, r.status, r.id])).toEqual([
          [0, 'accepted', `${client}-0`],
          [1, 'accepted', `${client}-twice`],
          [2, 'accepted', `${client}-1`],
          [3, 'duplicate', `${client}-twice`],
          [4, 'rejected', `${client}-bad`],
          [5, 'accepted', `${client}-2`],
        ]);
      }
      // the first copy of each doubled id (1 token, a's) is the one stored and rolled up
      expect(await eventSums(local)).toMatchObject({ events: 12, input: 3 * (10 + 1 + 10 + 10) });
      expect(await rollupSums(local)).toMatchObject({ events: 12, input: 3 * 31, requests: 12 });
      const [{ n }] = await local.query<{ n: string }>(
        `select count(*) as n from usage_events where id like '%-twice' and person_id = $1`,
        [a],
      );
      expect(Number(n)).toBe(3);
    } finally {
      await local.destroy();
    }
  });
});
