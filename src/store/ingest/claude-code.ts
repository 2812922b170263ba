// Claude Code analytics report (GET /v1/organizations/usage_report/claude_code) → native
// usage rows (one per actor × day × model) and outcome rows (one per accepted or rejected
// tool action, so acceptance flows into the leaderboards).
import { countOrZero, type IngestRow } from './native.ts';

type Record_ = {
  actor?: { type?: string; email_address?: string; api_key_name?: string };
  /** "api" (billed per token) or "subscription" (a Pro/Max/Team seat) */
  customer_type?: string;
  terminal_type?: string;
  core_metrics?: {
    num_sessions?: number;
    lines_of_code?: { added?: number; removed?: number };
    commits_by_claude_code?: number;
    pull_requests_by_claude_code?: number;
  };
  date?: string;
  model_breakdown?: { model?: string; tokens?: Record<string, unknown> }[];
  tool_actions?: Record<string, { accepted?: number; rejected?: number }>;
};

function dayOf(date: string | undefined): string | undefined {
  if (!date) return undefined;
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T00:00:00Z` : date;
}

/** Outcome rows per tool action are capped so a corrupt count cannot explode memory. */
const MAX_ACTIONS_PER_TOOL = 100_000;

export function claudeCodeToRows(body: unknown): IngestRow[] {
  const records = (body as { data?: Record_[] } | null)?.data;
  if (!Array.isArray(records))
    return [{ line: 1, error: 'not a Claude Code analytics report: missing data[]' }];
  const rows: IngestRow[] = [];
  records.forEach((record, index) => {
    const line = index + 1;
    const person = record.actor?.email_address ?? record.actor?.api_key_name;
    const ts = dayOf(record.date);
    const day = ts?.slice(0, 10) ?? '';
    const base = `claude-code:${day}:${person ?? ''}`;
    for (const entry of record.model_breakdown ?? []) {
      rows.push({
        line,
        data: {
          type: 'usage',
          id: `${base}:${entry.model ?? ''}`,
          ts,
          person,
          model: entry.model,
          provider: 'anthropic',
          input_tokens: countOrZero(entry.tokens?.input),
          output_tokens: countOrZero(entry.tokens?.output),
          cache_read_tokens: countOrZero(entry.tokens?.cache_read),
          cache_write_tokens: countOrZero(entry.tokens?.cache_creation),
          // a subscription seat is not billed per token: counted, never priced as API usage
          ...(record.customer_type === 'subscription' ? { service_tier: 'subscription' } : {}),
          requests: 0,
          project: 'claude-code',
        },
      });
    }
    for (const [tool, counts] of Object.entries(record.tool_actions ?? {})) {
      for (const outcome of ['accepted', 'rejected'] as const) {
        const total = counts?.[outcome] ?? 0;
        if (!Number.isInteger(total) || total < 0 || total > MAX_ACTIONS_PER_TOOL) {
          rows.push({
            line,
            error: `tool_actions.${tool}.${outcome}: must be an integer 0–${MAX_ACTIONS_PER_TOOL}`,
          });
          continue;
        }
        for (let i = 1; i <= total; i++) {
          rows.push({
            line,
            data: {
              type: 'outcome',
              id: `${base}:${tool}:${outcome}:${i}`,
              ts,
              person,
              task: `${tool}`,
              outcome,
            },
          });
        }
      }
    }
  });
  return rows;
}

/** One actor's Claude Code activity on one day (`core_metrics`). */
export type ClaudeCodeActivity = {
  day: string;
  person: string;
  sessions: number;
  linesAdded: number;
  linesRemoved: number;
  commits: number;
  pullRequests: number;
  customerType: string | null;
  terminalType: string | null;
};

const whole = (n: unknown) => (Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : 0);

/** The `core_metrics` of a report page (records without an actor or a day are left out). */
export function claudeCodeActivity(body: unknown): ClaudeCodeActivity[] {
  const records = (body as { data?: Record_[] } | null)?.data;
  if (!Array.isArray(records)) return [];
  const out: ClaudeCodeActivity[] = [];
  for (const record of records) {
    const person = record?.actor?.email_address ?? record?.actor?.api_key_name;
    const day = dayOf(record?.date)?.slice(0, 10);
    const metrics = record?.core_metrics;
    if (!person || !day || !/^\d{4}-\d{2}-\d{2}$/.test(day) || !metrics) continue;
    out.push({
      day,
      person,
      sessions: whole(metrics.num_sessions),
      linesAdded: whole(metrics.lines_of_code?.added),
      linesRemoved: whole(metrics.lines_of_code?.removed),
      commits: whole(metrics.commits_by_claude_code),
      pullRequests: whole(metrics.pull_requests_by_claude_code),
      customerType: typeof record.customer_type === 'string' ? record.customer_type : null,
      terminalType: typeof record.terminal_type === 'string' ? record.terminal_type : null,
    });
  }
  return out;
}

/**
 * The outcome ids each record of a report page stands for, by record: a restated day whose
 * counts went down leaves ids that must go (see restateClaudeCodeOutcomes).
 */
export function claudeCodeOutcomeIds(body: unknown): { prefix: string; ids: string[] }[] {
  const out: { prefix: string; ids: string[] }[] = [];
  for (const row of claudeCodeToRows(body)) {
    if (!('data' in row)) continue;
    const data = row.data as { type?: string; id?: string };
    if (data.type !== 'outcome' || typeof data.id !== 'string') continue;
    // claude-code:<day>:<person>:<tool>:<outcome>:<i>
    const prefix = data.id.split(':').slice(0, 3).join(':') + ':';
    let entry = out.find((e) => e.prefix === prefix);
    if (!entry) {
      entry = { prefix, ids: [] };
      out.push(entry);
    }
    entry.ids.push(data.id);
  }
  // records with no tool actions at all: every stored outcome of that day goes
  const records = (body as { data?: Record_[] } | null)?.data;
  for (const record of Array.isArray(records) ? records : []) {
    const person = record?.actor?.email_address ?? record?.actor?.api_key_name;
    const day = dayOf(record?.date)?.slice(0, 10);
    if (!person || !day) continue;
    const prefix = `claude-code:${day}:${person}:`;
    if (!out.some((e) => e.prefix === prefix)) out.push({ prefix, ids: [] });
  }
  return out;
}
