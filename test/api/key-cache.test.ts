// The API key cache on a real database with an injected clock: a key in use is revalidated
// in the background shortly before its trusted time ends (one lookup per key at a time), so
// no request waits for the lookup; a revocation still evicts at once, and a background
// lookup that read the key before its revocation does not put it back.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, findCaller } from '../../src/api/auth.ts';
import { registerApiEntities } from '../../src/api/entities.ts';
import { type KeyAuthenticator, keyAuthenticator } from '../../src/api/key-cache.ts';
import { rateLimiter } from '../../src/api/limits.ts';
import { type CreatedKey, createApiKey, revokeApiKey } from '../../src/app/keys.ts';
import { ApiKey } from '../../src/store/entities/api-key.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const TTL = 5_000;

let store: TestStore;

beforeAll(async () => {
  store = await createTestStore();
  registerApiEntities(store);
}, 60_000);

afterAll(async () => {
  await store?.destroy();
});

/** A key cache whose lookups are counted and can be held until released. */
function harness() {
  let now = 1_000_000;
  let lookups = 0;
  const hold = () => {
    let release = () => {};
    let reach = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reached = new Promise<void>((resolve) => {
      reach = resolve;
    });
    return { gate, reach, release, reached };
  };
  let pending: { gate: Promise<void>; reach: () => void } | null = null;
  // the revocation feed forgets every cached key once it is listening (what it may have
  // missed before): a test starts after that
  let listening = () => {};
  const ready = store.embedded
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        listening = resolve;
      });
  const keys: KeyAuthenticator = keyAuthenticator(store, {
    ttlMs: TTL,
    limiter: rateLimiter(0),
    log: pino({ level: 'silent' }),
    alsoForget: (keyId) => {
      if (keyId === undefined) listening();
    },
    localToken: null,
    now: () => now,
    async lookup(em: EntityManager, token: string) {
      lookups++;
      // the row is read first: a held lookup has seen the key as it was before the hold
      const result = await findCaller(em, token);
      const gate = pending;
      pending = null;
      if (gate) {
        gate.reach();
        await gate.gate;
      }
      return result;
    },
  });
  return {
    keys,
    ready,
    lookups: () => lookups,
    advance(ms: number) {
      now += ms;
    },
    /** holds the next lookup after it has read the key */
    holdNext() {
      const next = hold();
      pending = next;
      return { release: next.release, reached: next.reached };
    },
  };
}

async function newKey(name: string): Promise<CreatedKey> {
  return createApiKey(store.em(), { role: 'viewer', name });
}

const callerOf = (result: Caller | { reason: string }) => {
  if ('reason' in result) throw new Error(result.reason);
  return result;
};

describe('API key cache', () => {
  it('revalidates a key in use in the background before it expires, so no request waits for a lookup', async () => {
    const key = await newKey('refresh ahead');
    const h = harness();
    await h.ready;
    try {
      callerOf(await h.keys.authenticate(key.key));
      expect(h.lookups()).toBe(1);
      // early in its trusted time: from the cache, no lookup
      h.advance(1_000);
      callerOf(await h.keys.authenticate(key.key));
      expect(h.lookups()).toBe(1);
      // near its end: answered from the cache while one lookup runs behind it
      h.advance(3_500);
      const held = h.holdNext();
      expect(callerOf(await h.keys.authenticate(key.key)).keyId).toBe(key.id);
      await held.reached;
      expect(h.lookups()).toBe(2);
      // more requests meanwhile share that lookup
      callerOf(await h.keys.authenticate(key.key));
      callerOf(await h.keys.authenticate(key.key));
      expect(h.lookups()).toBe(2);
      held.release();
      await h.keys.settle();
      // past the first expiry the key is still trusted: the background lookup renewed it
      h.advance(1_000);
      callerOf(await h.keys.authenticate(key.key));
      expect(h.lookups()).toBe(2);
    } finally {
      await h.keys.settle();
    }
  });

  it('looks a key up on the request when nobody used it near its expiry', async () => {
    const key = await newKey('expired');
    const h = harness();
    await h.ready;
    try {
      callerOf(await h.keys.authenticate(key.key));
      h.advance(TTL + 1);
      callerOf(await h.keys.authenticate(key.key));
      expect(h.lookups()).toBe(2);
    } finally {
      await h.keys.settle();
    }
  });

  it('evicts a revoked key at once, and a lookup that read it before the revocation does not bring it back', async () => {
    const key = await newKey('revoked while refreshing');
    const h = harness();
    await h.ready;
    try {
      callerOf(await h.keys.authenticate(key.key));
      h.advance(4_500);
      const held = h.holdNext();
      callerOf(await h.keys.authenticate(key.key));
      // the background lookup has read the key, still valid; now it is revoked
      await held.reached;
      expect(await revokeApiKey(store.em(), key.id)).toBe(true);
      held.release();
      await h.keys.settle();
      const after = await h.keys.authenticate(key.key);
      expect(after).toEqual({ reason: expect.stringContaining('revoked') });
      expect(h.lookups()).toBe(3);
    } finally {
      await h.keys.settle();
    }
  });

  it('drops a key the background lookup finds revoked (a revocation this instance did not hear of)', async () => {
    const key = await newKey('revoked elsewhere');
    const h = harness();
    await h.ready;
    try {
      callerOf(await h.keys.authenticate(key.key));
      // revoked in the database only, as if the notification were lost
      await store.em().nativeUpdate(ApiKey, { id: key.id }, { revokedAt: new Date() });
      h.advance(4_500);
      callerOf(await h.keys.authenticate(key.key));
      await h.keys.settle();
      expect(await h.keys.authenticate(key.key)).toEqual({
        reason: expect.stringContaining('revoked'),
      });
      expect(h.lookups()).toBe(2);
    } finally {
      await h.keys.settle();
    }
  });
});
