// Fuzzing the import parsers and the row validator (issue 15, item 2): no input makes them
// throw, every problem comes back as a row's reason, and a record they accept fits every
// database limit (so the database cannot refuse it for its data).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { limitProblem, MAX_KEY_BYTES } from '../../src/store/ingest/limits.ts';
import { validateRecord } from '../../src/store/ingest/native.ts';
import { readNativeBatches } from '../../src/store/ingest/native-lines.ts';
import { nativeSchema } from '../../src/store/ingest/native-schema.ts';
import { readBatches } from '../../src/store/ingest/read.ts';
import { sniffFormat } from '../../src/store/ingest/sniff.ts';
import { parseTimestamp } from '../../src/store/iso-time.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const schemas = nativeSchema(NOW);
const dir = mkdtempSync(join(tmpdir(), 'quotient-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TYPES = ['usage', 'outcome', 'compliance', 'person', 'team'];
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '\ud800',
    'a\udfff',
    '\u0000',
    'x'.repeat(MAX_KEY_BYTES + 1),
    'é'.repeat(129),
    ' ',
    '',
  ),
  fc.constantFrom('2026-02-30T10:00:00Z', '2026-10-10T10:00:00Z', '2026-13-01T00:00:00Z'),
);
const hostileValue = fc.oneof(
  hostileText,
  fc.anything({ maxDepth: 4 }),
  fc.constantFrom(1e12, 1e12 + 1, -1, 1.5, Number.MAX_SAFE_INTEGER, 1e300),
);
/** records shaped like the native ones, fields often right and often hostile */
const nativeLike = fc
  .tuple(
    fc.constantFrom(...TYPES),
    fc.dictionary(
      fc.constantFrom(
        'id',
        'ts',
        'person',
        'team',
        'model',
        'project',
        'task',
        'name',
        'input_tokens',
        'requests',
        'minutes_saved',
        'outcome',
        'flag',
        'attributes',
        'environment',
        'opted_in',
      ),
      hostileValue,
    ),
  )
  .map(([type, fields]) => ({
    type,
    id: 'x-1',
    ts: '2026-10-10T10:00:00Z',
    person: 'ana@acme.test',
    team: 'platform',
    model: 'm',
    outcome: 'accepted',
    flag: 'sensitive_data',
    ...fields,
  }));

describe('the native row validator', () => {
  it('never throws, and what it accepts fits every database limit', () => {
    fc.assert(
      fc.property(fc.oneof(nativeLike, fc.anything()), (data) => {
        const checked = validateRecord(schemas, data);
        if (checked.ok) expect(limitProblem(checked.record)).toBeNull();
        else expect(typeof checked.reason).toBe('string');
      }),
      { numRuns: 5_000 },
    );
  });

  it('accepts a calendar date exactly when it exists', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2000, max: 2100 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (year, month, day) => {
          const text = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T10:00:00Z`;
          const real = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
          expect(Number.isNaN(parseTimestamp(text))).toBe(!real);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('the file readers', () => {
  let n = 0;
  async function rowsOf(bytes: Uint8Array, format: 'native' | 'csv', ext: string) {
    const file = join(dir, `f${n++}.${ext}`);
    writeFileSync(file, bytes);
    const rows: unknown[] = [];
    if (format === 'native') {
      for await (const batch of readNativeBatches(file, { batchSize: 7 })) rows.push(...batch.rows);
    }
    for await (const batch of readBatches(file, format, { batchSize: 7 })) rows.push(...batch);
    await sniffFormat(file);
    return rows;
  }

  const lineParts = fc.oneof(
    fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '"',
      ',',
      ':',
      '\\',
      '\n',
      '\r\n',
      'null',
      '"type":"usage"',
    ),
    fc.string({ maxLength: 8 }),
  );
  const text = fc.array(lineParts, { maxLength: 60 }).map((parts) => parts.join(''));
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    text.map((t) => new TextEncoder().encode(t)),
  );

  it('turn any bytes into rows or error rows, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(bytes, async (input) => {
        await rowsOf(input, 'native', 'jsonl');
        await rowsOf(input, 'csv', 'csv');
      }),
      { numRuns: 300 },
    );
  });

  it('report CSV quotes, columns and bytes row by row', async () => {
    const cell = fc.oneof(
      fc.constantFrom('"', '""', '"a,b"', 'usage', '10', '', '\u00ff', 'x\ny'),
      fc.string({ maxLength: 5 }),
    );
    const csv = fc
      .array(fc.array(cell, { minLength: 1, maxLength: 8 }), { maxLength: 12 })
      .map(
        (rows) =>
          `type,id,ts,person,model,input_tokens\n${rows.map((r) => r.join(',')).join('\n')}`,
      );
    await fc.assert(
      fc.asyncProperty(csv, async (input) => {
        const rows = (await rowsOf(new TextEncoder().encode(input), 'csv', 'csv')) as {
          line: number;
          error?: string;
        }[];
        for (const row of rows) expect(row.line).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
