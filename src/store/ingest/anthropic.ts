// Anthropic Admin API usage report (GET /v1/organizations/usage_report/messages) → native
// usage rows, one per bucket × result group.
import { countOrZero, type IngestRow } from './native.ts';

type Result = Record<string, unknown> & {
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number };
};
type Bucket = { starting_at?: string; ending_at?: string; results?: Result[] };

function add(a: unknown, b: unknown): unknown {
  return typeof a === 'number' && typeof b === 'number' ? a + b : typeof a === 'number' ? b : a;
}

export function anthropicUsageToRows(body: unknown): IngestRow[] {
  const buckets = (body as { data?: Bucket[] } | null)?.data;
  if (!Array.isArray(buckets))
    return [{ line: 1, error: 'not an Anthropic usage report: missing data[]' }];
  const rows: IngestRow[] = [];
  let position = 0;
  for (const bucket of buckets) {
    for (const result of bucket.results ?? []) {
      position++;
      // the person is the most specific group key present: account, then API key
      const person = result.account_id ?? result.api_key_id ?? result.service_account_id;
      const cacheWrite = add(
        countOrZero(
          result.cache_creation?.ephemeral_5m_input_tokens ?? result.cache_creation_5m_input_tokens,
        ),
        countOrZero(
          result.cache_creation?.ephemeral_1h_input_tokens ?? result.cache_creation_1h_input_tokens,
        ),
      );
      // a stable id from the bucket and every group key, so re-importing a report is idempotent
      const key = [
        bucket.starting_at,
        result.account_id,
        result.api_key_id,
        result.service_account_id,
        result.workspace_id,
        result.model,
        result.service_tier,
        result.context_window,
        result.inference_geo,
        result.speed,
      ]
        .map((v) => (v === undefined || v === null ? '' : String(v)))
        .join('|');
      rows.push({
        line: position,
        data: {
          type: 'usage',
          id: `anthropic:${key}`,
          ts: bucket.starting_at,
          person: person ?? undefined,
          model: result.model ?? undefined,
          provider: 'anthropic',
          input_tokens: countOrZero(result.uncached_input_tokens),
          output_tokens: countOrZero(result.output_tokens),
          cache_read_tokens: countOrZero(result.cache_read_input_tokens),
          cache_write_tokens: cacheWrite,
          // the report has no request counts
          requests: 0,
          project: result.workspace_id ?? undefined,
        },
      });
    }
  }
  return rows;
}
