// Recognising "the database is unreachable" among errors from pg, Kysely and MikroORM, so
// clients get UNAVAILABLE (retry later) instead of a masked internal error.

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// SQLSTATE: connection failures (08000–08007; not 08P01, a protocol violation caused by the
// request itself, e.g. a NUL character), server shutting down or starting (57P01–57P04),
// a statement or lock wait that ran out of time (57014, 55P03), too many connections (53300)
const SQLSTATE = /^(0800[0-7]|57P0[1-4]|57014|55P03|53300)$/;
// "Query read timeout": node-postgres gave up on a server that stopped answering
const MESSAGES =
  /connection terminated|connection ended|timeout exceeded when trying to connect|client has encountered a connection error|connection refused|the database system is (starting up|shutting down)|Client was closed|Query read timeout/i;

/** Seconds a client should wait before retrying when the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 6) return false;
  const e = error as {
    code?: unknown;
    message?: unknown;
    name?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || SQLSTATE.test(e.code)))
    return true;
  if (e.name === 'ConnectionException') return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1)))
    return true;
  return (
    isDatabaseUnavailable(e.cause, depth + 1) || isDatabaseUnavailable(e.originalError, depth + 1)
  );
}

export const UNAVAILABLE_MESSAGE = 'the database is unavailable; retry shortly';
