// Expected failures. Resolvers throw these; the errors plugin turns them into members of
// the field's result union, each with a stable `code`.
import type { Diagnostic } from '../policy/diagnostics.ts';

export class ApiProblem extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class NotFoundError extends ApiProblem {
  readonly what: string;
  readonly key: string;
  constructor(what: string, key: string) {
    super('NOT_FOUND', `${what} "${key}" not found`);
    this.what = what;
    this.key = key;
  }
}

/** A resource rule said no (e.g. a member acting for another person). */
export class ForbiddenError extends ApiProblem {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** An argument that is well-typed but not acceptable (e.g. a member key with no person). */
export class InvalidArgumentError extends ApiProblem {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('INVALID_ARGUMENT', message);
    this.argument = argument;
  }
}

export class PolicyInvalidError extends ApiProblem {
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

export const MAX_BATCH_ROWS = 5_000;

export class BatchTooLargeError extends ApiProblem {
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
