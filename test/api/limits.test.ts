// Limits that hold against a greedy client (issue 15, item 3) and key revocation on every
// instance at once (item 6).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import type { Store } from '../../src/store/db.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type StallProxy, startStallProxy } from '../support/stall-proxy.ts';
import { startTestApi, type TestApi } from './support.ts';

async function post(url: string, key: string, body: unknown, accept = 'application/json') {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return res;
}

describe('evaluations priced per distinct board and window', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.stop());

  const windows = Array.from(
    { length: 20 },
    (_, i) => `2026-${String((i % 12) + 1).padStart(2, '0')}${i >= 12 ? '-2' : ''}`,
  );

  it('refuses 20 aliased leaderboard windows in one request before evaluating any', async () => {
    const fields = windows
      .map((w, i) => `b${i}: leaderboard(name: "value_per_token", window: "${w}") { __typename }`)
      .join('\n');
    const res = await api.gql(api.keys.viewer.key, `{ ${fields} }`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions?.code).toBe('QUERY_LIMIT_EXCEEDED');
    expect(res.body.errors?.[0].message).toMatch(
      /asks for 20 distinct evaluations costing 20; at most 4/,
    );
  });

  it('prices one board and window asked for under many aliases once', async () => {
    const fields = Array.from(
      { length: 20 },
      (_, i) => `b${i}: leaderboard(name: "value_per_token", window: $w) { __typename }`,
    ).join('\n');
    const res = await api.gql(api.keys.viewer.key, `query($w: String) { ${fields} }`, {
      w: 'quarter',
    });
    const codes = (res.body.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).not.toContain('QUERY_LIMIT_EXCEEDED');
  });
});

describe('per-key rate limits', () => {
  let api: TestApi;
  beforeAll(async () => {
    // 5 per minute: the test does not depend on how fast this machine answers
    api = await startTestApi({ limits: { requestsPerSecond: 5, rateWindowSeconds: 60 } });
  });
  afterAll(async () => api?.stop());

  it('answer 429 with Retry-After past the key budget, on GraphQL and the quota check; other keys go on', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await post(`${api.url}/graphql`, api.keys.viewer.key, {
        query: '{ viewer { role } }',
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    const quota = await post(`${api.url}/v1/quota/check`, api.keys.viewer.key, {
      person: 'ana@acme.test',
      model: 'gpt-4o-mini',
      estimatedTokens: 1,
    });
    expect(quota.status).toBe(429);
    expect(quota.headers.get('retry-after')).not.toBeNull();
    expect((await quota.json()).code).toBe('RATE_LIMITED');
    const other = await post(`${api.url}/graphql`, api.keys.governance.key, {
      query: '{ viewer { role } }',
    });
    expect(other.status).toBe(200);
  });
});

/** Signs in to the console with a key; the cookie and CSRF token of the session. */
async function consoleSession(url: string, key: string) {
  const res = await fetch(`${url}/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ key }),
  });
  expect(res.status).toBe(200);
  const { csrf } = (await res.json()) as { csrf: string };
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0], csrf };
}

async function withSession(url: string, session: { cookie: string; csrf: string }) {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      cookie: session.cookie,
      'x-quotient-csrf': session.csrf,
    },
    body: JSON.stringify({ query: '{ viewer { role } }' }),
  });
}

describe('per-key rate limits on console sessions', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ limits: { requestsPerSecond: 5, rateWindowSeconds: 60 } });
  });
  afterAll(async () => api?.stop());

  it('spend from the bucket of their key: 429 with Retry-After past it', async () => {
    // the sign-in itself is one request of the key
    const session = await consoleSession(api.url, api.keys.admin.key);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await withSession(api.url, session);
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect(
          ((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]
            .extensions.code,
        ).toBe('RATE_LIMITED');
      } else await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // the key itself is out of requests too: the session and the key share one bucket
    const direct = await post(`${api.url}/graphql`, api.keys.admin.key, {
      query: '{ viewer { role } }',
    });
    expect(direct.status).toBe(429);
  });
});

describe('subscription caps', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ limits: { subscriptionsPerKey: 2, subscriptionsTotal: 3 } });
  });
  afterAll(async () => api?.stop());

  it('refuse a key past its open streams, and the server past its total', async () => {
    const open: AbortController[] = [];
    const subscribe = async (key: string) => {
      const controller = new AbortController();
      const res = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({ query: 'subscription { escalationRaised { id } }' }),
        signal: controller.signal,
      });
      const reader = res.body?.getReader();
      const first = reader ? new TextDecoder().decode((await reader.read()).value) : '';
      open.push(controller);
      return { status: res.status, first };
    };
    try {
      const a1 = await subscribe(api.keys.governance.key);
      const a2 = await subscribe(api.keys.governance.key);
      expect([a1.first, a2.first].join('')).not.toMatch(/RATE_LIMITED/);
      const a3 = await subscribe(api.keys.governance.key);
      expect(`${a3.status} ${a3.first}`).toMatch(/429|RATE_LIMITED/);
      expect(a3.first).toMatch(/already has 2 open subscriptions/);
      const b1 = await subscribe(api.keys.admin.key);
      expect(b1.first).not.toMatch(/RATE_LIMITED/);
      const b2 = await subscribe(api.keys.admin.key);
      expect(b2.first).toMatch(/the server has 3 open subscriptions/);
      // closing one frees its place
      open[0].abort();
      let again = await subscribe(api.keys.admin.key);
      for (let i = 0; i < 20 && /RATE_LIMITED/.test(again.first); i++) {
        await new Promise((r) => setTimeout(r, 50));
        again = await subscribe(api.keys.admin.key);
      }
      expect(again.first).not.toMatch(/RATE_LIMITED/);
    } finally {
      for (const c of open) c.abort();
    }
  });
});

describe('failed key lookups', () => {
  let database: TestDatabase;
  let proxy: StallProxy;
  let store: Store;
  let server: RunningServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = await database.open({
      wrapUrl: async (url) => {
        proxy = await startStallProxy(url);
        return proxy.url;
      },
      entities: apiEntities,
      poolSize: 1,
      timeouts: { connectMs: 500, statementMs: 1_000 },
    });
    server = await startServer({ store, port: 0, logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    proxy?.resume();
    await server?.close();
    await store?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('are remembered briefly: the same bogus key again costs no database read', async () => {
    const ask = (key: string) =>
      post(`${server.url}/graphql`, key, { query: '{ viewer { role } }' });
    expect((await ask('qk_bogus-1')).status).toBe(401);
    proxy.pause(); // from here on, anything that reads the database gets 503
    expect((await ask('qk_bogus-1')).status).toBe(401);
    expect((await ask('qk_bogus-2')).status).toBe(503);
    proxy.resume();
  });
});

describe('key revocation', () => {
  let database: TestDatabase;
  const stores: Store[] = [];
  const servers: RunningServer[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    const first = await database.open({ entities: apiEntities });
    stores.push(first);
    // a PostgreSQL server takes a second instance with its own pool; the embedded database
    // has one instance, so the second server shares its store
    stores.push(process.env.DATABASE_URL ? await database.open({ entities: apiEntities }) : first);
    for (const store of stores)
      servers.push(
        await startServer({
          store,
          port: 0,
          logger: pino({ level: 'silent' }),
          keyCacheMs: 3_600_000,
        }),
      );
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const store of new Set(stores)) await store.close();
    await database?.drop();
  });

  const viewerRole = async (server: RunningServer, key: string) => {
    const res = await post(`${server.url}/graphql`, key, { query: '{ viewer { role } }' });
    return res.status;
  };

  async function expectRefusedEverywhere(key: string) {
    for (const server of servers) {
      let status = await viewerRole(server, key);
      // a notification takes a moment to arrive; the key cache alone would take an hour
      for (let i = 0; i < 40 && status !== 401; i++) {
        await new Promise((r) => setTimeout(r, 50));
        status = await viewerRole(server, key);
      }
      expect(status).toBe(401);
    }
  }

  it('through the API takes effect at once on every instance', async () => {
    const admin = await createApiKey(stores[0].em(), { role: 'admin', name: 'admin' });
    const victim = await createApiKey(stores[0].em(), { role: 'viewer', name: 'victim' });
    for (const server of servers) expect(await viewerRole(server, victim.key)).toBe(200);
    const res = await post(`${servers[0].url}/graphql`, admin.key, {
      query: `mutation { revokeApiKey(id: "${victim.id}") { __typename } }`,
    });
    expect(res.status).toBe(200);
    await expectRefusedEverywhere(victim.key);
  });

  it('ends a console session of the key at once on every instance', async () => {
    const admin = await createApiKey(stores[0].em(), { role: 'admin', name: 'admin 2' });
    const victim = await createApiKey(stores[0].em(), { role: 'viewer', name: 'signed in' });
    // one session, good on every instance (the cookie is signed with a shared secret)
    const session = await consoleSession(servers[0].url, victim.key);
    for (const server of servers) expect((await withSession(server.url, session)).status).toBe(200);
    const res = await post(`${servers[0].url}/graphql`, admin.key, {
      query: `mutation { revokeApiKey(id: "${victim.id}") { __typename } }`,
    });
    expect(res.status).toBe(200);
    for (const server of servers) {
      let status = (await withSession(server.url, session)).status;
      // a notification takes a moment to arrive; the key cache alone would take an hour
      for (let i = 0; i < 40 && status !== 401; i++) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await withSession(server.url, session)).status;
      }
      expect(status).toBe(401);
    }
  });

  it.skipIf(!process.env.DATABASE_URL)(
    'with `quotient keys revoke` in another process takes effect at once on every instance',
    async () => {
      const victim = await createApiKey(stores[0].em(), { role: 'viewer', name: 'victim 2' });
      for (const server of servers) expect(await viewerRole(server, victim.key)).toBe(200);
      const child = spawn(
        process.execPath,
        [join(import.meta.dirname, '../../src/cli.ts'), 'keys', 'revoke', victim.id],
        { env: { ...process.env, ...database.env } },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      await expectRefusedEverywhere(victim.key);
    },
  );
});
