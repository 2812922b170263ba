// OpenAI usage API, completions buckets (GET /v1/organization/usage/completions) →
// native usage rows. input_tokens includes cached tokens, so input = input_tokens −
// input_cached_tokens and cache_read = input_cached_tokens.
import { countOrZero, type IngestRow } from './native.ts';

type Result = Record<string, unknown>;
type Bucket = { start_time?: number; end_time?: number; results?: Result[]; result?: Result[] };

export function openaiUsageToRows(body: unknown): IngestRow[] {
  const buckets = (body as { data?: Bucket[] } | null)?.data;
  if (!Array.isArray(buckets))
    return [{ line: 1, error: 'not an OpenAI usage page: missing data[]' }];
  const rows: IngestRow[] = [];
  let position = 0;
  for (const bucket of buckets) {
    for (const result of bucket.results ?? bucket.result ?? []) {
      position++;
      const input = countOrZero(result.input_tokens);
      const cached = countOrZero(result.input_cached_tokens);
      const uncached =
        typeof input === 'number' && typeof cached === 'number' ? input - cached : input;
      const key = [
        bucket.start_time,
        result.user_id,
        result.project_id,
        result.api_key_id,
        result.model,
        result.batch,
        result.service_tier,
      ]
        .map((v) => (v === undefined || v === null ? '' : String(v)))
        .join('|');
      rows.push({
        line: position,
        data: {
          type: 'usage',
          id: `openai:${key}`,
          ts:
            typeof bucket.start_time === 'number'
              ? new Date(bucket.start_time * 1000).toISOString()
              : bucket.start_time,
          // group the report by user_id to attribute usage to people; api keys are the fallback
          person: result.user_id ?? result.api_key_id ?? undefined,
          model: result.model ?? undefined,
          provider: 'openai',
          input_tokens: uncached,
          output_tokens: countOrZero(result.output_tokens),
          cache_read_tokens: cached,
          requests: countOrZero(result.num_model_requests),
          project: result.project_id ?? undefined,
        },
      });
    }
  }
  return rows;
}
