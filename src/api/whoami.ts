// GET /v1/whoami: which key this is (its role, name and person), after the same key check
// every endpoint makes. Gateways use it to verify their key at start-up; the quota bench
// uses it as the cost of an authenticated request that does nothing else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, type Caller } from './auth.ts';

export const WHOAMI_PATH = '/v1/whoami';

export async function handleWhoami(
  req: IncomingMessage,
  res: ServerResponse,
  deps: {
    keys: { authenticate(token: string): Promise<Caller | { reason: string }> };
    send: (
      res: ServerResponse,
      status: number,
      body: unknown,
      headers?: Record<string, string>,
    ) => void;
  },
): Promise<void> {
  const unauthorized = { 'WWW-Authenticate': 'Bearer realm="quotient"' };
  const token = bearerToken(req.headers.authorization ?? null);
  if (typeof token !== 'string')
    return deps.send(res, 401, { error: token.reason, code: 'UNAUTHENTICATED' }, unauthorized);
  const caller = await deps.keys.authenticate(token);
  if ('reason' in caller)
    return deps.send(res, 401, { error: caller.reason, code: 'UNAUTHENTICATED' }, unauthorized);
  deps.send(res, 200, { role: caller.role, name: caller.name, person: caller.person });
}
