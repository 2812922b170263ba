// A stalled database (issue 15, item 4): its connections stay open but nothing answers, as
// when its processes are stopped. Every endpoint answers 503 with Retry-After within a
// bounded time (the pool's timeouts), and the service recovers by itself once it answers.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { startEnforcementWorkers } from '../../src/api/workers.ts';
import type { Store } from '../../src/store/db.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type StallProxy, startStallProxy } from '../support/stall-proxy.ts';

const TIMEOUTS = {
  connectMs: 1_000,
  statementMs: 1_500,
  lockMs: 1_000,
  idleInTransactionMs: 10_000,
};
/** statement timeout + the client's 2 s slack + a wait for a connection, and some room */
const BOUND_MS = 8_000;

let database: TestDatabase;
let proxy: StallProxy;
let store: Store;
let server: RunningServer;
let keys: { ingest: string; governance: string };

beforeAll(async () => {
  database = await createTestDatabase();
  // the proxy sits between the pool and the database (PostgreSQL, or the PGlite socket)
  store = await database.open({
    wrapUrl: async (url) => {
      proxy = await startStallProxy(url);
      return proxy.url;
    },
    entities: apiEntities,
    // one connection: PGlite serves one session at a time (electric-sql/pglite#1046)
    poolSize: 1,
    timeouts: TIMEOUTS,
  });
  keys = {
    ingest: (await createApiKey(store.em(), { role: 'ingest', name: 'stall ingest' })).key,
    governance: (await createApiKey(store.em(), { role: 'governance', name: 'stall gov' })).key,
  };
  server = await startServer({
    store,
    port: 0,
    logger: pino({ level: 'silent' }),
    keyCacheMs: 3_600_000,
  });
});

afterAll(async () => {
  proxy?.resume();
  await server?.close();
  await store?.close();
  await proxy?.close();
  await database?.drop();
});

type Answer = { status: number; retryAfter: string | null; ms: number; text: string };

async function call(path: string, key: string | null, body?: unknown): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    ms: performance.now() - started,
    text,
  };
}

const recordUsage = (id: string) => ({
  query: `mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted rejected } } }`,
  variables: {
    rows: [
      {
        id,
        ts: new Date().toISOString(),
        person: 'ana@acme.test',
        model: 'gpt-4o-mini',
        inputTokens: 5,
      },
    ],
  },
});

const requests: [string, () => Promise<Answer>][] = [
  ['recordUsage', () => call('/graphql', keys.ingest, recordUsage(`s-${Math.random()}`))],
  [
    'a read',
    () => call('/graphql', keys.governance, { query: '{ people { edges { node { id } } } }' }),
  ],
  [
    'quota check',
    () =>
      call('/v1/quota/check', keys.governance, {
        person: 'ana@acme.test',
        model: 'gpt-4o-mini',
        estimatedTokens: 10,
      }),
  ],
  ['OTLP traces', () => call('/v1/traces', keys.ingest, { resourceSpans: [] })],
  [
    'an unseen key',
    () => call('/graphql', 'qk_not-a-cached-key', { query: '{ viewer { role } }' }),
  ],
  ['readiness', () => call('/ready', null)],
];

describe('a stalled database', () => {
  it('serves while the database answers', async () => {
    const first = await call('/graphql', keys.ingest, recordUsage('before-stall'));
    expect(first.text).toContain('"accepted":1');
    expect(first.status).toBe(200);
  });

  it('yields 503 with Retry-After on every endpoint, within the bound', async () => {
    proxy.pause();
    const answers = await Promise.all(
      requests.map(async ([name, send]) => [name, await send()] as const),
    );
    for (const [name, answer] of answers) {
      expect({ name, status: answer.status, retryAfter: answer.retryAfter }).toEqual({
        name,
        status: 503,
        retryAfter: '5',
      });
      expect(answer.ms).toBeLessThan(BOUND_MS);
      // the database's own words stay in the log
      expect(answer.text).not.toMatch(/Query read timeout|timeout exceeded|ECONN|statement/i);
    }
    // liveness does not depend on the database
    expect((await call('/health', null)).status).toBe(200);
  });

  it('the background jobs log one warning per failed round, without a stack', async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const text of String(chunk).split('\n')) if (text) lines.push(JSON.parse(text));
        done();
      },
    });
    const workers = startEnforcementWorkers(store, {
      log: pino({ level: 'debug' }, sink),
      stopGraceMs: BOUND_MS,
    });
    const unavailable = (l: { msg: string }) => /database unavailable/.test(l.msg);
    for (let i = 0; i < 100 && !lines.some(unavailable); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    await workers.stop();
    expect(lines.some(unavailable)).toBe(true);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => JSON.stringify(l).includes('"stack"'))).toEqual([]);
  });

  it('recovers by itself when the database answers again', async () => {
    proxy.resume();
    let answer = await call('/graphql', keys.ingest, recordUsage('after-stall'));
    for (let i = 0; i < 20 && answer.status !== 200; i++)
      answer = await call('/graphql', keys.ingest, recordUsage('after-stall'));
    expect(answer.status).toBe(200);
    for (const [name, send] of requests.slice(0, 2)) {
      const again = await send();
      expect({ name, status: again.status }).toEqual({ name, status: 200 });
    }
  });
});
