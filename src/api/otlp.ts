// POST /v1/traces: the OTLP/HTTP trace receiver (JSON or protobuf, plain or gzip). Any OpenTelemetry SDK or Collector
// can export GenAI spans here with an ingest key; they are mapped by the store's OTLP
// adapter and loaded through the same path as every other ingest.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import type { Logger } from 'pino';
import { can } from '../app/roles.ts';
import type { Store } from '../store/db.ts';
import {
  MalformedOtlp,
  type OtlpRow,
  otlpToRows,
  type PersonFallback,
} from '../store/ingest/otlp.ts';
import { type IngestTotals, ingestBatch } from '../store/loader.ts';
import { bearerToken } from './auth.ts';
import { readLimitedBody } from './body.ts';
import type { KeyAuthenticator } from './key-cache.ts';
import { decodeTraceRequest, encodeTraceResponse } from './otlp-protobuf.ts';
import { sendJson } from './server.ts';
import { UNAVAILABLE_MESSAGE } from './unavailable.ts';

const gunzip = promisify(gunzipCallback);

export type OtlpDeps = {
  store: Store;
  keys: KeyAuthenticator;
  log: Logger;
  maxBodyBytes: number;
  /** who a span naming no person is attributed to (default: its service) */
  personFallback?: PersonFallback;
};

export async function handleOtlpTraces(req: IncomingMessage, res: ServerResponse, deps: OtlpDeps) {
  if (req.method !== 'POST') {
    return sendJson(
      res,
      405,
      { code: 3, message: 'use POST with an OTLP/HTTP JSON or protobuf body' },
      { allow: 'POST' },
    );
  }
  const token = bearerToken(req.headers.authorization ?? null);
  const caller = typeof token === 'string' ? await deps.keys.authenticate(token) : token;
  if ('reason' in caller) {
    return sendJson(
      res,
      401,
      { code: 16, message: caller.reason },
      { 'www-authenticate': 'Bearer realm="quotient"' },
    );
  }
  if (!can(caller.role, 'writeEvents')) {
    return sendJson(res, 403, {
      code: 7,
      message: `role "${caller.role}" may not ingest; use an ingest key`,
    });
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const protobufBody = type === 'application/x-protobuf';
  if (type !== 'application/json' && !protobufBody) {
    return sendJson(res, 415, {
      code: 3,
      message: `unsupported content type "${type}": this receiver takes OTLP/HTTP JSON (application/json) or protobuf (application/x-protobuf)`,
    });
  }
  const encoding = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    return sendJson(res, 415, {
      code: 3,
      message: `unsupported content encoding "${encoding}": send gzip or no encoding`,
    });
  }
  let body: unknown;
  try {
    let bytes = await readBody(req, deps.maxBodyBytes);
    // the limit holds for the inflated body too: a small gzip bomb cannot grow past it
    if (encoding === 'gzip') bytes = await gunzip(bytes, { maxOutputLength: deps.maxBodyBytes });
    body = protobufBody ? decodeTraceRequest(bytes) : JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    const tooLarge =
      error instanceof BodyTooLarge || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    const message = tooLarge
      ? `body exceeds the ${deps.maxBodyBytes}-byte limit: export smaller batches`
      : encoding === 'gzip' && (error as { code?: string }).code?.startsWith('Z_')
        ? `body is not valid gzip: ${(error as Error).message}`
        : protobufBody
          ? `body is not an OTLP protobuf ExportTraceServiceRequest: ${(error as Error).message}`
          : `body is not valid JSON: ${(error as Error).message}`;
    return sendJson(res, tooLarge ? 413 : 400, { code: 3, message });
  }
  let rows: OtlpRow[];
  try {
    rows = otlpToRows(body, { personFallback: deps.personFallback });
  } catch (error) {
    if (!(error instanceof MalformedOtlp)) throw error;
    // not a trace export at all: nothing is stored, and a retry would fail the same way
    return sendJson(res, 400, {
      code: 3,
      message: `malformed OTLP export: ${error.message}`,
      details: [{ rejectedSpans: '0', errorMessage: error.message }],
    });
  }
  const result = await ingestBatch(deps.store, rows, { source: 'otlp' });
  if (result.totals.failedChunks > 0) {
    // a chunk rolled back: tell the exporter to retry the whole export later
    return sendJson(res, 503, { code: 14, message: UNAVAILABLE_MESSAGE }, { 'retry-after': '5' });
  }
  deps.log.info({ key: caller.keyId, ...summary(result.totals) }, 'otlp export ingested');
  // OTLP partial success: spans that were not model calls are skipped, not rejected; a
  // rejected span is named by its trace and span ids
  const labels = new Map(rows.map((r) => [r.line, r.span]));
  const rejected = result.results.filter((r) => r.status === 'rejected');
  const firstReasons = rejected
    .slice(0, 3)
    .map((r) => `span ${labels.get(r.line) ?? r.line}: ${r.reason}`);
  const partial =
    rejected.length > 0
      ? {
          rejectedSpans: rejected.length,
          errorMessage:
            firstReasons.join('; ') +
            (rejected.length > 3 ? `; and ${rejected.length - 3} more` : ''),
        }
      : null;
  if (protobufBody) {
    const bytes = encodeTraceResponse(partial);
    res.writeHead(200, {
      'content-type': 'application/x-protobuf',
      'content-length': bytes.length,
    });
    res.end(bytes);
    return;
  }
  return sendJson(
    res,
    200,
    partial
      ? {
          partialSuccess: {
            rejectedSpans: String(partial.rejectedSpans),
            errorMessage: partial.errorMessage,
          },
        }
      : {},
  );
}

class BodyTooLarge extends Error {}

/** The body; past the limit the rest is read and dropped (a 413, not a reset connection). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const bytes = await readLimitedBody(req, limit);
  if (bytes === null)
    throw new BodyTooLarge(`body exceeds the ${limit}-byte limit: export smaller batches`);
  return bytes;
}

function summary(totals: IngestTotals) {
  return {
    rows: totals.rows,
    accepted: totals.accepted,
    duplicates: totals.duplicates,
    rejected: totals.rejected,
    unpriced: totals.unpriced,
  };
}
