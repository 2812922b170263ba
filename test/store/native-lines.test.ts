// The native JSONL reader of `quotient import` must give what JSON.parse and the loader's
// validation give: a usage line it parses itself equals validateRecord(JSON.parse(line)),
// and its batches, line numbers and error rows equal the general line reader's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { validateRecord } from '../../src/store/ingest/native.ts';
import { parseUsageLine, readNativeBatches } from '../../src/store/ingest/native-lines.ts';
import { nativeSchema } from '../../src/store/ingest/native-schema.ts';
import { readBatches } from '../../src/store/ingest/read.ts';
import { FIXTURES } from './helpers.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const schemas = nativeSchema(NOW);

const often = <T, U>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: usual, weight: 12 }, { arbitrary: odd, weight: 1 });
const text = often(
  fc.constantFrom('alice', 'claude-sonnet-4-5', 'p-1', 'a b', 'x"y', 'mo~del'),
  fc.oneof(
    fc.constantFrom(' padded', 'padded ', '', 'tab\there', 'é-end', 'nul\u0000', 'back\\slash'),
    fc.string({ maxLength: 6 }),
  ),
);
const optional = often(
  fc.oneof(text, fc.constant(null), fc.constant(undefined)),
  fc.oneof(fc.integer(), fc.constant(''), fc.constant(true)),
);
const count = often(
  fc.oneof(fc.nat(), fc.constant(undefined), fc.constant(1_000_000_000_000)),
  fc.oneof(
    fc.constantFrom(
      -1,
      1.5,
      1e21,
      1_000_000_000_001,
      999_999_999_999_999,
      Number.MAX_SAFE_INTEGER,
      -0,
      0.0,
    ),
    fc.constant(null),
    fc.constant('12'),
  ),
);
const record = fc.record(
  {
    type: often(fc.constant('usage'), fc.constantFrom('outcome', 'Usage', null)),
    id: text,
    ts: often(
      fc
        .integer({ min: Date.parse('2000-01-01T00:00:00Z') - 5000, max: NOW + 300_005 })
        .map((ms) => new Date(ms).toISOString()),
      fc.oneof(
        fc.constantFrom(
          '2026-11-22T12:04:59Z',
          '2026-11-22T12:05:01Z',
          '2026-02-30T00:00:00Z',
          '2026-11-22 10:00:00Z',
          '2026-11-22T10:00:00.5Z',
          'yesterday',
          '1999-12-31T23:59:59Z',
        ),
        fc.integer(),
      ),
    ),
    person: text,
    team: optional,
    model: text,
    provider: optional,
    input_tokens: count,
    output_tokens: count,
    cache_read_tokens: count,
    cache_write_tokens: count,
    requests: count,
    project: optional,
    environment: often(
      fc.constantFrom('production', 'sandbox', undefined),
      fc.constantFrom('staging', null, ''),
    ),
    task: optional,
    extra: often(fc.constant(undefined), fc.anything()),
  },
  { requiredKeys: ['type', 'id', 'ts', 'person', 'model', 'extra'] },
);

/** JSON text of a record, keys in a shuffled order, sometimes with odd spacing or escapes. */
const line = fc
  .tuple(
    record,
    fc.infiniteStream(fc.nat()),
    often(fc.constant('plain'), fc.constantFrom('spaced', 'escaped')),
    fc.option(fc.nat(15), { freq: 8 }),
  )
  .map(([data, order, style, drop]) => {
    // sometimes without one key, required ones included
    const keys = Object.keys(data).filter((_, i) => i !== drop);
    const shuffled = keys
      .map((k) => [k, order.next().value as number] as const)
      .sort((a, b) => a[1] - b[1])
      .map(([k]) => k);
    const json = JSON.stringify(data, shuffled);
    if (style === 'spaced') return json.replace(':', ': ');
    if (style === 'escaped') return json.replace('a', '\\u0061');
    return json;
  });

function parseText(text: string) {
  const bytes = Buffer.from(text, 'utf8');
  return parseUsageLine(bytes, 0, bytes.length, NOW);
}

describe('the canonical usage line parser', () => {
  it('returns exactly what JSON.parse and validateRecord return, or defers to them', () => {
    let taken = 0;
    fc.assert(
      fc.property(line, (text) => {
        const fast = parseText(text);
        if (fast === null) return;
        taken++;
        const checked = validateRecord(schemas, JSON.parse(text));
        expect(checked.ok).toBe(true);
        // and zod's own answer (now = NaN turns validateRecord's fast path off)
        const zod = validateRecord({ ...schemas, now: Number.NaN }, JSON.parse(text));
        if (checked.ok && zod.ok) {
          expect(fast).toStrictEqual(checked.record);
          expect(fast).toStrictEqual(zod.record);
        }
      }),
      { numRuns: 30_000 },
    );
    expect(taken).toBeGreaterThan(2000);
  });

  it('defers on anything that is not plain canonical JSON', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const fast = parseText(text);
        if (fast === null) return;
        const checked = validateRecord(schemas, JSON.parse(text));
        expect(checked.ok && checked.record).toStrictEqual(fast);
      }),
      { numRuns: 20_000 },
    );
    const base =
      '{"type":"usage","id":"e1","ts":"2026-11-22T11:00:00.250Z","person":"ana","model":"m"}';
    expect(parseText(base)).toMatchObject({ id: 'e1', requests: 1, project: '', team: null });
    for (const odd of [
      base.replace('"id":"e1"', '"id":"e1","id":"e2"'),
      base.replace('}', ',"input_tokens":01}'),
      base.replace('}', ',"input_tokens":-0}'),
      base.replace('}', ',"input_tokens":1.0}'),
      base.replace('}', ',"input_tokens":1e3}'),
      base.replace('}', ',"input_tokens":1234567890123456}'),
      base.replace('}', ',"environment":null}'),
      base.replace('}', ',"project":""}'),
      base.replace('}', ' }'),
      ` ${base}`,
      base.replace('"e1"', '"e\u00e91"'),
      base.replace('"ts"', '"ts" '),
    ])
      expect(parseText(odd)).toBeNull();
  });
});

const dir = mkdtempSync(join(tmpdir(), 'quotient-native-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect<T>(batches: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

/** Both readers over one file: the same batches, rows and lines. */
async function expectSameAsGeneralReader(path: string, batchSize: number) {
  const general = await collect(readBatches(path, 'native', { batchSize }));
  const native = await collect(readNativeBatches(path, { batchSize }));
  expect(native.map((b) => b.rows.map((r) => r.line))).toEqual(
    general.map((b) => b.map((r) => r.line)),
  );
  native.forEach((batch, i) => {
    const checkNow = nativeSchema(batch.now);
    batch.rows.forEach((row, j) => {
      const other = general[i][j];
      if ('record' in row) {
        expect('data' in other).toBe(true);
        const checked = 'data' in other ? validateRecord(checkNow, other.data) : null;
        expect(checked).toEqual({ ok: true, record: row.record });
      } else expect(row).toEqual(other);
    });
  });
}

describe('the native line reader', () => {
  it('reads the fixture as the general reader does', async () => {
    for (const batchSize of [1, 3, 5000])
      await expectSameAsGeneralReader(join(FIXTURES, 'native.jsonl'), batchSize);
  });

  it('splits, numbers and batches any file as the general reader does', async () => {
    const piece = fc.oneof(
      { arbitrary: line, weight: 6 },
      fc.constantFrom('', '  ', '\r', '{"type":"usage"', 'not json', '\ufeff{}', '"é"', '[1]'),
    );
    const file = fc.tuple(
      fc.array(piece, { maxLength: 40 }),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(file, fc.integer({ min: 1, max: 7 }), async ([lines, eol, last], size) => {
        const path = join(dir, `f${n++}.jsonl`);
        writeFileSync(path, lines.join(eol) + (last ? eol : ''));
        await expectSameAsGeneralReader(path, size);
      }),
      { numRuns: 300 },
    );
  });

  it('joins lines across read blocks, multi-byte characters included', async () => {
    const row = (i: number) =>
      JSON.stringify({
        type: 'usage',
        id: `u-${i}`,
        ts: '2026-11-22T11:00:00Z',
        person: i % 7 === 0 ? `pé-${i}` : `p-${i % 13}`,
        model: 'gpt-4o',
        input_tokens: i,
      });
    const path = join(dir, 'big.jsonl');
    // about 2.5 MB: several 1 MB blocks, lines and characters cut at their edges
    writeFileSync(path, `${Array.from({ length: 25_000 }, (_, i) => row(i)).join('\n')}\n`);
    await expectSameAsGeneralReader(path, 5000);
  });

  it('reads a line longer than its buffer', async () => {
    const long = JSON.stringify({ type: 'person', person: 'p', name: 'n'.repeat(2_500_000) });
    const path = join(dir, 'long.jsonl');
    writeFileSync(
      path,
      `{"type":"team","team":"t"}\n${long}\r\n${long}\n{"type":"team","team":"u"}`,
    );
    await expectSameAsGeneralReader(path, 2);
  });
});
