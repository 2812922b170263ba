// POST /v1/traces: the OTLP/HTTP JSON trace receiver. Any OpenTelemetry SDK or Collector
// can export GenAI spans here with an ingest key; they are mapped by the store's OTLP
// adapter and loaded through the same path as every other ingest.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { can } from '../app/roles.ts';
import type { Store } from '../store/db.ts';
import { otlpToRows } from '../store/ingest/otlp.ts';
import { type IngestTotals, ingestBatch } from '../store/loader.ts';
import { bearerToken } from './auth.ts';
import type { KeyAuthenticator } from './server.ts';
import { sendJson } from './server.ts';
import { UNAVAILABLE_MESSAGE } from './unavailable.ts';

export type OtlpDeps = { store: Store; keys: KeyAuthenticator; log: Logger; maxBodyBytes: number };

export async function handleOtlpTraces(req: IncomingMessage, res: ServerResponse, deps: OtlpDeps) {
  if (req.method !== 'POST') {
    return sendJson(
      res,
      405,
      { code: 3, message: 'use POST with an OTLP/HTTP JSON body' },
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
  if (type !== 'application/json') {
    return sendJson(res, 415, {
      code: 3,
      message: `unsupported content type "${type}": this receiver takes OTLP/HTTP JSON (application/json)`,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, deps.maxBodyBytes));
  } catch (error) {
    const tooLarge = error instanceof BodyTooLarge;
    return sendJson(res, tooLarge ? 413 : 400, {
      code: 3,
      message: tooLarge ? error.message : `body is not valid JSON: ${(error as Error).message}`,
    });
  }
  const result = await ingestBatch(deps.store, otlpToRows(body), { source: 'otlp' });
  if (result.totals.failedChunks > 0) {
    // a chunk rolled back: tell the exporter to retry the whole export later
    return sendJson(res, 503, { code: 14, message: UNAVAILABLE_MESSAGE }, { 'retry-after': '5' });
  }
  deps.log.info({ key: caller.keyId, ...summary(result.totals) }, 'otlp export ingested');
  // OTLP partial success: spans that were not GenAI usage are skipped, not rejected
  const rejected = result.totals.rejected;
  const firstReasons = result.results
    .filter((r) => r.status === 'rejected')
    .slice(0, 3)
    .map((r) => `span ${r.line}: ${r.reason}`);
  return sendJson(
    res,
    200,
    rejected > 0
      ? {
          partialSuccess: {
            rejectedSpans: String(rejected),
            errorMessage: firstReasons.join('; '),
          },
        }
      : {},
  );
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge(`body exceeds the ${limit}-byte limit: export smaller batches`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
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
