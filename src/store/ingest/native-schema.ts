// The zod schemas of the native input format, the general validator of every row. Kept
// apart from native.ts so that an import whose rows all take the canonical fast paths
// never loads zod (the loader imports this module on first need).
import { z } from 'zod';
import { impossibleDate, parseTimestamp } from '../iso-time.ts';
import {
  ACTIVITY_MEASURE_NAMES,
  MAX_COUNT,
  MAX_MEASURE,
  MAX_MEASURES,
  MAX_MINUTES_SAVED,
  MEASURE_NAME,
} from './limits.ts';
import { EARLIEST, MAX_FUTURE_MS } from './native.ts';

const text = z.string().trim().min(1, 'must be a non-empty string');
const optionalText = z
  .string()
  .trim()
  .nullish()
  .transform((v) => (v ? v : null));
const tokens = z
  .number({ error: 'must be a number' })
  .int('must be a non-negative integer')
  .nonnegative('must be a non-negative integer')
  .max(MAX_COUNT, `must be at most ${MAX_COUNT.toLocaleString('en')}`)
  .default(0);
/** A count that is absent unless given (the price-bearing extensions below). */
const optionalCount = z
  .number({ error: 'must be a number' })
  .int('must be a non-negative integer')
  .nonnegative('must be a non-negative integer')
  .max(Number.MAX_SAFE_INTEGER, 'is too large')
  .optional();

/** An ISO-8601 timestamp, no more than 5 minutes in the future (relative to `now`). */
function timestamp(now: number) {
  return z.string({ error: 'must be an ISO-8601 timestamp string' }).transform((value, ctx) => {
    const ms = parseTimestamp(value);
    if (Number.isNaN(ms)) {
      const message = impossibleDate(value)
        ? `no such date: ${JSON.stringify(value.slice(0, 40))}`
        : `cannot parse timestamp ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    if (ms < EARLIEST) {
      ctx.addIssue({ code: 'custom', message: `timestamp ${value} is before 2000-01-01` });
      return z.NEVER;
    }
    if (ms > now + MAX_FUTURE_MS) {
      ctx.addIssue({
        code: 'custom',
        message: `timestamp ${value} is more than 5 minutes in the future`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/**
 * An outcome's measures: up to MAX_MEASURES names, each a finite number within ±MAX_MEASURE.
 * Given as an object (`{"review_score": 4.5}`) or as a list of `{name, value}` (the GraphQL
 * input), where a name given twice is refused rather than one value silently winning.
 */
const measureList = (value: unknown, ctx: z.core.$RefinementCtx) => {
  if (!Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const item of value as { name: string; value: unknown }[]) {
    if (Object.hasOwn(out, item.name)) {
      ctx.addIssue({
        code: 'custom',
        message: `measure ${JSON.stringify(item.name)} is given twice`,
      });
      return z.NEVER;
    }
    out[item.name] = item.value;
  }
  return out;
};
const measureRecord = z
  .record(
    z.string(),
    z
      .number({ error: 'must be a number' })
      .refine((v) => Number.isFinite(v) && Math.abs(v) <= MAX_MEASURE, {
        message: `must be a number from -${MAX_MEASURE.toLocaleString('en')} to ${MAX_MEASURE.toLocaleString('en')}`,
      }),
  )
  .superRefine((m, ctx) => {
    const names = Object.keys(m);
    if (names.length > MAX_MEASURES)
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_MEASURES} measures per outcome` });
    for (const name of names) {
      if (!MEASURE_NAME.test(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'a measure name is lower case letters, digits and _, starting with a letter',
        });
      else if (ACTIVITY_MEASURE_NAMES.has(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: "is one of Claude Code's activity measures, which only its report carries",
        });
    }
  });
const measures = z.preprocess(measureList, measureRecord.nullish());

export function nativeSchema(now: number) {
  const ts = timestamp(now);
  const team = z.object({
    type: z.literal('team'),
    team: text,
    name: optionalText,
    parent: optionalText,
    cost_center: optionalText,
    // absent fields are patches: the stored value stays (a new team is `normal`)
    sensitivity: z.enum(['normal', 'restricted']).optional(),
    owner: optionalText,
  });
  const person = z.object({
    type: z.literal('person'),
    person: text,
    name: optionalText,
    team: optionalText,
    role: optionalText,
    manager: optionalText,
    // absent fields are patches: the stored value stays (a new person: not opted in, {})
    opted_in: z.boolean().optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  });
  const usage = z
    .object({
      type: z.literal('usage'),
      id: text,
      ts,
      person: text,
      team: optionalText,
      model: text,
      provider: optionalText,
      input_tokens: tokens,
      output_tokens: tokens,
      cache_read_tokens: tokens,
      cache_write_tokens: tokens,
      /** extension: pre-aggregated exports (OpenAI buckets) carry a request count */
      requests: tokens.default(1),
      project: optionalText.transform((v) => v ?? ''),
      environment: z.enum(['production', 'sandbox']).default('production'),
      task: optionalText,
      // Price-bearing extensions (docs/ingest-pricing.md). Absent unless given; the parts
      // are included in the main counts, so token totals never count them twice.
      /** part of cache_write_tokens written with the 1-hour lifetime */
      cache_write_1h_tokens: optionalCount,
      /** part of input_tokens that was audio */
      audio_input_tokens: optionalCount,
      /** part of output_tokens that was audio */
      audio_output_tokens: optionalCount,
      /** server-side web search calls */
      web_search_requests: optionalCount,
      /** the provider's service tier: batch and priority have their own price shares */
      service_tier: z.string().trim().toLowerCase().nullish(),
      /** whether the provider billed the long-context rate; absent: judged by prompt size */
      long_context: z.boolean().nullish(),
      /** set by the loader: the provider's name when a `matches` pattern priced it as `model` */
      provider_model: z.string().nullish(),
    })
    .superRefine((u, ctx) => {
      const parts = [
        [
          'cache_write_1h_tokens',
          u.cache_write_1h_tokens,
          'cache_write_tokens',
          u.cache_write_tokens,
        ],
        ['audio_input_tokens', u.audio_input_tokens, 'input_tokens', u.input_tokens],
        ['audio_output_tokens', u.audio_output_tokens, 'output_tokens', u.output_tokens],
      ] as const;
      for (const [name, value, whole, total] of parts) {
        if (value !== undefined && value > total)
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `is ${value}, more than ${whole} (${total}), which includes it`,
          });
      }
    });
  const outcome = z.object({
    type: z.literal('outcome'),
    id: text,
    ts,
    person: text,
    task: optionalText,
    outcome: z.enum(['accepted', 'rejected', 'reworked', 'completed']),
    minutes_saved: z
      .number({ error: 'must be a number' })
      .nonnegative('must not be negative')
      .max(MAX_MINUTES_SAVED, `must be at most ${MAX_MINUTES_SAVED.toLocaleString('en')}`)
      .default(0),
    /** what the task was about: the project and model its measures count under */
    project: optionalText,
    model: optionalText,
    /** named numeric measures (`{"review_score": 4.5}`), read by the policies that declare them */
    measures: measures.transform((v) => (v && Object.keys(v).length > 0 ? v : null)),
  });
  const compliance = z.object({
    type: z.literal('compliance'),
    id: text,
    ts,
    person: text,
    flag: z.enum(['redaction_failure', 'sensitive_data', 'policy_exception']),
    severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  });
  return { team, person, usage, outcome, compliance, now };
}

type Schemas = ReturnType<typeof nativeSchema>;
export type TeamRecord = z.output<Schemas['team']>;
export type PersonRecord = z.output<Schemas['person']>;
export type UsageRecord = z.output<Schemas['usage']>;
export type OutcomeRecord = z.output<Schemas['outcome']>;
export type ComplianceRecord = z.output<Schemas['compliance']>;
export type NativeRecord =
  | TeamRecord
  | PersonRecord
  | UsageRecord
  | OutcomeRecord
  | ComplianceRecord;
