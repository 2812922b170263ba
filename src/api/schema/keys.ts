// API keys over GraphQL, for admins: list, create (the key is returned once), revoke, through
// the same use case as `quotient keys` (src/app/keys.ts).
import { resolveArrayConnection } from '@pothos/plugin-relay';
import { InvalidRequestError, NotFoundError } from '../../app/errors.ts';
import { type ApiKey, keysFor } from '../../app/keys.ts';
import { ROLES } from '../../app/roles.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { DateTimeResolver } from './scalars.ts';

const RoleEnum = builder.enumType('Role', { values: ROLES });

const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey').implement({
  description: 'An API key. The key itself is never shown again after creation.',
  fields: (t) => ({
    id: t.exposeString('id'),
    name: t.exposeString('name'),
    role: t.exposeString('role'),
    person: t.string({ nullable: true, resolve: (k) => k.person ?? null }),
    prefix: t.exposeString('prefix', { description: 'The first characters, to recognise it.' }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (k) => k.createdAt }),
    lastUsedAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (k) => k.lastUsedAt ?? null,
    }),
    revokedAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (k) => k.revokedAt ?? null,
    }),
  }),
});

const CreatedKeyRef = builder
  .objectRef<{ key: string; apiKey: ApiKey }>('CreatedApiKey')
  .implement({
    fields: (t) => ({
      key: t.exposeString('key', { description: 'Shown once: store it now.' }),
      apiKey: t.field({ type: ApiKeyRef, resolve: (c) => c.apiKey }),
    }),
  });

builder.queryField('apiKeys', (t) =>
  t.connection({
    type: ApiKeyRef,
    authScopes: { admin: true },
    description: 'All API keys, oldest first.',
    resolve: async (_root, args, ctx) =>
      resolveArrayConnection({ args }, await keysFor(ctx.store, ctx.em).list()),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedKeyRef,
    authScopes: { admin: true },
    description: 'Create a key; a member key names the person it acts for.',
    args: {
      role: t.arg({ type: RoleEnum, required: true }),
      name: t.arg.string({ required: true }),
      person: t.arg.string({ required: false }),
    },
    errors: { types: [InvalidRequestError] },
    resolve: async (_root, args, ctx) => {
      const { created, apiKey } = await keysFor(ctx.store, ctx.em).create(sessionOf(ctx), args);
      return { key: created.key, apiKey };
    },
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    authScopes: { admin: true },
    description: 'Revoke a key; every server instance stops accepting it at once.',
    args: { id: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError] },
    resolve: (_root, args, ctx) => keysFor(ctx.store, ctx.em).revoke(sessionOf(ctx), args.id),
  }),
}));
