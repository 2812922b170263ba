// Typed GraphQL documents: gql.tada reads the introspection generated from schema.graphql
// (graphql-env.d.ts, by `npm run web:types`), so every query result is typed from the
// schema with no hand-written types.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; JSON: unknown; Decimal: string };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';
export { readFragment } from 'gql.tada';
