// `quotient serve` starts the quota cache once the persisted boards are read (startAfter):
// until then checks read the database, and a server closed before then never starts it.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEntities } from '../../src/api/entities.ts';
import { startServer } from '../../src/api/server.ts';
import { quotaCacheFor } from '../../src/app/quota-cache.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;

beforeAll(async () => {
  store = await createTestStore({ entities: apiEntities });
});

afterAll(async () => {
  await store.destroy();
});

/** A server whose quota cache starts once `release` is called. */
async function serverWaitingToStartTheCache() {
  let release!: () => void;
  const startAfter = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = await startServer({
    store,
    port: 0,
    logger: pino({ level: 'silent' }),
    quotaCache: { refreshMs: 60_000, maxStalenessMs: 120_000, startAfter },
  });
  // released, and the start's own `then` run
  const released = async () => {
    release();
    await startAfter;
    await Promise.resolve();
  };
  return { server, released };
}

describe('the quota cache with startAfter', () => {
  it('starts when the promise settles, not before', async () => {
    const { server, released } = await serverWaitingToStartTheCache();
    try {
      const cache = quotaCacheFor(store);
      expect(cache.refreshMs()).toBeNull();
      await released();
      expect(cache.refreshMs()).toBe(60_000);
    } finally {
      await server.close();
    }
    expect(quotaCacheFor(store).refreshMs()).toBeNull();
  });

  it('does not start when the server closed first', async () => {
    const { server, released } = await serverWaitingToStartTheCache();
    await server.close();
    await released();
    expect(quotaCacheFor(store).refreshMs()).toBeNull();
  });
});
