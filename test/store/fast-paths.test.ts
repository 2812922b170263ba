// The import hot path's shortcuts must give exactly what the general code gives: the ISO
// timestamp parser and formatter against Date, the clean-usage validator against zod, and
// COPY text escaping against a round trip through PostgreSQL's rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CopyRows, copyField } from '../../src/store/copy.ts';
import { cleanUsage, validateRecord } from '../../src/store/ingest/native.ts';
import { nativeSchema } from '../../src/store/ingest/native-schema.ts';
import { formatTimestamp, impossibleDate, parseTimestamp } from '../../src/store/iso-time.ts';
import { numberArray, textArray } from '../../src/store/pg-array.ts';
import { picoNumeric } from '../../src/store/usage-writer.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
// 0001-01-01 to 9999-12-31
const instant = fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 });

describe('ISO timestamps', () => {
  it('format exactly as toISOString and parse back exactly as Date.parse', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const text = formatTimestamp(ms);
        expect(text).toBe(new Date(ms).toISOString());
        expect(parseTimestamp(text)).toBe(ms);
        const whole = text.replace(/\.\d{3}Z$/, 'Z');
        expect(parseTimestamp(whole)).toBe(Date.parse(whole));
      }),
      { numRuns: 5_000 },
    );
  });

  it('agree with Date.parse on near-canonical and malformed text, but refuse impossible days', () => {
    const near = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.constantFrom('', '.000', '.5', '.123', '.1234', 'x'),
        fc.constantFrom('Z', 'z', '+00:00', ''),
      )
      .map(
        ([y, mo, d, h, mi, s, frac, zone]) =>
          `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${zone}`,
      );
    fc.assert(
      fc.property(fc.oneof(near, fc.string()), (text) => {
        // Date.parse rolls 30 February over into March; a timestamp must name a real day
        expect(parseTimestamp(text)).toBe(impossibleDate(text) ? Number.NaN : Date.parse(text));
      }),
      { numRuns: 20_000 },
    );
    for (const text of ['2024-02-29T23:59:59.999Z', '2026-01-01T24:00:00Z'])
      expect(parseTimestamp(text)).toBe(Date.parse(text));
    for (const text of [
      '2026-02-30T10:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00.000Z',
      '2026-06-31 10:00',
    ])
      expect(parseTimestamp(text)).toBeNaN();
  });
});

describe('the clean-usage fast path', () => {
  const schemas = nativeSchema(NOW);
  // mostly valid values, so the fast path is taken often, with odd ones mixed in
  const often = <T, U>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) =>
    fc.oneof({ arbitrary: usual, weight: 12 }, { arbitrary: odd, weight: 1 });
  const text = often(
    fc.constantFrom('alice', 'claude-sonnet-4-5', 'p-1'),
    fc.oneof(
      fc.constantFrom(' padded ', '', 'tab\there', 'é-end', 'nul\u0000', 'in\u0000side'),
      fc.string({ maxLength: 6 }),
    ),
  );
  const optional = often(
    fc.oneof(text, fc.constant(null), fc.constant(undefined)),
    fc.oneof(fc.integer(), fc.constant('')),
  );
  const count = often(
    fc.oneof(fc.nat(), fc.constant(undefined)),
    fc.oneof(
      fc.constantFrom(
        -1,
        1.5,
        Number.MAX_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER + 2,
        -0,
        Number.NaN,
      ),
      fc.constant(null),
      fc.constant('12'),
    ),
  );
  const record = fc.record(
    {
      type: fc.constant('usage'),
      id: text,
      ts: often(
        fc
          .integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: NOW + 300_000 })
          .map((ms) => new Date(ms).toISOString()),
        fc.oneof(
          instant.map((ms) => new Date(ms).toISOString()),
          fc.constantFrom(
            '2026-11-22T12:04:59Z',
            '2026-11-22T12:05:01Z',
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
      extra: fc.anything(),
    },
    { requiredKeys: ['type', 'id', 'ts', 'person', 'model'] },
  );

  it('returns exactly what zod returns, or defers to zod', () => {
    let taken = 0;
    fc.assert(
      fc.property(record, (data) => {
        const fast = cleanUsage(data as Record<string, unknown>, NOW);
        if (fast === null) return;
        taken++;
        // now = NaN turns validateRecord's own fast path off, so this is zod's answer
        const checked = validateRecord({ ...schemas, now: Number.NaN }, data);
        expect(checked.ok).toBe(true);
        if (checked.ok) expect(fast).toStrictEqual(checked.record);
      }),
      { numRuns: 20_000 },
    );
    // the property means nothing if the fast path is never taken
    expect(taken).toBeGreaterThan(50);
  });

  it('takes a canonical row', () => {
    const row = {
      type: 'usage',
      id: 'e1',
      ts: '2026-11-22T11:00:00.250Z',
      person: 'ana@example.com',
      model: 'gpt-4o',
      input_tokens: 10,
    };
    expect(cleanUsage(row, NOW)).toMatchObject({
      ts: Date.parse(row.ts),
      requests: 1,
      project: '',
    });
  });
});

describe('COPY text', () => {
  it('escapes backslash, tab and line breaks, and writes null as \\N', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField('plain')).toBe('plain');
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
  });

  it('writes fields into a buffer byte for byte as the text would encode', () => {
    const field = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('a\\b', 'tab\t', 'é', '\r\n', 'x'.repeat(3000)),
    );
    fc.assert(
      fc.property(
        fc.array(field, { maxLength: 6 }),
        fc.array(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, -0, -5, 1.5, 1e21)), {
          maxLength: 4,
        }),
        fc.nat(40),
        (texts, numbers, capacity) => {
          // a tiny buffer, so growing is exercised too
          const rows = new CopyRows(capacity + 1);
          let expected = '';
          for (const t of texts) {
            rows.text(t);
            expected += `${copyField(t)}\t`;
          }
          for (const n of numbers) {
            rows.number(n, 'e-12');
            rows.number(n);
            expected += `${n}e-12\t${n}\t`;
          }
          rows.ascii('2026-11-22T00:00:00.000Z');
          expected += '2026-11-22T00:00:00.000Z\t';
          rows.endRow();
          expected = `${expected.slice(0, -1)}\n`;
          expect(rows.bytes().equals(Buffer.from(expected, 'utf8'))).toBe(true);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('writes timestamps into a buffer as formatTimestamp does', () => {
    // runs of nearby instants (the cached date part) and far ones
    const near = fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 });
    fc.assert(
      fc.property(instant, fc.array(near, { maxLength: 8 }), (base, steps) => {
        const rows = new CopyRows(8);
        let expected = '';
        for (const ms of [base, ...steps.map((s) => base + s)]) {
          rows.timestamp(ms);
          expected += `${formatTimestamp(ms)}\t`;
        }
        expect(rows.bytes().toString('latin1')).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it('writes pico-units as exact numeric text', () => {
    expect(picoNumeric(1_500_000_000_000)).toBe('1500000000000e-12');
    expect(picoNumeric(123456789012345678901234567890n)).toBe('123456789012345678901234567890e-12');
  });
});

describe('array literals', () => {
  it('quote and escape text so PostgreSQL reads back the same values', () => {
    expect(textArray(['a', null, 'b"c\\d', 'x,y {z}', ''])).toBe(
      '{"a",NULL,"b\\"c\\\\d","x,y {z}",""}',
    );
    expect(numberArray([1, null, 12345678901234567890n, '5e-12'])).toBe(
      '{1,NULL,12345678901234567890,5e-12}',
    );
  });
});
