// POST /v1/quota/check: checkQuota as plain JSON over HTTP, for gateways that would rather
// not speak GraphQL on every request. The same key check, the same role rules and the
// same engine call as the GraphQL field (quotaCheckRequest, Enforcement.checkQuota); the
// answer carries the QuotaCheck type's fields. Errors are JSON with a stable code:
// 400 INVALID_REQUEST, 401 UNAUTHENTICATED, 403 FORBIDDEN, 405, 409 NO_ACTIVE_POLICY,
// 413 PAYLOAD_TOO_LARGE, 415, 503 UNAVAILABLE.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError, InvalidRequestError, NoActivePolicyError } from '../app/errors.ts';
import type { Store } from '../store/db.ts';
import { bearerToken, type Caller } from './auth.ts';
import { enforcementFor } from './enforcement.ts';
import { quotaCheckJson, quotaCheckRequest } from './schema/enforcement.ts';

export const QUOTA_CHECK_PATH = '/v1/quota/check';

type Send = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
) => void;

export async function handleQuotaCheck(
  req: IncomingMessage,
  res: ServerResponse,
  deps: {
    store: Store;
    keys: { authenticate(token: string): Promise<Caller | { reason: string }> };
    maxBodyBytes: number;
    send: Send;
  },
): Promise<void> {
  const { send } = deps;
  const fail = (status: number, code: string, message: string, extra: object = {}) =>
    send(res, status, { error: message, code, ...extra }, status === 401 ? AUTH_HEADER : {});
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return fail(405, 'METHOD_NOT_ALLOWED', `${QUOTA_CHECK_PATH} takes POST with a JSON body`);
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json')
    return fail(415, 'UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json');
  const token = bearerToken(req.headers.authorization ?? null);
  if (typeof token !== 'string') return fail(401, 'UNAUTHENTICATED', token.reason);
  const caller = await deps.keys.authenticate(token);
  if ('reason' in caller) return fail(401, 'UNAUTHENTICATED', caller.reason);

  const text = await readBody(req, deps.maxBodyBytes);
  if (text === null)
    return fail(
      413,
      'PAYLOAD_TOO_LARGE',
      `request body exceeds the ${deps.maxBodyBytes}-byte limit`,
    );
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return fail(400, 'INVALID_REQUEST', 'the body is not valid JSON');
  }
  const problems: { field: string; message: string }[] = [];
  const body = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  if (typeof body.person !== 'string')
    problems.push({ field: 'person', message: 'is required: a person id (string)' });
  if (typeof body.model !== 'string')
    problems.push({ field: 'model', message: 'is required: a model name (string)' });
  if (typeof body.estimatedTokens !== 'number')
    problems.push({
      field: 'estimatedTokens',
      message: 'is required: input plus expected output tokens',
    });
  else if (!Number.isInteger(body.estimatedTokens) || body.estimatedTokens > 2_147_483_647)
    problems.push({ field: 'estimatedTokens', message: 'must be a whole number below 2^31' });
  if (problems.length > 0)
    return fail(
      400,
      'INVALID_REQUEST',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      {
        problems,
      },
    );
  try {
    const request = quotaCheckRequest(caller, {
      person: body.person as string,
      model: body.model as string,
      estimatedTokens: body.estimatedTokens as number,
    });
    const result = await enforcementFor(deps.store).checkQuota(request);
    send(res, 200, quotaCheckJson(result));
  } catch (error) {
    if (error instanceof InvalidRequestError)
      return fail(400, error.code, error.message, { problems: error.problems });
    if (error instanceof NoActivePolicyError) return fail(409, error.code, error.message);
    if (error instanceof DomainError)
      return fail(error.code === 'FORBIDDEN' ? 403 : 400, error.code, error.message);
    throw error; // the server answers 503 when the database is down, 500 otherwise
  }
}

const AUTH_HEADER = { 'WWW-Authenticate': 'Bearer realm="quotient"' };

/** The body as text, or null once it passes `limit` bytes (chunked bodies included). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
