// API keys and identities. Keys are random, shown once, and stored as a SHA-256 hash, so a
// database leak reveals no usable key. Pseudonyms are an HMAC of the person id under a
// server secret kept in the database, stable across restarts and instances.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from '../app/caller.ts';
import { isRole, type Role } from '../app/roles.ts';
import { ApiKey } from '../store/entities/api-key.ts';
import { announceKeyRevoked } from '../store/key-revocations.ts';
import { sharedSecret } from '../store/secrets.ts';
import type { Queryable } from '../store/sql-text.ts';

export type { ApiKey, Caller };

const KEY_PREFIX = 'qk_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export type CreatedKey = {
  id: string;
  key: string;
  name: string;
  role: Role;
  person: string | null;
};

export async function createApiKey(
  em: EntityManager,
  input: { role: string; name: string; person?: string | null },
): Promise<CreatedKey> {
  if (!isRole(input.role)) {
    throw new RangeError(
      `unknown role "${input.role}": use one of ingest, member, viewer, governance, admin`,
    );
  }
  if (input.role === 'member' && !input.person) {
    throw new RangeError('a member key is bound to one person: pass --person <id>');
  }
  if (!input.name.trim()) throw new RangeError('a key needs a --name label');
  const secret = randomBytes(32).toString('base64url');
  const key = `${KEY_PREFIX}${secret}`;
  const id = `k_${randomBytes(5).toString('hex')}`;
  em.create(ApiKey, {
    id,
    name: input.name.trim(),
    role: input.role,
    person: input.person ?? null,
    hash: hashKey(key),
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    createdAt: new Date(),
  });
  await em.flush();
  return { id, key, name: input.name.trim(), role: input.role, person: input.person ?? null };
}

export async function listApiKeys(em: EntityManager): Promise<ApiKey[]> {
  return em.find(ApiKey, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

/** Revocations made in this process, for key caches that do not listen on the database. */
export const revokedHere = new EventEmitter<{ revoked: [keyId: string] }>();

/**
 * Returns false when no active key has that id. Every server instance hears of the
 * revocation at once (NOTIFY on KEY_REVOKED_CHANNEL, and in this process directly), so a
 * cached key stops working everywhere without waiting for its cache entry to expire.
 */
export async function revokeApiKey(em: EntityManager, id: string): Promise<boolean> {
  const key = await em.findOne(ApiKey, { id, revokedAt: null });
  if (!key) return false;
  key.revokedAt = new Date();
  await em.flush();
  revokedHere.emit('revoked', id);
  await announceKeyRevoked(em, id);
  return true;
}

export type AuthFailure = { reason: string };

/** Parses `Authorization: Bearer <key>`; the reason names what is wrong, never the key. */
export function bearerToken(header: string | null): string | AuthFailure {
  if (!header) {
    return {
      reason:
        'missing API key: send "Authorization: Bearer <key>" (create one with `quotient keys create`)',
    };
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { reason: 'malformed Authorization header: expected "Bearer <key>"' };
  return match[1];
}

export async function findCaller(em: EntityManager, key: string): Promise<Caller | AuthFailure> {
  if (!key.startsWith(KEY_PREFIX)) return { reason: 'invalid API key' };
  const hash = hashKey(key);
  const row = await em.findOne(ApiKey, { hash });
  // compare hashes in constant time anyway, though the lookup is by hash
  if (!row || !timingSafeEqual(Buffer.from(row.hash), Buffer.from(hash))) {
    return { reason: 'invalid API key' };
  }
  if (row.revokedAt) return { reason: `API key ${row.id} was revoked` };
  if (!isRole(row.role)) return { reason: `API key ${row.id} has an unknown role` };
  return { keyId: row.id, name: row.name, role: row.role, person: row.person ?? null };
}

/** Marks a key used; callers throttle this so busy keys do not write on every request. */
export async function touchApiKey(em: EntityManager, keyId: string): Promise<void> {
  await em.nativeUpdate(ApiKey, { id: keyId }, { lastUsedAt: new Date() });
}

const PSEUDONYM_SECRET = 'pseudonym-hmac-key';

/** The pseudonym secret, created on first use; concurrent instances agree on one value. */
export function loadPseudonymSecret(store: Queryable): Promise<Buffer> {
  return sharedSecret(store, PSEUDONYM_SECRET);
}

export type Pseudonymizer = (personId: string) => string;

export function pseudonymizer(secret: Buffer): Pseudonymizer {
  const cache = new Map<string, string>();
  return (personId) => {
    let value = cache.get(personId);
    if (!value) {
      const digest = createHmac('sha256', secret).update(personId).digest('hex');
      value = `anon-${digest.slice(0, 12)}`;
      if (cache.size > 100_000) cache.clear();
      cache.set(personId, value);
    }
    return value;
  };
}
