// Anthropic Admin API usage report (GET /v1/organizations/usage_report/messages) → native
// usage rows, one per bucket × result group. Field names from the Admin API reference
// (docs.claude.com/en/api/admin-api/usage-cost/get-messages-usage-report): 5-minute and
// 1-hour cache writes (cache_creation.ephemeral_*), server_tool_use.web_search_requests,
// service_tier (standard, batch, priority) and context_window (0-200k, 200k-1M) are kept.
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
      const write5m = countOrZero(
        result.cache_creation?.ephemeral_5m_input_tokens ?? result.cache_creation_5m_input_tokens,
      );
      const write1h = countOrZero(
        result.cache_creation?.ephemeral_1h_input_tokens ?? result.cache_creation_1h_input_tokens,
      );
      const cacheWrite = add(write5m, write1h);
      const webSearch = (result.server_tool_use as { web_search_requests?: unknown } | undefined)
        ?.web_search_requests;
      // context_window groups the report by the rate billed: "0-200k" or "200k-1M"
      const window = typeof result.context_window === 'string' ? result.context_window : null;
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
          ...(typeof write1h === 'number' && write1h > 0 ? { cache_write_1h_tokens: write1h } : {}),
          ...(typeof webSearch === 'number' && webSearch > 0
            ? { web_search_requests: webSearch }
            : {}),
          ...(typeof result.service_tier === 'string' ? { service_tier: result.service_tier } : {}),
          ...(window ? { long_context: !window.startsWith('0-') } : {}),
          // the report has no request counts
          requests: 0,
          project: result.workspace_id ?? undefined,
        },
      });
    }
  }
  return rows;
}
