// The native input format (DESIGN.md "Native input format"): one object per line with a
// `type`. Every adapter maps its format onto these shapes; validation happens once, here.
import { parseTimestamp } from '../iso-time.ts';
import { describeValue, limitProblem, MAX_COUNT } from './limits.ts';
import type {
  ComplianceRecord,
  NativeRecord,
  nativeSchema,
  OutcomeRecord,
  PersonRecord,
  TeamRecord,
  UsageRecord,
} from './native-schema.ts';

export type {
  ComplianceRecord,
  NativeRecord,
  OutcomeRecord,
  PersonRecord,
  TeamRecord,
  UsageRecord,
};

/** The native schemas for one "now" (see native-schema.ts). */
export type NativeSchemas = ReturnType<typeof nativeSchema>;

/**
 * A token count from a vendor report: absent or null counts as 0; anything else is passed
 * on as it is, so the native validator rejects a malformed value with the field named.
 */
export function countOrZero(value: unknown): unknown {
  return value === undefined || value === null ? 0 : value;
}

/** One input record with the line (or record number) it came from, for error reports. */
export type IngestRow = { line: number; data: unknown } | { line: number; error: string };

export const MAX_FUTURE_MS = 5 * 60 * 1000;
/** Older timestamps are typos (a year 26 for 2026), and would need odd partitions. */
export const EARLIEST = Date.UTC(2000, 0, 1);

export const NATIVE_TYPES = ['team', 'person', 'usage', 'outcome', 'compliance'] as const;

/** Validates one record: the typed record, or a reason naming the field. */
export function validateRecord(
  schemas: NativeSchemas,
  data: unknown,
): { ok: true; record: NativeRecord } | { ok: false; reason: string } {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, reason: 'expected a JSON object' };
  }
  const type = (data as { type?: unknown }).type;
  if (typeof type !== 'string' || !(NATIVE_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      reason:
        type === undefined
          ? 'missing field "type"'
          : `unknown type ${JSON.stringify(type)} (expected one of ${NATIVE_TYPES.join(', ')})`,
    };
  }
  if (type === 'usage') {
    const fast = cleanUsage(data as Record<string, unknown>, schemas.now);
    if (fast) {
      const problem = limitProblem(fast);
      return problem === null ? { ok: true, record: fast } : { ok: false, reason: problem };
    }
  }
  const result = schemas[type as (typeof NATIVE_TYPES)[number]].safeParse(data);
  if (result.success) {
    const problem = limitProblem(result.data);
    if (problem === null) return { ok: true, record: result.data };
    return { ok: false, reason: problem };
  }
  const reason = result.error.issues
    .map((issue) => {
      const field = issue.path.join('.');
      const missing =
        issue.code === 'invalid_type' &&
        issue.path.length === 1 &&
        (data as Record<string, unknown>)[String(issue.path[0])] === undefined;
      const given = (data as Record<string, unknown>)[String(issue.path[0])];
      const message = missing
        ? 'is required'
        : issue.code === 'invalid_value'
          ? `${describeValue(given)} is not one of ${issue.values.join(', ')}`
          : issue.message;
      return field ? `${field}: ${message}` : message;
    })
    .join('; ');
  return { ok: false, reason };
}

// ---------- the fast path for well-formed usage rows ----------
// Usage rows are nearly all of a big import. A row already in canonical form (trimmed
// printable text, safe non-negative integers, a known environment) maps to exactly what
// the zod schema would output, at a fraction of the cost; anything else returns null and
// goes through zod, which also words the errors. A property test holds the two equal.

/** Non-empty text that trimming leaves unchanged and that holds no NUL: printable ASCII ends. */
function isCleanText(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first > 32 && first < 127 && last > 32 && last < 127 && !value.includes('\u0000');
}

const NOT_CLEAN = Symbol('not clean');

function cleanOptionalText(value: unknown): string | null | typeof NOT_CLEAN {
  if (value === undefined || value === null) return null;
  return isCleanText(value) ? value : NOT_CLEAN;
}

function cleanCount(value: unknown, absent: number): number {
  if (value === undefined) return absent;
  return typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 0 &&
    value <= MAX_COUNT
    ? value
    : -1;
}

export function cleanUsage(data: Record<string, unknown>, now: number): UsageRecord | null {
  const { id, person, model } = data;
  // the price-bearing extensions are rare: their rows take the general path
  if (
    data.cache_write_1h_tokens !== undefined ||
    data.audio_input_tokens !== undefined ||
    data.audio_output_tokens !== undefined ||
    data.web_search_requests !== undefined ||
    data.service_tier !== undefined ||
    data.long_context !== undefined
  )
    return null;
  if (!isCleanText(id) || !isCleanText(person) || !isCleanText(model)) return null;
  if (typeof data.ts !== 'string') return null;
  const ts = parseTimestamp(data.ts);
  if (!(ts >= EARLIEST && ts <= now + MAX_FUTURE_MS)) return null;
  const team = cleanOptionalText(data.team);
  const provider = cleanOptionalText(data.provider);
  const project = cleanOptionalText(data.project);
  const task = cleanOptionalText(data.task);
  if (team === NOT_CLEAN || provider === NOT_CLEAN || project === NOT_CLEAN || task === NOT_CLEAN)
    return null;
  const environment = data.environment === undefined ? 'production' : data.environment;
  if (environment !== 'production' && environment !== 'sandbox') return null;
  const input_tokens = cleanCount(data.input_tokens, 0);
  const output_tokens = cleanCount(data.output_tokens, 0);
  const cache_read_tokens = cleanCount(data.cache_read_tokens, 0);
  const cache_write_tokens = cleanCount(data.cache_write_tokens, 0);
  const requests = cleanCount(data.requests, 1);
  if (
    input_tokens < 0 ||
    output_tokens < 0 ||
    cache_read_tokens < 0 ||
    cache_write_tokens < 0 ||
    requests < 0
  )
    return null;
  return {
    type: 'usage',
    id,
    ts,
    person,
    team,
    model,
    provider,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    requests,
    project: project ?? '',
    environment,
    task,
  };
}
