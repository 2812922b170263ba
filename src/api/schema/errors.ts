// The typed errors that appear in result unions, and the shared Diagnostic type.
import { builder } from '../builder.ts';
import {
  ApiProblem,
  BatchTooLargeError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  PolicyInvalidError,
} from '../errors.ts';

export const ProblemInterface = builder.interfaceRef<ApiProblem>('Problem').implement({
  description: 'An expected failure, returned in a result union with a stable code.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFound',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    what: t.exposeString('what'),
    key: t.exposeString('key'),
  }),
});

builder.objectType(ForbiddenError, {
  name: 'Forbidden',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof ForbiddenError,
  fields: () => ({}),
});

builder.objectType(InvalidArgumentError, {
  name: 'InvalidArgument',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof InvalidArgumentError,
  fields: (t) => ({ argument: t.exposeString('argument') }),
});

builder.objectType(BatchTooLargeError, {
  name: 'BatchTooLarge',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof BatchTooLargeError,
  fields: (t) => ({
    limit: t.exposeInt('limit'),
    received: t.exposeInt('received'),
  }),
});

export const Position = builder
  .objectRef<{ line: number; column: number; offset: number }>('Position')
  .implement({
    fields: (t) => ({
      line: t.exposeInt('line'),
      column: t.exposeInt('column'),
      offset: t.exposeInt('offset'),
    }),
  });

export const DiagnosticRef = builder
  .objectRef<PolicyInvalidError['diagnostics'][number]>('Diagnostic')
  .implement({
    description: 'A problem found in policy text: stable code, plain message, source range.',
    fields: (t) => ({
      severity: t.exposeString('severity'),
      code: t.exposeString('code'),
      message: t.exposeString('message'),
      hint: t.exposeString('hint', { nullable: true }),
      start: t.field({ type: Position, resolve: (d) => d.range.start }),
      end: t.field({ type: Position, resolve: (d) => d.range.end }),
    }),
  });

builder.objectType(PolicyInvalidError, {
  name: 'PolicyInvalid',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof PolicyInvalidError,
  fields: (t) => ({
    diagnostics: t.field({ type: [DiagnosticRef], resolve: (e) => e.diagnostics }),
  }),
});

export { ApiProblem };
