// Who is calling, from the Authorization header, and pseudonyms. Pseudonyms are an HMAC of the person id under a
// server secret kept in the database, stable across restarts and instances.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from '../app/caller.ts';
import { hashKey, KEY_PREFIX } from '../app/keys.ts';
import { isRole } from '../app/roles.ts';
import { ApiKey } from '../store/entities/api-key.ts';
import { sharedSecret } from '../store/secrets.ts';
import type { Queryable } from '../store/sql-text.ts';

// key management is a use case (src/app/keys.ts); these stay importable from here
export {
  type CreatedKey,
  createApiKey,
  hashKey,
  listApiKeys,
  revokeApiKey,
  revokedHere,
} from '../app/keys.ts';
export type { ApiKey, Caller };

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
