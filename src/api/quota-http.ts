// POST /v1/quota/check: checkQuota as plain JSON over HTTP, for gateways that would rather
// not speak GraphQL on every request. The same key check, the same role rules and the
// same use case as the GraphQL field (src/app/quota.ts); the answer carries the QuotaCheck
// type's fields. Errors are JSON with a stable code; domain errors take their status from
// the catalog (src/app/errors.ts); 401, 405, 413, 415 and 503 are the transport's own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError, InvalidRequestError } from '../app/errors.ts';
import { quotaFor } from '../app/quota.ts';
import type { Store } from '../store/db.ts';
import { unstorableTextProblem } from '../store/ingest/limits.ts';
import { bearerToken, type Caller } from './auth.ts';
import { readLimitedBody, tooLargeMessage } from './body.ts';
import { quotaCheckJson } from './schema/quota.ts';

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

  const bytes = await readLimitedBody(req, deps.maxBodyBytes);
  const text = bytes?.toString('utf8') ?? null;
  if (text === null) return fail(413, 'PAYLOAD_TOO_LARGE', tooLargeMessage(deps.maxBodyBytes));
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
  if (body.model !== undefined && body.model !== null && typeof body.model !== 'string')
    problems.push({ field: 'model', message: 'must be a model name (string)' });
  if (
    body.environment !== undefined &&
    body.environment !== null &&
    typeof body.environment !== 'string'
  )
    problems.push({ field: 'environment', message: 'must be production or sandbox' });
  if (body.project !== undefined && body.project !== null && typeof body.project !== 'string')
    problems.push({ field: 'project', message: 'must be a project name (string)' });
  // text PostgreSQL cannot hold is refused here, naming the field, not by the database
  for (const field of ['person', 'model', 'environment', 'project'] as const) {
    const value = body[field];
    const problem = typeof value === 'string' ? unstorableTextProblem(value) : null;
    if (problem) problems.push({ field, message: problem });
  }
  // sizes: estimatedTokens (input plus expected output), inputTokens, or both
  for (const field of ['estimatedTokens', 'inputTokens'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value > 2_147_483_647)
      problems.push({ field, message: 'must be a whole number below 2^31' });
  }
  if (body.estimatedTokens == null && body.inputTokens == null)
    problems.push({
      field: 'estimatedTokens',
      message: 'is required, or inputTokens: input plus expected output tokens',
    });
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
    const result = await quotaFor(deps.store).check(caller, {
      person: body.person as string,
      model: (body.model as string | null | undefined) ?? null,
      estimatedTokens: (body.estimatedTokens as number | null | undefined) ?? null,
      inputTokens: (body.inputTokens as number | null | undefined) ?? null,
      environment: (body.environment as string | null | undefined) ?? null,
      project: (body.project as string | null | undefined) ?? null,
    });
    send(res, 200, quotaCheckJson(result));
  } catch (error) {
    if (error instanceof DomainError)
      return fail(
        error.httpStatus,
        error.code,
        error.message,
        error instanceof InvalidRequestError ? { problems: error.problems } : {},
      );
    throw error; // the server answers 503 when the database is down, 500 otherwise
  }
}

const AUTH_HEADER = { 'WWW-Authenticate': 'Bearer realm="quotient"' };
