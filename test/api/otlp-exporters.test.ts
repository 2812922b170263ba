// OTLP as SDKs send it: the real OpenTelemetry JS exporters (OTLP/HTTP JSON from
// @opentelemetry/exporter-trace-otlp-http, OTLP/HTTP protobuf from
// @opentelemetry/exporter-trace-otlp-proto), each with and without gzip compression,
// export the same spans to a real server, and land the same totals.
//
// The spans follow three attribute families, each as its public source writes them:
// - OpenTelemetry GenAI semantic conventions (open-telemetry/semantic-conventions,
//   docs/gen-ai/gen-ai-spans.md and gen-ai-agent-spans.md): gen_ai.operation.name chat,
//   embeddings, invoke_agent; gen_ai.usage.input_tokens (cached included),
//   gen_ai.usage.cache_read.input_tokens, gen_ai.usage.cache_creation.input_tokens
// - OpenLLMetry (traceloop/openllmetry, packages/opentelemetry-semantic-conventions-ai,
//   SpanAttributes): llm.request.type, gen_ai.usage.prompt_tokens / completion_tokens,
//   gen_ai.usage.cache_read_input_tokens, traceloop.span.kind, and association properties
//   (traceloop.association.properties.user_id)
// - OpenInference (Arize-ai/openinference, spec/semantic_conventions.md):
//   openinference.span.kind LLM / CHAIN, llm.model_name, llm.token_count.prompt /
//   completion, llm.token_count.prompt_details.cache_read

import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
/** a pass-through proxy in front of the API that records what each exporter sent */
let proxy: Server;
let proxyUrl: string;
const seen: { type: string; encoding: string }[] = [];

beforeAll(async () => {
  api = await startTestApi();
  const source = readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8');
  await publishPolicySource(api.store, { source, activate: true });
  const target = new URL(api.url);
  proxy = createServer((req, res) => {
    seen.push({
      type: String(req.headers['content-type'] ?? ''),
      encoding: String(req.headers['content-encoding'] ?? 'identity'),
    });
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await api?.stop();
});

/** One agent run as an instrumented app records it; `service` tells the variants apart. */
function recordRun(service: string): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'deployment.environment.name': 'production',
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('otlp-exporters-test');
  const under = (parent: Span) => trace.setSpan(ROOT_CONTEXT, parent);
  // the agent span carries the run's total usage: never counted on top of its children
  const agent = tracer.startSpan('invoke_agent support', {
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.usage.input_tokens': 3_000,
      'gen_ai.usage.output_tokens': 700,
      'user.id': 'ana@acme.test',
    },
  });
  const spans: Span[] = [
    // current conventions; the person is on the agent span above (inherited)
    tracer.startSpan(
      'chat claude-sonnet-4-5',
      {
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.request.model': 'claude-sonnet-4-5',
          'gen_ai.response.model': 'claude-sonnet-4-5-20250929',
          'gen_ai.usage.input_tokens': 2_000,
          'gen_ai.usage.cache_read.input_tokens': 500,
          'gen_ai.usage.cache_creation.input_tokens': 300,
          'gen_ai.usage.output_tokens': 500,
        },
      },
      under(agent),
    ),
    // OpenLLMetry: older names, person in association properties
    tracer.startSpan(
      'openai.chat',
      {
        attributes: {
          'llm.request.type': 'chat',
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o-2024-08-06',
          'gen_ai.usage.prompt_tokens': 1_000,
          'gen_ai.usage.completion_tokens': 200,
          'gen_ai.usage.cache_read_input_tokens': 400,
          'traceloop.association.properties.user_id': 'bo@acme.test',
        },
      },
      under(agent),
    ),
    // OpenLLMetry workflow span: an aggregate
    tracer.startSpan(
      'support.workflow',
      {
        attributes: {
          'traceloop.span.kind': 'workflow',
          'gen_ai.usage.prompt_tokens': 9_999,
          'traceloop.association.properties.user_id': 'bo@acme.test',
        },
      },
      under(agent),
    ),
    // OpenInference LLM span, and a CHAIN span above it that is not counted
    tracer.startSpan('ChatCompletion', {
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'openai/gpt-4o-mini-2024-07-18',
        'llm.provider': 'openai',
        'llm.token_count.prompt': 300,
        'llm.token_count.completion': 50,
        'llm.token_count.prompt_details.cache_read': 100,
        'user.id': 'cy@acme.test',
      },
    }),
    tracer.startSpan('RetrievalChain', {
      attributes: {
        'openinference.span.kind': 'CHAIN',
        'llm.token_count.prompt': 9_999,
        'user.id': 'cy@acme.test',
      },
    }),
    // embeddings, a model with no price in the policy
    tracer.startSpan('embeddings text-embedding-3-small', {
      attributes: {
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.request.model': 'text-embedding-3-small',
        'gen_ai.usage.input_tokens': 64,
        'user.id': 'dana@acme.test',
      },
    }),
  ];
  // a failed call that never reached the model: not a request
  const refused = tracer.startSpan('chat claude-sonnet-4-5', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'error.type': '429',
      'user.id': 'ana@acme.test',
    },
  });
  refused.setStatus({ code: SpanStatusCode.ERROR });
  // a failed call that was billed for its prompt: counted
  const billed = tracer.startSpan('chat claude-sonnet-4-5', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 10,
      'user.id': 'ana@acme.test',
    },
  });
  billed.setStatus({ code: SpanStatusCode.ERROR });
  for (const span of [...spans, refused, billed]) span.end();
  agent.end();
  return memory.getFinishedSpans();
}

function exportWith(
  kind: 'json' | 'protobuf',
  gzip: boolean,
  spans: ReadableSpan[],
): Promise<ExportResult> {
  const config = {
    url: `${proxyUrl}/v1/traces`,
    headers: { Authorization: `Bearer ${api.keys.ingest.key}` },
    compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
  const exporter = kind === 'json' ? new JsonExporter(config) : new ProtoExporter(config);
  return new Promise<ExportResult>((resolve) => exporter.export(spans, resolve)).finally(() =>
    exporter.shutdown(),
  );
}

const VARIANTS = [
  { kind: 'json', gzip: false, type: 'application/json', encoding: 'identity' },
  { kind: 'json', gzip: true, type: 'application/json', encoding: 'gzip' },
  { kind: 'protobuf', gzip: false, type: 'application/x-protobuf', encoding: 'identity' },
  { kind: 'protobuf', gzip: true, type: 'application/x-protobuf', encoding: 'gzip' },
] as const;

describe('the real OpenTelemetry exporters', () => {
  it.each(VARIANTS)('$kind (gzip $gzip) lands the hand-computed totals', async (v) => {
    const service = `app-${v.kind}-${v.gzip ? 'gzip' : 'plain'}`;
    seen.length = 0;
    const result = await exportWith(v.kind, v.gzip, recordRun(service));
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(seen).toEqual([{ type: v.type, encoding: v.encoding }]);
    const rows = await api.store.query<Record<string, string>>(
      `select person_id, model, coalesce(provider_model, '') as provider_model,
              input_tokens::text as input, output_tokens::text as output,
              cache_read_tokens::text as cache_read, cache_write_tokens::text as cache_write,
              coalesce(cost::text, 'unpriced') as cost
         from usage_events where project = $1 order by person_id, model, input_tokens`,
      [service],
    );
    // uncached input = input − cache reads − cache writes; prices per 1M from default.policy
    expect(rows).toEqual([
      // 10 × $3 = $0.00003
      row('ana@acme.test', 'claude-sonnet-4-5', '', 10, 0, 0, 0, '0.000030000000'),
      // 1,200 × $3 + 500 × $15 + 500 × $0.30 + 300 × $3.75 = $0.012375
      row(
        'ana@acme.test',
        'claude-sonnet-4-5',
        'claude-sonnet-4-5-20250929',
        1_200,
        500,
        500,
        300,
        '0.012375000000',
      ),
      // 600 × $2.50 + 200 × $10 + 400 × $1.25 = $0.004
      row('bo@acme.test', 'gpt-4o', 'gpt-4o-2024-08-06', 600, 200, 400, 0, '0.004000000000'),
      // 200 × $0.15 + 50 × $0.60 + 100 × $0.075 = $0.0000675
      row(
        'cy@acme.test',
        'gpt-4o-mini',
        'openai/gpt-4o-mini-2024-07-18',
        200,
        50,
        100,
        0,
        '0.000067500000',
      ),
      // 64 × $0.02 = $0.00000128: every token row is priced under default.policy
      row('dana@acme.test', 'text-embedding-3-small', '', 64, 0, 0, 0, '0.000001280000'),
    ]);
  });

  it('a retried export counts nothing twice', async () => {
    const spans = recordRun('app-retry');
    expect((await exportWith('protobuf', true, spans)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith('protobuf', true, spans)).code).toBe(ExportResultCode.SUCCESS);
    const [n] = await api.store.query<{ n: string }>(
      "select count(*)::text as n from usage_events where project = 'app-retry'",
    );
    expect(n.n).toBe('5');
  });
});

function row(
  person: string,
  model: string,
  providerModel: string,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  cost: string,
) {
  return {
    person_id: person,
    model,
    provider_model: providerModel,
    input: String(input),
    output: String(output),
    cache_read: String(cacheRead),
    cache_write: String(cacheWrite),
    cost,
  };
}

describe('malformed and partial exports', () => {
  const post = (body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) =>
    fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${api.keys.ingest.key}`,
        'content-type': 'application/json',
        ...headers,
      },
      body,
    });

  it('answers 400 naming the fault for a body that is not a trace export', async () => {
    const res = await post('{"resourceSpans":[null]}');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 3,
      message: 'malformed OTLP export: resourceSpans[0] is not an object',
      details: [{ rejectedSpans: '0', errorMessage: 'resourceSpans[0] is not an object' }],
    });
    const spans = await post('{"resourceSpans":[{"scopeSpans":[{"spans":[7]}]}]}');
    expect(spans.status).toBe(400);
    expect((await spans.json()).message).toMatch(/resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]/);
  });

  it('answers 400 for a body that is not gzip, and takes a gzip JSON body', async () => {
    const bad = await post('not gzip', { 'content-encoding': 'gzip' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/not valid gzip/);
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gz' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'ab',
                  spanId: 'cd',
                  name: 'chat',
                  endTimeUnixNano: '1790000000000000000',
                  attributes: [
                    { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
                    { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
                    { key: 'gen_ai.usage.input_tokens', value: { intValue: '5' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const ok = await post(new Uint8Array(gzipSync(JSON.stringify(body))), {
      'content-encoding': 'gzip',
    });
    expect(ok.status).toBe(200);
    const [stored] = await api.store.query<{ person_id: string }>(
      "select person_id from usage_events where id = 'otlp:ab:cd'",
    );
    // no person attribute: the service is the fallback
    expect(stored.person_id).toBe('service:gz');
  });

  it('names rejected spans by trace and span id in the partial success', async () => {
    const res = await post(
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'ee',
                    spanId: 'ff',
                    name: 'chat x',
                    endTimeUnixNano: '1790000000000000000',
                    attributes: [
                      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
                      { key: 'gen_ai.request.model', value: { stringValue: 'x' } },
                      { key: 'user.id', value: { stringValue: 'ana@acme.test' } },
                      { key: 'gen_ai.usage.input_tokens', value: { intValue: '-3' } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect((await res.json()).partialSuccess).toEqual({
      rejectedSpans: '1',
      errorMessage: 'span ee:ff (chat x): input_tokens: must be a non-negative integer',
    });
  });
});
