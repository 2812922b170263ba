// OTLP ingest from the real OpenTelemetry exporter: an instrumented app reports GenAI
// usage to POST /v1/traces with an ingest key and no custom code.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.stop();
});

/** Records spans in memory so each test can export them and see the exporter's verdict. */
function recordSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'support-bot',
      'deployment.environment.name': 'production',
      'enduser.id': 'ana@acme.test',
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('otlp-test');
  const chat = tracer.startSpan('chat claude-sonnet-4-5', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 350,
      'gen_ai.usage.cache_read.input_tokens': 200,
    },
  });
  chat.end();
  const other = tracer.startSpan('GET /orders'); // not a GenAI span: skipped
  other.end();
  const embed = tracer.startSpan('embeddings gpt-4o-mini', {
    attributes: {
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 80,
      'enduser.id': 'bo@acme.test',
    },
  });
  embed.end();
  return memory.getFinishedSpans();
}

/** POSTs OTLP/HTTP JSON spans (one resource, one scope) with the ingest key. */
function postSpans(spans: unknown[]): Promise<Response> {
  return fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.keys.ingest.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
  });
}

function exportWith(key: string, spans: ReadableSpan[]): Promise<ExportResult> {
  const exporter = new OTLPTraceExporter({
    url: `${api.url}/v1/traces`,
    headers: { Authorization: `Bearer ${key}` },
  });
  return new Promise((resolve) => exporter.export(spans, resolve)).finally(() =>
    exporter.shutdown(),
  ) as Promise<ExportResult>;
}

describe('OTLP/HTTP JSON receiver', () => {
  it('ingests GenAI spans from the real exporter, idempotently', async () => {
    const spans = recordSpans();
    const first = await exportWith(api.keys.ingest.key, spans);
    expect(first.code).toBe(ExportResultCode.SUCCESS);
    const rows = await api.store.query<Record<string, unknown>>(
      `select person_id, model, provider, input_tokens::int as input, output_tokens::int as output,
              cache_read_tokens::int as cache_read, project, environment, source
       from usage_events order by person_id`,
    );
    expect(rows).toEqual([
      {
        person_id: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        provider: 'anthropic',
        input: 1000,
        output: 350,
        cache_read: 200,
        project: 'support-bot',
        environment: 'production',
        source: 'otlp',
      },
      {
        person_id: 'bo@acme.test',
        model: 'gpt-4o-mini',
        provider: 'openai',
        input: 80,
        output: 0,
        cache_read: 0,
        project: 'support-bot',
        environment: 'production',
        source: 'otlp',
      },
    ]);
    // an exporter retry sends the same spans again: nothing counts twice
    expect((await exportWith(api.keys.ingest.key, spans)).code).toBe(ExportResultCode.SUCCESS);
    const count = await api.store.query<{ n: string }>('select count(*) as n from usage_events');
    expect(Number(count[0].n)).toBe(2);
  });

  it('refuses a bad key and a role that may not ingest', async () => {
    const spans = recordSpans();
    const bad = await exportWith('qk_wrong', spans);
    expect(bad.code).toBe(ExportResultCode.FAILED);
    expect((bad.error as { code?: number }).code).toBe(401);
    const viewer = await exportWith(api.keys.viewer.key, spans);
    expect(viewer.code).toBe(ExportResultCode.FAILED);
    expect((viewer.error as { code?: number }).code).toBe(403);
  });

  it('answers plain HTTP mistakes with clear messages', async () => {
    const auth = { authorization: `Bearer ${api.keys.ingest.key}` };
    const proto = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([1, 2, 3]),
    });
    expect(proto.status).toBe(400);
    expect((await proto.json()).message).toMatch(/not an OTLP protobuf ExportTraceServiceRequest/);
    const broken = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"resourceSpans": [',
    });
    expect(broken.status).toBe(400);
    expect((await broken.json()).message).toMatch(/not valid JSON/);
    const get = await fetch(`${api.url}/v1/traces`, { headers: auth });
    expect(get.status).toBe(405);
  });

  it('rejects a span with a NUL character alone', async () => {
    const span = (id: string, person: string) => ({
      traceId: 'cc',
      spanId: id,
      endTimeUnixNano: '1790000000000000000',
      attributes: [
        { key: 'gen_ai.request.model', value: { stringValue: 'm' } },
        { key: 'enduser.id', value: { stringValue: person } },
      ],
    });
    const res = await postSpans([span('d1', 'di@acme.test'), span('d2', 'd\u0000i@acme.test')]);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess).toEqual({
      rejectedSpans: '1',
      errorMessage:
        'span cc:d2: person: contains a NUL character (\\u0000), which cannot be stored',
    });
    const stored = await api.store.query("select id from usage_events where id = 'otlp:cc:d1'");
    expect(stored).toHaveLength(1);
  });

  it('reports rejected spans as OTLP partial success', async () => {
    const res = await postSpans([
      {
        traceId: 'aa',
        spanId: 'bb',
        endTimeUnixNano: '1790000000000000000',
        attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm' } }],
      },
    ]);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess.rejectedSpans).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/^span aa:bb: no person/);
  });
});
