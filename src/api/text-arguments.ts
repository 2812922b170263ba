// Text that PostgreSQL cannot hold, refused at the GraphQL boundary. A NUL character fails
// the statement that carries it ("invalid byte sequence for encoding UTF8: 0x00"), which
// would reach the client as an unexpected error; a lone surrogate is silently stored as
// U+FFFD, a different string from the one sent. Every argument of every field is checked
// before its resolver runs, so no text argument reaches SQL unchecked, and the error names
// the argument. Fields that take rows (recordUsage, upsertDirectory …) check each row
// themselves and reject a bad row alone; they are marked with ROWS_CHECK_TEXT.
import {
  defaultFieldResolver,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  responsePathAsArray,
} from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { unstorableTextProblem } from '../store/ingest/limits.ts';

/** Field extension: the resolver checks the text of each row and rejects a bad row alone. */
export const ROWS_CHECK_TEXT = { rowsCheckText: true } as const;

/** The first argument value that cannot be stored as text, as "path: reason", or null. */
export function unstorableArgument(args: Record<string, unknown>): string | null {
  const stack: { value: unknown; path: string }[] = Object.entries(args).map(([name, value]) => ({
    value,
    path: name,
  }));
  while (stack.length > 0) {
    const { value, path } = stack.pop() as (typeof stack)[number];
    if (typeof value === 'string') {
      const problem = unstorableTextProblem(value);
      if (problem) return `${path}: ${problem}`;
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        stack.push({ value: item, path: `${path}[${i}]` });
      });
    } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      for (const [key, inner] of Object.entries(value)) {
        const at = `${path}.${key}`;
        const problem = unstorableTextProblem(key);
        if (problem) return `${at}: key ${problem}`;
        stack.push({ value: inner, path: at });
      }
    }
  }
  return null;
}

function guarded<T extends GraphQLFieldResolver<unknown, unknown>>(inner: T): T {
  return ((source, args, context, info) => {
    const problem = unstorableArgument(args);
    if (problem) {
      throw createGraphQLError(problem, {
        nodes: info.fieldNodes,
        path: responsePathAsArray(info.path),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
    return inner(source, args, context, info);
  }) as T;
}

/** Wraps the resolver (and subscribe) of every field with arguments in the text check. */
export function checkTextArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    // by tag, not isObjectType: the schema's graphql module may be another copy (ESM/CJS)
    const tag = Object.prototype.toString.call(type);
    if (tag !== '[object GraphQLObjectType]' || type.name.startsWith('__')) continue;
    const fields = (type as GraphQLObjectType).getFields();
    for (const field of Object.values(fields) as GraphQLField<unknown, unknown>[]) {
      if (field.args.length === 0 || field.extensions?.rowsCheckText) continue;
      field.resolve = guarded(field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = guarded(field.subscribe);
    }
  }
  return schema;
}
