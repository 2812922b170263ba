// Native JSONL for `quotient import`, read straight from the file's bytes. A usage line in
// canonical form (known keys once each, printable ASCII strings without escapes, plain
// integer counts) becomes its validated record here, without JSON.parse and the generic
// object it builds; any other line is decoded and JSON.parse'd as before and validated by
// the loader. A property test holds parseUsageLine equal to JSON.parse + validateRecord.
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { parseCanonicalTimestamp } from '../iso-time.ts';
import { MAX_COUNT, MAX_KEY_BYTES, MAX_LINE_BYTES, printable } from './limits.ts';
import { EARLIEST, type IngestRow, MAX_FUTURE_MS, type UsageRecord } from './native.ts';

/**
 * A usage row the reader already validated against `now` (see readNativeBatches); the
 * loader keeps it as it is as its chunk entry.
 */
export type CheckedUsageRow = { line: number; record: UsageRecord };
export type NativeLineRow = IngestRow | CheckedUsageRow;

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN = 123;
const CLOSE = 125;
const SPACE = 32;
const TILDE = 126;
const NEWLINE = 10;
const BLOCK_BYTES = 1 << 20;
const RETURN = 13;

// field numbers: text fields first, then counts
const TYPE = 0;
const ID = 1;
const TS = 2;
const PERSON = 3;
const TEAM = 4;
const MODEL = 5;
const PROVIDER = 6;
const PROJECT = 7;
const ENVIRONMENT = 8;
const TASK = 9;
const FIRST_COUNT = 10;
/** character codes of ASCII text: plain arrays compare faster than small Buffers */
function codes(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

const FIELDS = [
  'type',
  'id',
  'ts',
  'person',
  'team',
  'model',
  'provider',
  'project',
  'environment',
  'task',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'requests',
];
const FIELD_BYTES = FIELDS.map(codes);
/** `"key":` of each field, as it appears in a line */
const KEY_TOKENS = FIELDS.map((f) => codes(`"${f}":`));
const MAX_KEYS = 16;
/** the fields of the previous line, in its order: lines of one file share a key order */
const predicted = new Int8Array(MAX_KEYS).fill(-1);

function fieldAt(b: Uint8Array, start: number, end: number): number {
  // candidates by length and a telling byte, then checked byte by byte
  let field: number;
  switch (end - start) {
    case 2:
      field = b[start] === 105 ? ID : TS; // i
      break;
    case 4:
      field = b[start + 1] === 121 ? TYPE : b[start + 1] === 101 ? TEAM : TASK; // y, e
      break;
    case 5:
      field = MODEL;
      break;
    case 6:
      field = PERSON;
      break;
    case 7:
      field = PROJECT;
      break;
    case 8:
      field = b[start] === 112 ? PROVIDER : FIRST_COUNT + 4; // p: provider, else requests
      break;
    case 11:
      field = ENVIRONMENT;
      break;
    case 12:
      field = FIRST_COUNT;
      break;
    case 13:
      field = FIRST_COUNT + 1;
      break;
    case 17:
      field = FIRST_COUNT + 2;
      break;
    case 18:
      field = FIRST_COUNT + 3;
      break;
    default:
      return -1;
  }
  return equalsBytes(b, start, end, FIELD_BYTES[field]) ? field : -1;
}

// Repeated names (people, models, projects) are shared strings instead of a new string
// per row: less garbage, and equal names compare by reference in the rollup grouping.
const POOL_LIMIT = 100_000;
let pool = new Map<number, string>();

function pooled(b: Uint8Array, start: number, end: number, hash: number): string {
  const known = pool.get(hash);
  if (known !== undefined && known.length === end - start) {
    let same = true;
    for (let k = 0; k < known.length; k++) {
      if (known.charCodeAt(k) !== b[start + k]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  const text = latin1(b, start, end);
  if (known === undefined) {
    if (pool.size >= POOL_LIMIT) pool = new Map();
    pool.set(hash, text);
  }
  return text;
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return (b as Buffer).latin1Slice(start, end);
}

declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
  }
}

const PRODUCTION = codes('production');
const SANDBOX = codes('sandbox');
const USAGE = codes('usage');

function equalsBytes(b: Uint8Array, start: number, end: number, word: number[]): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[start + k] !== word[k]) return false;
  return true;
}

/**
 * The record validateRecord(JSON.parse(line)) gives for a canonical usage line, or null
 * when the line is anything else (then the general path decides, and words any error).
 * `now` is the loader's "now" for the 5-minutes-in-the-future check.
 */
export function parseUsageLine(
  b: Uint8Array,
  start: number,
  end: number,
  now: number,
): UsageRecord | null {
  if (end - start < 2 || b[start] !== OPEN || b[end - 1] !== CLOSE) return null;
  let seen = 0;
  let isUsage = false;
  let id: string | null = null;
  let ts = Number.NaN;
  let person: string | null = null;
  let team: string | null = null;
  let model: string | null = null;
  let provider: string | null = null;
  let project: string | null = null;
  let environment = 'production';
  let task: string | null = null;
  let input = 0;
  let output = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let requests = 1;
  let i = start + 1;
  let n = 0;
  for (;;) {
    // "key": most likely the key at this place in the previous line
    let field = n < MAX_KEYS ? predicted[n] : -1;
    const token = field >= 0 ? KEY_TOKENS[field] : null;
    if (token !== null && i + token.length <= end && equalsBytes(b, i, i + token.length, token)) {
      i += token.length;
    } else {
      if (b[i] !== QUOTE) return null;
      const keyStart = i + 1;
      let k = keyStart;
      while (k < end && b[k] !== QUOTE) k++;
      if (k >= end) return null;
      field = fieldAt(b, keyStart, k);
      if (field < 0) return null;
      i = k + 1;
      if (b[i] !== COLON) return null;
      i++;
    }
    if ((seen & (1 << field)) !== 0) return null;
    seen |= 1 << field;
    if (n < MAX_KEYS) predicted[n] = field;
    n++;
    if (field >= FIRST_COUNT) {
      // a non-negative integer of at most 15 digits (a safe integer), no sign, fraction or exponent
      const first = i;
      let value = 0;
      while (i < end) {
        const d = b[i] - 48;
        if (d < 0 || d > 9) break;
        value = value * 10 + d;
        i++;
      }
      const digits = i - first;
      if (digits === 0 || digits > 15 || (b[first] === 48 && digits > 1) || value > MAX_COUNT)
        return null;
      if (field === FIRST_COUNT) input = value;
      else if (field === FIRST_COUNT + 1) output = value;
      else if (field === FIRST_COUNT + 2) cacheRead = value;
      else if (field === FIRST_COUNT + 3) cacheWrite = value;
      else requests = value;
    } else if (b[i] === QUOTE) {
      // a string of printable ASCII without escapes
      const from = i + 1;
      let hash = 0;
      let j = from;
      for (; j < end; j++) {
        const c = b[j];
        if (c === QUOTE) break;
        if (c < SPACE || c > TILDE || c === BACKSLASH) return null;
        hash = (Math.imul(hash, 31) + c) | 0;
      }
      if (j >= end) return null;
      i = j + 1;
      if (field === TS) {
        ts = parseCanonicalTimestamp(b, from, j);
      } else if (field === TYPE) {
        if (!equalsBytes(b, from, j, USAGE)) return null;
        isUsage = true;
      } else if (field === ENVIRONMENT) {
        if (equalsBytes(b, from, j, PRODUCTION)) environment = 'production';
        else if (equalsBytes(b, from, j, SANDBOX)) environment = 'sandbox';
        else return null;
      } else {
        // text as validation leaves it: non-empty, nothing to trim
        if (j === from || b[from] === SPACE || b[j - 1] === SPACE || j - from > MAX_KEY_BYTES)
          return null;
        if (field === ID) id = latin1(b, from, j);
        else {
          const text = pooled(b, from, j, hash);
          if (field === PERSON) person = text;
          else if (field === MODEL) model = text;
          else if (field === TEAM) team = text;
          else if (field === PROVIDER) provider = text;
          else if (field === PROJECT) project = text;
          else task = text;
        }
      }
    } else if (
      (field === TEAM || field === PROVIDER || field === PROJECT || field === TASK) &&
      b[i] === 110 && // null
      b[i + 1] === 117 &&
      b[i + 2] === 108 &&
      b[i + 3] === 108
    ) {
      i += 4; // an optional text given as null: absent
    } else return null;
    if (b[i] === COMMA) {
      i++;
      continue;
    }
    if (b[i] === CLOSE && i === end - 1) break;
    return null;
  }
  if (!isUsage || id === null || person === null || model === null) return null;
  if (!(ts >= EARLIEST && ts <= now + MAX_FUTURE_MS)) return null;
  return {
    type: 'usage',
    id,
    ts,
    person,
    team,
    model,
    provider,
    input_tokens: input,
    output_tokens: output,
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
    requests,
    project: project ?? '',
    environment: environment as UsageRecord['environment'],
    task,
  };
}

export type NativeBatch = {
  rows: NativeLineRow[];
  /** the "now" the checked rows were validated against: pass it to ingestBatch */
  now: number;
};

/**
 * Batches of rows from a native JSONL file, numbered by line, with backpressure (the next
 * block is read only when the consumer asks for more). Blank lines are skipped; a line
 * that is not JSON becomes an error row; canonical usage lines arrive validated.
 */
export async function* readNativeBatches(
  path: string,
  options: { batchSize: number; onBytes?: (bytes: number) => void },
): AsyncGenerator<NativeBatch> {
  let rows: NativeLineRow[] = [];
  let now = Date.now();
  let line = 0;
  let bytes = 0;

  const take = (b: Buffer, start: number, end: number): boolean => {
    line++;
    if (end > start && b[end - 1] === RETURN) end--;
    const record = parseUsageLine(b, start, end, now);
    if (record !== null) rows.push({ line, record });
    else {
      const text = b.toString('utf8', start, end);
      if (text.trim() === '') return false;
      // a replacement character may be real text, or the decoder's mark for bad bytes
      if (text.includes('\uFFFD') && !isUtf8(b.subarray(start, end))) {
        rows.push({ line, error: 'not valid UTF-8: the line holds bytes that are not UTF-8 text' });
        return rows.length >= options.batchSize;
      }
      try {
        rows.push({ line, data: JSON.parse(text) });
      } catch (error) {
        rows.push({ line, error: `unparsable JSON: ${printable((error as Error).message)}` });
        return rows.length >= options.batchSize;
      }
    }
    return rows.length >= options.batchSize;
  };
  const tooLong = (): boolean => {
    line++;
    rows.push({ line, error: `the line is longer than ${MAX_LINE_BYTES} bytes; skipped` });
    return rows.length >= options.batchSize;
  };

  // one buffer for the whole file, refilled in place: the records copy what they keep, so
  // reading allocates nothing per block (fresh blocks would also count as external memory
  // towards V8's garbage collection triggers)
  let buffer = Buffer.allocUnsafe(BLOCK_BYTES);
  let kept = 0; // bytes of an unfinished line at the start of the buffer
  // inside a line longer than MAX_LINE_BYTES: its bytes are dropped up to the next newline
  let skipping = false;
  const file = await open(path, 'r');
  try {
    for (;;) {
      if (kept === buffer.length) {
        if (kept >= MAX_LINE_BYTES) {
          skipping = true;
          kept = 0;
        } else {
          // a line longer than the buffer
          const grown = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(grown, 0, 0, kept);
          buffer = grown;
        }
      }
      const { bytesRead } = await file.read(buffer, kept, buffer.length - kept, null);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      options.onBytes?.(bytes);
      const filled = buffer.subarray(0, kept + bytesRead);
      let start = 0;
      // the kept part holds no newline
      let newline = filled.indexOf(NEWLINE, kept);
      if (skipping) {
        if (newline < 0) {
          kept = 0;
          continue;
        }
        skipping = false;
        start = newline + 1;
        if (tooLong()) {
          yield { rows, now };
          rows = [];
          now = Date.now();
        }
        newline = filled.indexOf(NEWLINE, start);
      }
      while (newline >= 0) {
        const full = take(filled, start, newline);
        start = newline + 1;
        if (full) {
          yield { rows, now };
          rows = [];
          now = Date.now();
        }
        newline = filled.indexOf(NEWLINE, start);
      }
      buffer.copyWithin(0, start, filled.length);
      kept = filled.length - start;
    }
  } finally {
    await file.close();
  }
  if (skipping) tooLong();
  else if (kept > 0) take(buffer, 0, kept);
  if (rows.length > 0) yield { rows, now };
}
