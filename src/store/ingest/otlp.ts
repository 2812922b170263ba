// OpenTelemetry GenAI spans (OTLP/HTTP, JSON or protobuf decoded to the same shape) →
// native usage rows. The API's POST /v1/traces hands its decoded body to otlpToRows, the
// CLI a parsed export file. Mappings and their sources are in docs/ingest.md ("OTLP").
//
// Only model-call spans count: an agent or workflow span (invoke_agent, OpenLLMetry
// workflow/task/agent, OpenInference AGENT/CHAIN) carries its children's total usage, and
// counting it too would count every token twice. Attribute names are read in three
// families, newest first: the OpenTelemetry GenAI semantic conventions
// (open-telemetry/semantic-conventions, docs/gen-ai/gen-ai-spans.md), OpenLLMetry's
// (traceloop/openllmetry, packages/opentelemetry-semantic-conventions-ai), and
// OpenInference's (Arize-ai/openinference, spec/semantic_conventions.md).
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
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  status?: { code?: number | string; message?: string };
};

/** How a span with no person attribute is attributed (QUOTIENT_OTLP_FALLBACK_PERSON). */
export type PersonFallback =
  /** reject the span (OTLP partial success names it) */
  | { kind: 'reject' }
  /** the service: `service:<service.name>` (the default) */
  | { kind: 'service' }
  /** one fixed person id, e.g. "unattributed" */
  | { kind: 'fixed'; person: string };

export const DEFAULT_PERSON_FALLBACK: PersonFallback = { kind: 'service' };

/** "reject", "service", or a person id. */
export function parsePersonFallback(text: string | undefined): PersonFallback {
  const value = text?.trim();
  if (!value || value === 'service') return { kind: 'service' };
  if (value === 'reject') return { kind: 'reject' };
  return { kind: 'fixed', person: value };
}

export type OtlpOptions = { personFallback?: PersonFallback };

/** A structural fault: the body is not an OTLP trace export (the receiver answers 400). */
export class MalformedOtlp extends Error {}

function plain(value: AnyValue | undefined): unknown {
  if (!value || typeof value !== 'object') return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}

function attributeMap(list: unknown, where: string): Map<string, unknown> {
  if (list === undefined || list === null) return new Map();
  if (!Array.isArray(list)) throw new MalformedOtlp(`${where}.attributes is not an array`);
  const map = new Map<string, unknown>();
  list.forEach((kv, i) => {
    if (!kv || typeof kv !== 'object' || typeof (kv as KeyValue).key !== 'string')
      throw new MalformedOtlp(`${where}.attributes[${i}] is not a key-value pair`);
    map.set((kv as KeyValue).key, plain((kv as KeyValue).value));
  });
  return map;
}

/** The first attribute present among `keys`, in the given maps in order. */
function pick(sources: Map<string, unknown>[], keys: readonly string[]): unknown {
  for (const source of sources) {
    for (const key of keys) {
      const value = source.get(key);
      if (value !== undefined && value !== '') return value;
    }
  }
  return undefined;
}

/** The value of any `<prefix>.association.properties.<property>` (OpenLLMetry association properties). */
function association(sources: Map<string, unknown>[], property: string): unknown {
  const suffix = `.association.properties.${property}`;
  for (const source of sources) {
    for (const [key, value] of source) {
      if (key.endsWith(suffix) && value !== undefined && value !== '') return value;
    }
  }
  return undefined;
}

const PERSON_KEYS = ['quotient.person', 'user.id', 'user.email', 'enduser.id'];
const TEAM_KEYS = ['quotient.team', 'team.id', 'team'];
const PROJECT_KEYS = ['quotient.project', 'service.name'];
const ENVIRONMENT_KEYS = [
  'quotient.environment',
  'deployment.environment.name',
  'deployment.environment',
];
const TASK_KEYS = ['quotient.task', 'gen_ai.conversation.id', 'session.id'];

// Token attributes, newest family first.
const INPUT_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'llm.usage.prompt_tokens',
  'llm.token_count.prompt',
];
const OUTPUT_KEYS = [
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'llm.usage.completion_tokens',
  'llm.token_count.completion',
];
const CACHE_READ_KEYS = [
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'llm.token_count.prompt_details.cache_read',
];
const CACHE_WRITE_KEYS = [
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.cache_creation_input_tokens',
  'llm.token_count.prompt_details.cache_write',
];
const AUDIO_INPUT_KEYS = ['llm.token_count.prompt_details.audio'];
const AUDIO_OUTPUT_KEYS = ['llm.token_count.completion_details.audio'];
const MODEL_KEYS = [
  'gen_ai.response.model',
  'gen_ai.request.model',
  'llm.response.model',
  'llm.request.model',
  'llm.model_name',
];
const PROVIDER_KEYS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'];
const SERVICE_TIER_KEYS = ['openai.response.service_tier', 'gen_ai.openai.response.service_tier'];

/** gen_ai.operation.name values of a model call (current and older conventions). */
const MODEL_OPERATIONS = new Set([
  'chat',
  'text_completion',
  'generate_content',
  'embeddings',
  'completion',
  'embedding',
]);
/** OpenLLMetry llm.request.type values of a model call. */
const MODEL_REQUEST_TYPES = new Set(['chat', 'completion', 'embedding']);
/** OpenInference span kinds of a model call. */
const MODEL_SPAN_KINDS = new Set(['LLM', 'EMBEDDING']);

type SpanKind = 'model' | 'other';

/**
 * Whether a span is one model call. The operation name decides when present; else the
 * OpenInference span kind; else OpenLLMetry's span kind (workflow, task, agent, tool are
 * aggregates) and request type; a span naming none of them counts when it has a model
 * or usage (the oldest instrumentations).
 */
function spanKind(attrs: Map<string, unknown>): SpanKind {
  const operation = attrs.get('gen_ai.operation.name');
  if (typeof operation === 'string') return MODEL_OPERATIONS.has(operation) ? 'model' : 'other';
  const openinference = attrs.get('openinference.span.kind');
  if (typeof openinference === 'string')
    return MODEL_SPAN_KINDS.has(openinference.toUpperCase()) ? 'model' : 'other';
  if (attrs.has('traceloop.span.kind')) return 'other';
  const requestType = attrs.get('llm.request.type');
  if (typeof requestType === 'string')
    return MODEL_REQUEST_TYPES.has(requestType) ? 'model' : 'other';
  const hasModel = pick([attrs], MODEL_KEYS) !== undefined;
  const hasUsage = pick([attrs], [...INPUT_KEYS, ...OUTPUT_KEYS]) !== undefined;
  return hasModel || hasUsage ? 'model' : 'other';
}

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

function count(value: unknown): unknown {
  return value === undefined ? 0 : value;
}

const isError = (status: Span['status']) =>
  status?.code === 2 || status?.code === 'STATUS_CODE_ERROR';

/** How a span is named in errors: its ids (and name), which the exporter can find. */
function spanLabel(span: Span, position: number): string {
  const ids = span.traceId && span.spanId ? `${span.traceId}:${span.spanId}` : `#${position}`;
  return span.name ? `${ids} (${span.name})` : ids;
}

export type OtlpRow = IngestRow & { span?: string };

/**
 * Maps every model-call span to a native usage record; other spans are skipped, and so is
 * a failed call that used no tokens (no provider usage, not a request). `line` is the
 * span's position (1-based) in the export. Input counts include cached tokens in all three
 * families, so the cached parts are subtracted to get uncached input. Throws MalformedOtlp
 * when the body is not a trace export at all.
 */
export function otlpToRows(body: unknown, options: OtlpOptions = {}): OtlpRow[] {
  const fallback = options.personFallback ?? DEFAULT_PERSON_FALLBACK;
  const resourceSpans = (body as { resourceSpans?: unknown } | null)?.resourceSpans;
  if (!body || typeof body !== 'object' || !Array.isArray(resourceSpans))
    throw new MalformedOtlp('not an OTLP trace export: missing resourceSpans[]');
  // first pass: check the structure and index the spans, so a child can inherit its
  // person, team and task from an ancestor span in the same export
  type Entry = { span: Span; attrs: Map<string, unknown>; resource: Map<string, unknown> };
  const entries: Entry[] = [];
  const bySpanId = new Map<string, Entry>();
  resourceSpans.forEach((rs, r) => {
    const at = `resourceSpans[${r}]`;
    if (!rs || typeof rs !== 'object') throw new MalformedOtlp(`${at} is not an object`);
    const { resource: res, scopeSpans } = rs as { resource?: unknown; scopeSpans?: unknown };
    if (res !== undefined && res !== null && typeof res !== 'object')
      throw new MalformedOtlp(`${at}.resource is not an object`);
    const resource = attributeMap(
      (res as { attributes?: unknown } | null)?.attributes,
      `${at}.resource`,
    );
    if (scopeSpans === undefined || scopeSpans === null) return;
    if (!Array.isArray(scopeSpans)) throw new MalformedOtlp(`${at}.scopeSpans is not an array`);
    scopeSpans.forEach((scope, s) => {
      const sat = `${at}.scopeSpans[${s}]`;
      if (!scope || typeof scope !== 'object') throw new MalformedOtlp(`${sat} is not an object`);
      const spans = (scope as { spans?: unknown }).spans;
      if (spans === undefined || spans === null) return;
      if (!Array.isArray(spans)) throw new MalformedOtlp(`${sat}.spans is not an array`);
      spans.forEach((span, i) => {
        const pat = `${sat}.spans[${i}]`;
        if (!span || typeof span !== 'object') throw new MalformedOtlp(`${pat} is not an object`);
        const entry = {
          span: span as Span,
          attrs: attributeMap((span as Span).attributes, pat),
          resource,
        };
        entries.push(entry);
        if (typeof (span as Span).spanId === 'string')
          bySpanId.set((span as Span).spanId as string, entry);
      });
    });
  });

  const ancestors = (entry: Entry): Map<string, unknown>[] => {
    const chain: Map<string, unknown>[] = [];
    const seen = new Set<Entry>();
    let parent = entry.span.parentSpanId ? bySpanId.get(entry.span.parentSpanId) : undefined;
    while (parent && !seen.has(parent) && chain.length < 64) {
      seen.add(parent);
      chain.push(parent.attrs);
      parent = parent.span.parentSpanId ? bySpanId.get(parent.span.parentSpanId) : undefined;
    }
    return chain;
  };

  const rows: OtlpRow[] = [];
  entries.forEach((entry, index) => {
    const position = index + 1;
    const { span, attrs, resource } = entry;
    if (spanKind(attrs) !== 'model') return;
    const input = count(pick([attrs], INPUT_KEYS));
    const output = count(pick([attrs], OUTPUT_KEYS));
    const cacheRead = count(pick([attrs], CACHE_READ_KEYS));
    const cacheWrite = count(pick([attrs], CACHE_WRITE_KEYS));
    // a failed call that reports no usage never reached the model: not a request
    if (isError(span.status) && !input && !output && !cacheRead && !cacheWrite) return;
    // (a negative count stays as it is, so the validator rejects it naming the field)
    const uncached =
      typeof input === 'number' &&
      input >= 0 &&
      typeof cacheRead === 'number' &&
      typeof cacheWrite === 'number'
        ? Math.max(0, input - cacheRead - cacheWrite)
        : input;
    const own = [attrs, ...ancestors(entry), resource];
    // the nearest source that names a person wins: the span, its ancestors, the resource
    let person: unknown;
    for (const source of own) {
      person = pick([source], PERSON_KEYS) ?? association([source], 'user_id');
      if (person !== undefined) break;
    }
    if (person === undefined) {
      const service = resource.get('service.name');
      if (fallback.kind === 'fixed') person = fallback.person;
      else if (fallback.kind === 'service' && typeof service === 'string' && service !== '')
        person = `service:${service}`;
    }
    const label = spanLabel(span, position);
    if (person === undefined) {
      rows.push({
        line: position,
        span: label,
        error: `no person: set user.id (or enduser.id, user.email, quotient.person, <prefix>.association.properties.user_id) on the span or resource, or a service.name for the fallback`,
      });
      return;
    }
    const audioIn = pick([attrs], AUDIO_INPUT_KEYS);
    const audioOut = pick([attrs], AUDIO_OUTPUT_KEYS);
    const tier = pick([attrs], SERVICE_TIER_KEYS);
    rows.push({
      line: position,
      span: label,
      data: {
        type: 'usage',
        id: span.traceId && span.spanId ? `otlp:${span.traceId}:${span.spanId}` : undefined,
        ts: nanosToIso(span.endTimeUnixNano) ?? nanosToIso(span.startTimeUnixNano),
        person,
        team: pick(own, TEAM_KEYS) ?? association(own, 'team_id'),
        model: pick([attrs], MODEL_KEYS),
        provider: pick([attrs], PROVIDER_KEYS),
        input_tokens: uncached,
        output_tokens: output,
        cache_read_tokens: cacheRead,
        cache_write_tokens: cacheWrite,
        ...(audioIn === undefined ? {} : { audio_input_tokens: audioIn }),
        ...(audioOut === undefined ? {} : { audio_output_tokens: audioOut }),
        ...(tier === undefined ? {} : { service_tier: tier }),
        project: pick([attrs, resource], PROJECT_KEYS),
        environment: environmentOf(pick([attrs, resource], ENVIRONMENT_KEYS)),
        task: pick(own, TASK_KEYS),
      },
    });
  });
  return rows;
}

/**
 * An export file for `quotient import --format otlp`: a structural fault becomes one
 * rejected record; spans with no person follow the otlp-fallback-person setting.
 */
export function otlpDocumentToRows(body: unknown, options: OtlpOptions = {}): IngestRow[] {
  try {
    return otlpToRows(body, options);
  } catch (error) {
    if (error instanceof MalformedOtlp) return [{ line: 1, error: error.message }];
    throw error;
  }
}
