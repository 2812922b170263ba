// OpenTelemetry GenAI spans (OTLP/HTTP JSON) → native usage rows. The API's POST
// /v1/traces hands its parsed body to otlpToRows, the CLI a parsed export file.
import type { IngestRow } from './native.ts';

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };
type Span = {
  traceId?: string;
  spanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
};
type ExportBody = {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: Span[] }[];
  }[];
};

function plain(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}

function attributeMap(list: KeyValue[] | undefined): Map<string, unknown> {
  return new Map((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

/** The first attribute present among `keys`, span attributes before resource attributes. */
function pick(span: Map<string, unknown>, resource: Map<string, unknown>, keys: string[]): unknown {
  for (const source of [span, resource]) {
    for (const key of keys) {
      const value = source.get(key);
      if (value !== undefined && value !== '') return value;
    }
  }
  return undefined;
}

const PERSON_KEYS = ['quotient.person', 'enduser.id', 'user.id', 'user.email'];
const TEAM_KEYS = ['quotient.team', 'team.id', 'team'];
const PROJECT_KEYS = ['quotient.project', 'service.name'];
const ENVIRONMENT_KEYS = [
  'quotient.environment',
  'deployment.environment.name',
  'deployment.environment',
];
const TASK_KEYS = ['quotient.task', 'gen_ai.conversation.id'];

/** "prod"/"production" → production; any other deployment environment → sandbox. */
function environmentOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^prod(uction)?$/i.test(value) ? 'production' : 'sandbox';
}

function nanosToIso(nanos: string | number | undefined): string | undefined {
  if (nanos === undefined || nanos === '' || nanos === 0 || nanos === '0') return undefined;
  try {
    return new Date(Number(BigInt(String(nanos)) / 1_000_000n)).toISOString();
  } catch {
    return String(nanos);
  }
}

function count(value: unknown): number | unknown {
  return value === undefined ? 0 : value;
}

/**
 * Maps every GenAI span (one carrying gen_ai.usage.* or gen_ai.request.model) to a native
 * usage record; other spans are skipped. `line` is the span's position (1-based) in the
 * export. gen_ai.usage.input_tokens includes cached tokens per the semantic conventions,
 * so the cached parts are subtracted to get uncached input.
 */
export function otlpToRows(body: unknown): IngestRow[] {
  const rows: IngestRow[] = [];
  const resourceSpans = (body as ExportBody | null)?.resourceSpans;
  if (!Array.isArray(resourceSpans)) {
    return [{ line: 1, error: 'not an OTLP/JSON trace export: missing resourceSpans[]' }];
  }
  let position = 0;
  for (const rs of resourceSpans) {
    const resource = attributeMap(rs.resource?.attributes);
    for (const scope of rs.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        position++;
        const attrs = attributeMap(span.attributes);
        const model = attrs.get('gen_ai.response.model') ?? attrs.get('gen_ai.request.model');
        const hasUsage = [...attrs.keys()].some((k) => k.startsWith('gen_ai.usage.'));
        if (model === undefined && !hasUsage) continue;
        const input = count(attrs.get('gen_ai.usage.input_tokens'));
        const cacheRead = count(attrs.get('gen_ai.usage.cache_read.input_tokens'));
        const cacheWrite = count(attrs.get('gen_ai.usage.cache_creation.input_tokens'));
        const uncached =
          typeof input === 'number' &&
          typeof cacheRead === 'number' &&
          typeof cacheWrite === 'number'
            ? Math.max(0, input - cacheRead - cacheWrite)
            : input;
        rows.push({
          line: position,
          data: {
            type: 'usage',
            id: span.traceId && span.spanId ? `otlp:${span.traceId}:${span.spanId}` : undefined,
            ts: nanosToIso(span.endTimeUnixNano) ?? nanosToIso(span.startTimeUnixNano),
            person: pick(attrs, resource, PERSON_KEYS),
            team: pick(attrs, resource, TEAM_KEYS),
            model,
            provider: attrs.get('gen_ai.provider.name') ?? attrs.get('gen_ai.system'),
            input_tokens: uncached,
            output_tokens: count(attrs.get('gen_ai.usage.output_tokens')),
            cache_read_tokens: cacheRead,
            cache_write_tokens: cacheWrite,
            project: pick(attrs, resource, PROJECT_KEYS),
            environment: environmentOf(pick(attrs, resource, ENVIRONMENT_KEYS)),
            task: pick(attrs, resource, TASK_KEYS),
          },
        });
      }
    }
  }
  return rows;
}
