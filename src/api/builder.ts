// The one Pothos schema builder. Domain files under ./schema/ add their types to it.
// Errors are made with createGraphQLError from graphql-yoga so they are instances of the
// same graphql module Yoga checks against (a second copy would make them look unexpected).
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { createGraphQLError } from 'graphql-yoga';
import { CAPABILITIES, type Capability, can, type Role } from '../app/roles.ts';
import type { Context } from './context.ts';

export type AuthScopes = Record<Capability, boolean>;

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    Decimal: { Input: string; Output: string };
  };
}>({
  // scope-auth first, so no other plugin's wrapper runs before the role check
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => scopesOf(ctx.caller.role),
    unauthorizedError: (_parent, ctx, info, result) => {
      const needed = describeFailure(result.failure);
      return createGraphQLError(
        `role "${ctx.caller.role}" may not use ${info.parentType.name}.${info.fieldName}` +
          (needed ? ` (allowed for: ${needed})` : ''),
        { extensions: { code: 'FORBIDDEN' } },
      );
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // no global `node(id)` lookups: every read goes through a field with its own auth rule
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  errors: { defaultTypes: [] },
});

const scopesByRole = new Map<Role, AuthScopes>();

/** What a role may do, as scope-auth flags (computed once per role, not per request). */
function scopesOf(role: Role): AuthScopes {
  let scopes = scopesByRole.get(role);
  if (!scopes) {
    scopes = {} as AuthScopes;
    for (const capability of Object.keys(CAPABILITIES) as Capability[]) {
      scopes[capability] = can(role, capability);
    }
    scopesByRole.set(role, scopes);
  }
  return scopes;
}

/** The roles behind a scope-auth failure, for a message that says who may do this. */
function describeFailure(failure: unknown): string {
  const roles = new Set<string>();
  const walk = (f: unknown) => {
    if (!f || typeof f !== 'object') return;
    const node = f as { kind?: string; scope?: string; failures?: unknown[] };
    if (node.kind === 'AuthScope' && node.scope && node.scope in CAPABILITIES) {
      for (const role of CAPABILITIES[node.scope as Capability]) roles.add(role);
    }
    node.failures?.forEach(walk);
  };
  walk(failure);
  return [...roles].join(', ');
}

builder.queryType({});
builder.mutationType({});
