// Every domain error's GraphQL type, mapped once from the catalog's classes (src/app/errors.ts).
import {
  BatchTooLargeError,
  ConflictError,
  type DomainError,
  type FieldProblem,
  ForbiddenError,
  InvalidArgumentError,
  InvalidRequestError,
  InvalidWindowError,
  NoActivePolicyError,
  NotFoundError,
  PolicyInvalidError,
  PolicyUnchangedError,
} from '../../app/errors.ts';
import { builder } from '../builder.ts';

export const ProblemInterface = builder.interfaceRef<DomainError>('Problem').implement({
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

const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
  fields: (t) => ({ field: t.exposeString('field'), message: t.exposeString('message') }),
});

builder.objectType(InvalidRequestError, {
  name: 'InvalidRequest',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof InvalidRequestError,
  fields: (t) => ({
    problems: t.field({ type: [FieldProblemRef], resolve: (e) => e.problems }),
  }),
});

builder.objectType(NoActivePolicyError, {
  name: 'NoActivePolicy',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof NoActivePolicyError,
  fields: () => ({}),
});

builder.objectType(ConflictError, {
  name: 'Conflict',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});

builder.objectType(InvalidWindowError, {
  name: 'InvalidWindow',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof InvalidWindowError,
  fields: (t) => ({ window: t.exposeString('window') }),
});

builder.objectType(PolicyUnchangedError, {
  name: 'PolicyUnchanged',
  interfaces: [ProblemInterface],
  isTypeOf: (value) => value instanceof PolicyUnchangedError,
  fields: (t) => ({
    existingId: t.exposeInt('existingId', { description: 'The stored version with this meaning.' }),
    existingVersion: t.exposeString('existingVersion'),
    hash: t.exposeString('hash'),
  }),
});
