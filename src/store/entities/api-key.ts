import { defineEntity, p } from '@mikro-orm/core';

// An API key. The key itself is shown once at creation; only its SHA-256 hash is stored.
export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.string().primary(),
    name: p.string(),
    role: p.string(),
    person: p.string().nullable(),
    hash: p.string().unique(),
    prefix: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);

// Secrets every API instance shares (the pseudonym key), created once in the database.
export const ServerSecretSchema = defineEntity({
  name: 'ServerSecret',
  tableName: 'server_secrets',
  properties: {
    name: p.string().primary(),
    value: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class ServerSecret extends ServerSecretSchema.class {}
ServerSecretSchema.setClass(ServerSecret);
