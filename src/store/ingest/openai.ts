// OpenAI usage API, completions buckets (GET /v1/organization/usage/completions) →
// native usage rows. Fields from the API reference (platform.openai.com/docs/api-reference/
// usage/completions_object): input_tokens counts text including cached tokens, so input =
// input_tokens − input_cached_tokens + input_audio_tokens (audio kept as its part), cache_read
// = input_cached_tokens, output = output_tokens + output_audio_tokens; `batch: true` (when
// grouped by batch) is the batch service tier.
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
      // input_tokens and input_cached_tokens count text; audio comes apart
      const input = countOrZero(result.input_tokens);
      const cached = countOrZero(result.input_cached_tokens);
      const audioIn = countOrZero(result.input_audio_tokens);
      const output = countOrZero(result.output_tokens);
      const audioOut = countOrZero(result.output_audio_tokens);
      const numbers = [input, cached, audioIn, output, audioOut].every(
        (n) => typeof n === 'number',
      );
      const uncached = numbers
        ? (input as number) - (cached as number) + (audioIn as number)
        : input;
      const tier = result.batch === true ? 'batch' : result.service_tier;
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
          output_tokens: numbers ? (output as number) + (audioOut as number) : output,
          cache_read_tokens: cached,
          ...(numbers && (audioIn as number) > 0 ? { audio_input_tokens: audioIn } : {}),
          ...(numbers && (audioOut as number) > 0 ? { audio_output_tokens: audioOut } : {}),
          ...(typeof tier === 'string' ? { service_tier: tier } : {}),
          requests: countOrZero(result.num_model_requests),
          project: result.project_id ?? undefined,
        },
      });
    }
  }
  return rows;
}
