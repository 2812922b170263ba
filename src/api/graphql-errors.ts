// What a GraphQL error shows the client and the log. A domain error thrown by a use case
// outside a result union (a refusal on a list field) reaches the client with its own code
// and message; an unreachable database as UNAVAILABLE with Retry-After; anything else as
// Yoga's generic "Unexpected error." (no database text, no stack). In the log, expected
// failures are one line without a stack (a refusal at warn, other domain errors at info,
// the database down at warn); only the unexpected are errors with their stack.
import type { GraphQLError } from 'graphql';
import { createGraphQLError, maskError, type YogaLogger } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from '../app/errors.ts';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE } from './unavailable.ts';

type Located = { path?: readonly (string | number)[]; nodes?: never };

/** Yoga's maskError: domain errors and the database being down are not masked. */
export function maskGraphqlError(error: unknown, message: string): Error {
  if (isDatabaseUnavailable(error)) return unavailableError(error);
  const domain = domainErrorOf(error);
  if (domain) {
    const located = error as Located;
    return createGraphQLError(domain.message, {
      path: located.path,
      nodes: located.nodes,
      extensions: { code: domain.code },
    });
  }
  return maskError(error, message, false);
}

export function unavailableError(error: unknown) {
  const located = error as Located;
  return createGraphQLError(UNAVAILABLE_MESSAGE, {
    path: located.path,
    nodes: located.nodes,
    extensions: {
      code: 'UNAVAILABLE',
      http: { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } },
    },
  });
}

/** Yoga's logger on pino; Yoga logs every error it masks (or maps) with `error`. */
export function yogaLogger(log: Logger): YogaLogger {
  return {
    debug: (...args) => log.debug(args.map(String).join(' ')),
    info: (...args) => log.info(args.map(String).join(' ')),
    warn: (...args) => log.warn(args.map(String).join(' ')),
    error: (...args) => {
      const [error] = args;
      const path = (error as GraphQLError | undefined)?.path?.join('.');
      const domain = domainErrorOf(error);
      if (domain) {
        const level = domain.code === 'FORBIDDEN' ? 'warn' : 'info';
        log[level]({ code: domain.code, path, reason: domain.message }, 'request refused');
      } else if (isDatabaseUnavailable(error)) {
        log.warn({ path, reason: describe(error) }, 'database unavailable');
      } else if (error instanceof Error) {
        log.error({ err: error, path }, error.message);
      } else log.error(args.map(String).join(' '));
    },
  };
}

function domainErrorOf(error: unknown): DomainError | null {
  if (error instanceof DomainError) return error;
  const original = (error as { originalError?: unknown } | null)?.originalError;
  return original instanceof DomainError ? original : null;
}

/** A database failure in a few words: its code and the driver's message, for the log. */
export function describe(error: unknown): string {
  let e = error as { code?: string; message?: string; originalError?: unknown };
  while (e?.originalError && !e.code) e = e.originalError as typeof e;
  return [e?.code, e?.message].filter(Boolean).join(' ') || String(error);
}
