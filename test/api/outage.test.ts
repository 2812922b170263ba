// A database outage: /ready turns 503 with a reason, GraphQL answers UNAVAILABLE (503, no
// stack trace), and everything recovers by itself when the database is reachable again.
// The database sits behind a TCP proxy that the test cuts and restores.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { migrate, openStore, type Store } from '../../src/store/db.ts';
import { createTestDatabase, createTestStore, type TestStore } from '../support/db.ts';

/** A TCP proxy to the database that can be cut (refusing connections) and restored. */
class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly url: URL;
  port = 0;
  constructor(url: URL) {
    this.url = url;
  }
  /** The database: a TCP address, or the embedded database's Unix socket (its `host` dir). */
  private upstream(): Socket {
    const dir = this.url.searchParams.get('host');
    const port = Number(this.url.port || 5432);
    return dir?.startsWith('/')
      ? connect({ path: `${dir}/.s.PGSQL.${port}` })
      : connect(port, this.url.hostname);
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = this.upstream();
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  }
}

let base: TestStore;
let proxy: TcpProxy;
let store: Store;
let server: RunningServer;
let key: string;

beforeAll(async () => {
  base = await createTestStore();
  const target = new URL(base.url);
  proxy = new TcpProxy(new URL(base.url));
  await proxy.start();
  target.host = `127.0.0.1:${proxy.port}`;
  target.searchParams.delete('host');
  store = await openStore({ databaseUrl: target.toString(), entities: apiEntities, poolSize: 1 });
  key = (await createApiKey(store.em(), { role: 'governance', name: 'outage' })).key;
  server = await startServer({
    store,
    port: 0,
    logger: pino({ level: 'silent' }),
    keyCacheMs: 3_600_000,
  });
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await proxy?.cut();
  await base?.destroy();
});

async function gql(query: string, bearer = key) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${bearer}`,
    },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

const ready = async () => {
  const res = await fetch(`${server.url}/ready`);
  return { status: res.status, body: await res.json() };
};

describe('pending migrations', () => {
  it('make /ready answer 503 naming them, until they are applied', async () => {
    const database = await createTestDatabase({ empty: true });
    const fresh = await database.open({ migrate: false, entities: apiEntities });
    const api = await startServer({ store: fresh, port: 0, logger: pino({ level: 'silent' }) });
    try {
      const res = await fetch(`${api.url}/ready`);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.status).toBe('unavailable');
      expect(body.reason).toMatch(/^pending migrations: Migration20261122000100_core, /);
      await migrate(fresh);
      expect((await fetch(`${api.url}/ready`)).status).toBe(200);
    } finally {
      await api.close();
      await fresh.close();
      await database.drop();
    }
  });
});

describe('database outage', () => {
  it('serves normally while the database is up', async () => {
    expect(await ready()).toEqual({ status: 200, body: { status: 'ready' } });
    const res = await gql('{ people { edges { node { id } } } }');
    expect(res.status).toBe(200);
    expect(res.body.data.people.edges).toEqual([]);
  });

  it('answers 503 with reasons while the database is down', async () => {
    await proxy.cut();
    const r = await ready();
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('unavailable');
    expect(r.body.reason).toMatch(/^database unreachable/);

    const res = await gql('{ people { edges { node { id } } } }');
    expect(res.status).toBe(503);
    expect(res.retryAfter).toBe('5');
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].message).toBe('the database is unavailable; retry shortly');
    expect(res.body.errors[0].extensions).toEqual({ code: 'UNAVAILABLE' });
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|at .*\.ts|stack/);

    // a key not yet seen cannot be checked: UNAVAILABLE too, not a false 401
    const unknown = await gql('{ viewer { role } }', 'qk_never-seen');
    expect(unknown.status).toBe(503);
    expect(unknown.body.errors[0].extensions.code).toBe('UNAVAILABLE');

    // liveness is independent of the database
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('recovers by itself when the database returns', async () => {
    await proxy.start();
    // the pool drops broken connections on first use; allow it a few attempts
    let r = await ready();
    for (let i = 0; i < 20 && r.status !== 200; i++) r = await ready();
    expect(r).toEqual({ status: 200, body: { status: 'ready' } });
    const res = await gql('{ people { edges { node { id } } } }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });
});
