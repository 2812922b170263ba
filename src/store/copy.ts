// COPY FROM STDIN for the bulk loader: PostgreSQL writes COPY rows in batches (one WAL
// record and one page lock per batch), several times cheaper than INSERT … SELECT. The
// embedded PGlite cannot take COPY over its socket, so callers there use plain INSERTs.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { formatTimestamp } from './iso-time.ts';

const SPECIAL = /[\\\t\n\r]/;

/** One field in COPY's text format: `\N` for null, with backslash, tab and newlines escaped. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  if (!SPECIAL.test(value)) return value;
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
}

/** Streams `text` (rows in COPY text format, each ending in a newline) into `table`. */
export async function copyInto(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  text: string | Buffer,
): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  await pipeline(Readable.from([text]), stream);
}

/**
 * COPY text rows written straight into a byte buffer, field by field: no string per row
 * or per chunk, and no UTF-8 encoding pass afterwards. Each value is followed by a tab;
 * endRow turns the last one into the newline. Text goes through copyField's escaping.
 */
export class CopyRows {
  buffer: Buffer;
  length = 0;
  /** the UTC day whose `YYYY-MM-DDT` is in dayText */
  private day = Number.NaN;
  private readonly dayText: number[] = new Array(11).fill(0);

  constructor(capacity = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Room for `bytes` more. */
  private reserve(bytes: number): Buffer {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }

  text(value: string | null): void {
    if (value === null) {
      const b = this.reserve(3);
      b[this.length] = 92; // \N
      b[this.length + 1] = 78;
      b[this.length + 2] = 9;
      this.length += 3;
      return;
    }
    const n = value.length;
    // escaping at most doubles the UTF-16 units, and each takes at most 3 bytes of UTF-8
    const b = this.reserve(n * 6 + 1);
    let at = this.length;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 128 || c === 92 || c === 9 || c === 10 || c === 13) {
        at = this.length + b.write(copyField(value), this.length, 'utf8');
        break;
      }
      b[at++] = c;
    }
    b[at] = 9;
    this.length = at + 1;
  }

  /** An integer (or any number, through its JavaScript text), plus `suffix` (ASCII). */
  number(value: number, suffix = ''): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      this.ascii(`${value}${suffix}`);
      return;
    }
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    const b = this.reserve(digits + suffix.length + 1);
    let at = this.length + digits;
    let v = value;
    for (let i = 1; i <= digits; i++) {
      const next = Math.floor(v / 10);
      b[at - i] = 48 + (v - next * 10);
      v = next;
    }
    for (let i = 0; i < suffix.length; i++) b[at++] = suffix.charCodeAt(i);
    b[at] = 9;
    this.length = at + 1;
  }

  /** Text known to be ASCII with nothing to escape (numbers, timestamps, enum values). */
  ascii(value: string): void {
    const n = value.length;
    const b = this.reserve(n + 1);
    let at = this.length;
    for (let i = 0; i < n; i++) b[at++] = value.charCodeAt(i);
    b[at] = 9;
    this.length = at + 1;
  }

  /** The instant as formatTimestamp writes it; the date part is kept while days repeat. */
  timestamp(ms: number): void {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      const text = formatTimestamp(day * DAY_MS);
      // years 0 to 9999 only: others have a longer date part
      if (text.length !== 24) {
        this.ascii(formatTimestamp(ms));
        return;
      }
      this.day = day;
      for (let i = 0; i < 11; i++) this.dayText[i] = text.charCodeAt(i);
    }
    const b = this.reserve(25);
    let at = this.length;
    for (let i = 0; i < 11; i++) b[at++] = this.dayText[i];
    let rest = ms - day * DAY_MS;
    const hour = Math.floor(rest / 3_600_000);
    rest -= hour * 3_600_000;
    const minute = Math.floor(rest / 60_000);
    rest -= minute * 60_000;
    const second = Math.floor(rest / 1000);
    const milli = rest - second * 1000;
    at = twoDigits(b, at, hour);
    b[at++] = 58; // :
    at = twoDigits(b, at, minute);
    b[at++] = 58;
    at = twoDigits(b, at, second);
    b[at++] = 46; // .
    const hundreds = Math.floor(milli / 100);
    b[at++] = 48 + hundreds;
    at = twoDigits(b, at, milli - hundreds * 100);
    b[at++] = 90; // Z
    b[at] = 9;
    this.length = at + 1;
  }

  endRow(): void {
    this.buffer[this.length - 1] = 10;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

const DAY_MS = 86_400_000;

function twoDigits(b: Buffer, at: number, value: number): number {
  const tens = Math.floor(value / 10);
  b[at] = 48 + tens;
  b[at + 1] = 48 + value - tens * 10;
  return at + 2;
}

// Buffers of finished COPYs, reused by the next chunks (a few are in flight at once).
const spare: CopyRows[] = [];

export function takeCopyRows(): CopyRows {
  const rows = spare.pop() ?? new CopyRows();
  rows.length = 0;
  return rows;
}

export function giveBackCopyRows(rows: CopyRows): void {
  if (spare.length < 8 && rows.buffer.length <= 1 << 24) spare.push(rows);
}
