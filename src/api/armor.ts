// Query limits (graphql-armor). The values are documented in the README ("The GraphQL API"); change both together.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLError, ValidationContext } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';

export const ARMOR_LIMITS = {
  /** deepest selection nesting (people → team → members → … counts each level) */
  maxDepth: 12,
  /** graphql-armor's cost: objects cost 2, scalars 1, multiplied by depth factor 1.5 */
  maxCost: 20_000,
  /** aliases per operation (stops one request fanning out into many) */
  maxAliases: 20,
  /** lexer tokens per document; send batch rows as variables, which are not counted */
  maxTokens: 2_000,
  /** directives per operation */
  maxDirectives: 20,
} as const;

// Report a rejection as a validation error (HTTP 400 under GraphQL-over-HTTP) with a stable
// code, instead of letting the rule throw out of validation.
const report = {
  propagateOnRejection: false,
  onReject: [
    (ctx: ValidationContext | null, error: GraphQLError) => {
      const message = error.message.replace(/^Syntax Error: /, '');
      ctx?.reportError(
        createGraphQLError(`${message} (see "Limits" in the README)`, {
          extensions: { code: 'QUERY_LIMIT_EXCEEDED' },
        }),
      );
    },
  ],
};

export function armorPlugin() {
  return EnvelopArmorPlugin({
    maxDepth: {
      n: ARMOR_LIMITS.maxDepth,
      ignoreIntrospection: true,
      exposeLimits: true,
      ...report,
    },
    costLimit: {
      maxCost: ARMOR_LIMITS.maxCost,
      objectCost: 2,
      scalarCost: 1,
      depthCostFactor: 1.5,
      ignoreIntrospection: true,
      exposeLimits: true,
      ...report,
    },
    maxAliases: { n: ARMOR_LIMITS.maxAliases, exposeLimits: true, ...report },
    maxTokens: { n: ARMOR_LIMITS.maxTokens, exposeLimits: true },
    maxDirectives: { n: ARMOR_LIMITS.maxDirectives, exposeLimits: true, ...report },
    // field suggestions stay on: clients see "Did you mean …" for misspelled fields, and
    // the schema is published anyway (schema.graphql), so nothing is leaked
    blockFieldSuggestion: { enabled: false },
  });
}
