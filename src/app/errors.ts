// The domain errors: every expected failure a use case can report, in one catalog. Each code
// is mapped once here to its HTTP status and CLI exit code; src/api/schema/errors.ts maps
// each class once to its GraphQL type. Transports never invent codes of their own.
import type { Diagnostic } from '../policy/diagnostics.ts';

/** code → HTTP status and CLI exit code (sysexits-style, 1 reserved for "the check failed"). */
export const ERROR_CATALOG = {
  INVALID_REQUEST: { http: 400, exit: 2, title: 'The request is not acceptable' },
  INVALID_ARGUMENT: { http: 400, exit: 2, title: 'An argument is not acceptable' },
  INVALID_WINDOW: { http: 400, exit: 2, title: 'The window is not acceptable' },
  BATCH_TOO_LARGE: { http: 413, exit: 2, title: 'Too many rows in one call' },
  POLICY_INVALID: { http: 422, exit: 1, title: 'The policy text has errors' },
  UNAUTHENTICATED: { http: 401, exit: 77, title: 'No valid key' },
  FORBIDDEN: { http: 403, exit: 77, title: 'The caller may not do this' },
  NOT_FOUND: { http: 404, exit: 66, title: 'Not found' },
  CONFLICT: { http: 409, exit: 65, title: 'The state does not allow this' },
  NO_SEMANTIC_CHANGE: { http: 409, exit: 65, title: 'The policy means the same as a stored one' },
  NO_ACTIVE_POLICY: { http: 409, exit: 78, title: 'No policy is active' },
  UNAVAILABLE: { http: 503, exit: 75, title: 'The database is not answering' },
} as const satisfies Record<string, { http: number; exit: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export type FieldProblem = { field: string; message: string };

/** An expected failure with a stable code. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
  get httpStatus(): number {
    return ERROR_CATALOG[this.code].http;
  }
  get exitCode(): number {
    return ERROR_CATALOG[this.code].exit;
  }
}

export class NotFoundError extends DomainError {
  readonly what: string;
  readonly key: string;
  constructor(what: string, key: string) {
    super('NOT_FOUND', `${what} "${key}" not found`);
    this.what = what;
    this.key = key;
  }
}

/** A role or resource rule said no (e.g. a member acting for another person). */
export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** An argument that is well-typed but not acceptable (e.g. a member key with no person). */
export class InvalidArgumentError extends DomainError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('INVALID_ARGUMENT', message);
    this.argument = argument;
  }
}

/** Several fields of one request are wrong; each named with what is wrong with it. */
export class InvalidRequestError extends DomainError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super('INVALID_REQUEST', problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.problems = problems;
  }
}

export class InvalidWindowError extends DomainError {
  readonly window: string;
  constructor(window: string, message: string) {
    super('INVALID_WINDOW', message);
    this.window = window;
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class NoActivePolicyError extends DomainError {
  constructor() {
    super(
      'NO_ACTIVE_POLICY',
      'no policy is active: publish and activate one (quotient policy publish --activate)',
    );
  }
}

export class PolicyInvalidError extends DomainError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    super(
      'POLICY_INVALID',
      `policy has ${errors.length} error${errors.length === 1 ? '' : 's'}` +
        (first
          ? `; first at ${first.range.start.line}:${first.range.start.column}: ${first.message}`
          : ''),
    );
    this.diagnostics = diagnostics;
  }
}

/** Publishing text whose meaning is already stored: nothing new is written. */
export class PolicyUnchangedError extends DomainError {
  readonly existingId: number;
  readonly existingVersion: string;
  readonly hash: string;
  constructor(existing: { id: number; version: string; hash: string }) {
    super(
      'NO_SEMANTIC_CHANGE',
      `no semantic change: this policy means the same as version ${existing.id} (${existing.version}); nothing was stored`,
    );
    this.existingId = existing.id;
    this.existingVersion = existing.version;
    this.hash = existing.hash;
  }
}

export const MAX_BATCH_ROWS = 5_000;

export class BatchTooLargeError extends DomainError {
  readonly limit: number;
  readonly received: number;
  constructor(received: number, limit = MAX_BATCH_ROWS) {
    super(
      'BATCH_TOO_LARGE',
      `batch has ${received} rows; the limit is ${limit} per call: split it into smaller batches`,
    );
    this.limit = limit;
    this.received = received;
  }
}
