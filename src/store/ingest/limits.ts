// The limits of one native row, checked before the database sees it. Each one stands for a
// limit PostgreSQL would enforce by failing the whole statement (and so the whole chunk or
// group commit): a btree index entry holds at most 2,704 bytes (the rollup key is person,
// day, model, project and environment together), text cannot hold NUL, bigint and numeric
// columns overflow, jsonb nesting runs into the server's stack depth. Checked here, a bad
// row is rejected alone with its field and reason. docs/operations-limits.md lists them.

/** Bytes (UTF-8) of a key-like text field: ids, people, teams, models, projects, tasks. */
export const MAX_KEY_BYTES = 256;
/** Bytes (UTF-8) of a display name. */
export const MAX_NAME_BYTES = 1024;
/** Largest token or request count of one event: 10^12 keeps the bigint rollup sums safe. */
export const MAX_COUNT = 1_000_000_000_000;
/** Largest `minutes_saved` of one outcome (numeric(12, 2) holds below 10^10). */
export const MAX_MINUTES_SAVED = 1_000_000;
/** Largest magnitude of one outcome measure (its sums stay exact in numeric). */
export const MAX_MEASURE = 1_000_000_000_000;
/** Measures one outcome may carry. */
export const MAX_MEASURES = 32;
/** A measure name: what a policy's `measure <name>` can refer to. */
export const MEASURE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** Measure names Claude Code's daily activity report writes (one observation per person and day). */
export const ACTIVITY_MEASURE_NAMES: ReadonlySet<string> = new Set([
  'sessions',
  'lines_added',
  'lines_removed',
  'commits',
  'pull_requests',
]);
/** Nesting depth of a person's `attributes` (the object itself is depth 1). */
export const MAX_ATTRIBUTES_DEPTH = 8;
/** Size of a person's `attributes` as JSON text. */
export const MAX_ATTRIBUTES_BYTES = 16_384;
/** Longest input line `quotient import` reads; a longer one is skipped and reported. */
export const MAX_LINE_BYTES = 1 << 20;

const NAME_FIELDS = new Set(['name']);

/** UTF-8 byte length, without encoding when the UTF-16 length already settles it. */
function utf8Bytes(text: string, limit: number): number {
  // one UTF-16 unit is at most 3 UTF-8 bytes
  if (text.length * 3 <= limit) return text.length;
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Why PostgreSQL cannot hold a text as it is, whatever its length, or null: a NUL fails the
 * whole statement, a lone surrogate would be stored as U+FFFD (another string).
 */
export function unstorableTextProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (!text.isWellFormed())
    return 'contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored';
  return null;
}

/** Why one text value cannot be stored, or null. */
export function textProblem(text: string, limit: number): string | null {
  const unstorable = unstorableTextProblem(text);
  if (unstorable) return unstorable;
  const bytes = utf8Bytes(text, limit);
  if (bytes > limit) return `is ${bytes} bytes long; at most ${limit} bytes are allowed`;
  return null;
}

/**
 * The first limit a validated record breaks, as "field: reason", or null. `attributes` is
 * walked without recursion, so no depth of nesting can overflow the stack here.
 */
export function limitProblem(record: Record<string, unknown>): string | null {
  for (const [field, value] of Object.entries(record)) {
    if (typeof value === 'string') {
      const problem = textProblem(value, NAME_FIELDS.has(field) ? MAX_NAME_BYTES : MAX_KEY_BYTES);
      if (problem) return `${field}: ${problem}`;
    } else if (field === 'attributes' && value !== null && typeof value === 'object') {
      const problem = attributesProblem(value);
      if (problem) return `attributes${problem}`;
    }
  }
  return null;
}

function attributesProblem(root: object): string | null {
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value: root, path: '', depth: 1 },
  ];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as (typeof stack)[number];
    if (++nodes > MAX_ATTRIBUTES_BYTES)
      return `: too many values (the JSON is over ${MAX_ATTRIBUTES_BYTES} bytes)`;
    if (typeof value === 'string') {
      const problem = textProblem(value, MAX_ATTRIBUTES_BYTES);
      if (problem) return `${path}: ${problem}`;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_ATTRIBUTES_DEPTH)
      return `${path}: nested more than ${MAX_ATTRIBUTES_DEPTH} levels deep`;
    for (const [key, inner] of Object.entries(value)) {
      const at = `${path}.${key.length > 40 ? `${key.slice(0, 40)}…` : key}`;
      const problem = textProblem(key, MAX_KEY_BYTES);
      if (problem) return `${at}: key ${problem}`;
      stack.push({ value: inner, path: at, depth: depth + 1 });
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(root), 'utf8');
  if (bytes > MAX_ATTRIBUTES_BYTES)
    return `: is ${bytes} bytes as JSON; at most ${MAX_ATTRIBUTES_BYTES} bytes are allowed`;
  return null;
}

/**
 * A short description of any input value for an error message: never the whole of a
 * large or deeply nested value (JSON.stringify of one could overflow the stack).
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * Text from the input (quoted in an error message) with control characters escaped and
 * its length capped: a reason printed to a terminal cannot move the cursor or ring bells.
 */
export function printable(text: string, limit = 200): string {
  const short = text.length > limit ? `${text.slice(0, limit)}…` : text;
  return short.replace(
    /[\p{Cc}\u2028\u2029]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
