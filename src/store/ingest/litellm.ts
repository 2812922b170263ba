// LiteLLM spend logs (GET /spend/logs and /spend/logs/v2 JSON, or the UI's CSV export) →
// native usage rows. Proxy cache hits and failed calls are not usage and are skipped.
import type { IngestRow } from './native.ts';

type SpendLog = Record<string, unknown>;

/** request_tags may be a JSON array, a JSON-encoded string, or a comma list (CSV). */
function tagsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.trim() === '') return [];
  try {
    const parsed = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // not JSON: a comma-separated list
  }
  return value.split(',').map((t) => t.trim());
}

/** The value of a "key:value" (or "key=value") tag. */
function tag(tags: string[], key: string): string | undefined {
  for (const t of tags) {
    const match = /^([^:=]+)[:=](.*)$/.exec(t);
    if (match && match[1].trim().toLowerCase() === key) return match[2].trim();
  }
  return undefined;
}

function num(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return 0;
  return typeof value === 'string' ? Number(value) : value;
}

function isoOf(value: unknown): unknown {
  // LiteLLM writes naive UTC timestamps ("2024-05-01 12:00:00.123") in some exports
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value)) {
    return `${value.replace(' ', 'T')}Z`;
  }
  return value;
}

function objectOf(value: unknown): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value))
    return value as Record<string, unknown>;
  // the UI's CSV export and some databases hand metadata over as JSON text
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      return objectOf(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return {};
}

const truthy = (value: unknown) =>
  value === true || (typeof value === 'string' && /^true$/i.test(value));
const text = (value: unknown) =>
  typeof value === 'string' && value.trim() !== '' ? value : undefined;

/**
 * One spend log → a native usage record, or null when the log is not usage: a proxy cache
 * hit (answered from LiteLLM's cache, no provider call, spend 0) or a failed call
 * (`status: "failure"`). Fields from LiteLLM's SpendLogsPayload (BerriAI/litellm,
 * litellm/proxy/_types.py) and its spend-log metadata
 * (litellm/proxy/spend_tracking/spend_tracking_utils.py).
 */
export function litellmLogToNative(log: SpendLog): Record<string, unknown> | null {
  const tags = tagsOf(log.request_tags);
  const metadata = objectOf(log.metadata);
  if (truthy(log.cache_hit)) return null;
  if (log.status === 'failure' || metadata.status === 'failure') return null;
  // prompt_tokens include cache reads and writes; the split is in additional_usage_values
  const usage = objectOf(metadata.additional_usage_values);
  const promptDetails = objectOf(usage.prompt_tokens_details);
  const completionDetails = objectOf(usage.completion_tokens_details);
  const cacheRead = num(usage.cache_read_input_tokens ?? promptDetails.cached_tokens);
  const cacheWrite = num(usage.cache_creation_input_tokens);
  const cacheWrite1h = objectOf(usage.cache_creation).ephemeral_1h_input_tokens;
  const prompt = num(log.prompt_tokens);
  const uncached =
    typeof prompt === 'number' && typeof cacheRead === 'number' && typeof cacheWrite === 'number'
      ? Math.max(0, prompt - cacheRead - cacheWrite)
      : prompt;
  const webSearch = objectOf(usage.server_tool_use).web_search_requests;
  const audioIn = promptDetails.audio_tokens;
  const audioOut = completionDetails.audio_tokens;
  // end_user is the calling app's own customer, never an employee: it does not name a
  // person. A team's or service key's call with no user is attributed to the key (its
  // alias when it has one), else to the team.
  const key = text(metadata.user_api_key_alias) ?? text(metadata.user_api_key) ?? text(log.api_key);
  const team = text(log.team_id) ?? text(metadata.user_api_key_team_id);
  const person =
    text(log.user) ??
    text(metadata.user_api_key_user_id) ??
    (key ? `key:${key}` : team ? `team:${team}` : undefined);
  const environment = tag(tags, 'environment') ?? tag(tags, 'env');
  return {
    type: 'usage',
    id: log.request_id ? `litellm:${log.request_id}` : undefined,
    ts: isoOf(log.startTime),
    person,
    team,
    model: log.model || log.model_group,
    provider: log.custom_llm_provider || undefined,
    input_tokens: uncached,
    output_tokens: num(log.completion_tokens),
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
    ...(typeof cacheWrite1h === 'number' && cacheWrite1h > 0
      ? { cache_write_1h_tokens: cacheWrite1h }
      : {}),
    ...(typeof webSearch === 'number' && webSearch > 0 ? { web_search_requests: webSearch } : {}),
    ...(typeof audioIn === 'number' && audioIn > 0 ? { audio_input_tokens: audioIn } : {}),
    ...(typeof audioOut === 'number' && audioOut > 0 ? { audio_output_tokens: audioOut } : {}),
    project: tag(tags, 'project') ?? undefined,
    environment: environment
      ? /^prod(uction)?$/i.test(environment)
        ? 'production'
        : 'sandbox'
      : undefined,
    task: tag(tags, 'task') ?? tag(tags, 'jobid') ?? undefined,
  };
}

/** A parsed /spend/logs response (an array, or { data: [...] }) → rows numbered from 1. */
export function litellmToRows(body: unknown): IngestRow[] {
  const logs = Array.isArray(body) ? body : (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(logs))
    return [{ line: 1, error: 'not a LiteLLM spend-log export: expected an array of logs' }];
  const rows: IngestRow[] = [];
  logs.forEach((log, i) => {
    if (!log || typeof log !== 'object') {
      rows.push({ line: i + 1, error: 'spend log entry is not an object' });
      return;
    }
    const data = litellmLogToNative(log as SpendLog);
    if (data) rows.push({ line: i + 1, data });
  });
  return rows;
}
