// LiteLLM spend logs (GET /spend/logs JSON, or the UI's CSV export) → native usage rows.
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

export function litellmLogToNative(log: SpendLog): Record<string, unknown> {
  const tags = tagsOf(log.request_tags);
  const metadata = (log.metadata && typeof log.metadata === 'object' ? log.metadata : {}) as Record<
    string,
    unknown
  >;
  const person = log.user || log.end_user || metadata.user_api_key_user_id || undefined;
  const environment = tag(tags, 'environment') ?? tag(tags, 'env');
  return {
    type: 'usage',
    id: log.request_id ? `litellm:${log.request_id}` : undefined,
    ts: isoOf(log.startTime),
    person,
    team: log.team_id || metadata.user_api_key_team_id || undefined,
    model: log.model || log.model_group,
    provider: log.custom_llm_provider || undefined,
    input_tokens: num(log.prompt_tokens),
    output_tokens: num(log.completion_tokens),
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
  return logs.map((log, i) =>
    log && typeof log === 'object'
      ? { line: i + 1, data: litellmLogToNative(log as SpendLog) }
      : { line: i + 1, error: 'spend log entry is not an object' },
  );
}
