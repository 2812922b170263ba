// Starting the database. With a DATABASE_URL we talk to that PostgreSQL server. Without
// one, an embedded PGlite persisted under <dataDir>/pgdata is served by pglite-socket, so
// the very same pg driver, SQL and migrations run in both cases. PGlite has no password
// authentication, so it listens on a Unix socket in a fresh directory only this process's
// user may open (mode 0700), never on a TCP port another local user could reach.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { EntitySchema } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { DEFAULT_DATA_DIR } from './defaults.ts';
import { storeEntities } from './entities/index.ts';

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations');
export { DEFAULT_DATA_DIR };

export type StoreLogger = {
  info: (msg: string) => void;
  warn: (msg: string) => void;
};

export type OpenStoreOptions = {
  /** PostgreSQL URL (the database-url setting); unset or empty: embedded PGlite. */
  databaseUrl?: string;
  /** Where the embedded database lives (default `.quotient/`); 'memory' keeps it in RAM. */
  dataDir?: string;
  /** Apply pending migrations before returning. */
  migrate?: boolean;
  logger?: StoreLogger;
  /** Entities defined outside src/store (other layers register theirs here). */
  entities?: EntitySchema[];
  /** Pool size for a real server (default 10). The embedded database always uses 1. */
  poolSize?: number;
  /**
   * Tests only: the URL the pool should use instead of the database's own (a proxy that
   * injects faults between the pool and the database, embedded or not).
   */
  wrapUrl?: (url: string) => Promise<string>;
  /** How long the database may take before the caller hears an error (DEFAULT_TIMEOUTS). */
  timeouts?: Partial<DatabaseTimeouts>;
  /**
   * Embedded only: a new data directory starts as a copy of this one (a tarball from
   * PGlite's dumpDataDir) instead of an empty cluster. Tests start from a migrated copy.
   */
  initialData?: Blob;
};

/**
 * Limits on waiting for the database, on every pool. A stalled or overloaded database then
 * fails a request within a known time (the API answers 503 with Retry-After) instead of
 * holding it and its connection indefinitely; docs/operations-faults.md has the figures.
 */
export type DatabaseTimeouts = {
  /** waiting for a connection (a new one, or a free one from the pool) */
  connectMs: number;
  /** one statement, enforced by the server (statement_timeout) and, 2 s later, by the client */
  statementMs: number;
  /**
   * one statement of a whole-organisation evaluation (its sums over every person's rollups):
   * run in the background (the sweep, boards' loads), it may take longer than a request's
   */
  evaluationMs: number;
  /** waiting for a row or table lock (lock_timeout) */
  lockMs: number;
  /** a transaction left idle (idle_in_transaction_session_timeout) */
  idleInTransactionMs: number;
};

export const DEFAULT_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 5_000,
  statementMs: 10_000,
  evaluationMs: 120_000,
  lockMs: 5_000,
  idleInTransactionMs: 60_000,
};

/** Slack between the server's statement_timeout and the client's own read timeout. */
export const CLIENT_TIMEOUT_SLACK_MS = 2_000;

export type Store = {
  orm: MikroORM;
  /** A fresh EntityManager fork for one unit of work. */
  em(): EntityManager;
  /** The pg pool MikroORM uses; for set-based SQL and the bulk loader. */
  pool: pg.Pool;
  /** Run one parameterised statement ($1, $2 …) and return its rows. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<Row[]>;
  /** Run `work` in one transaction on one connection; rolled back if it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Runs `hook` at the start of close(), while the database is still open (buffered writes). */
  beforeClose(hook: () => Promise<void>): void;
  close(): Promise<void>;
  /** Connection URL (for the embedded database, its private Unix socket's directory as `host`). */
  url: string;
  embedded: boolean;
  /** the embedded PGlite instance (backups), or null on a PostgreSQL server */
  pglite: PGlite | null;
  /**
   * Largest number of connections the database accepts at once. The embedded PGlite
   * serves one connection: never hold a transaction open while awaiting another query
   * on a different connection (it would wait forever).
   */
  maxConnections: number;
  /** The waits this store's pool allows (see DatabaseTimeouts). */
  timeouts: DatabaseTimeouts;
};

type Embedded = {
  db: PGlite;
  server: PGLiteSocketServer;
  url: string;
  /** the private directory holding the Unix socket */
  socketDir: string;
  unlock: () => void;
};

/** The embedded data directory is open in another process (a running `quotient serve`). */
export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  readonly expected = true;
  readonly dataDir: string;
  readonly owner: number;
  constructor(dataDir: string, owner: number) {
    super(
      `the embedded database in ${dataDir} is in use by process ${owner} (a running quotient serve or import); stop that process and run this again, send the work to the running server over its API, or point DATABASE_URL at a PostgreSQL server that both can share`,
    );
    this.name = 'DataDirInUseError';
    this.dataDir = dataDir;
    this.owner = owner;
  }
}

/**
 * One process at a time may open an embedded data directory: two PGlite instances on the
 * same files would corrupt them. A lock file holds the owner's pid; a stale one (its
 * process gone) is taken over.
 */
const openHere = new Set<string>();

export function lockDataDir(dataDir: string): () => void {
  const lock = join(resolve(dataDir), 'quotient.lock');
  if (openHere.has(lock))
    throw new Error(`the embedded database in ${dataDir} is already open in this process`);
  try {
    const owner = Number(readFileSync(lock, 'utf8'));
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new DataDirInUseError(dataDir, owner);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  writeFileSync(lock, String(process.pid));
  openHere.add(lock);
  return () => {
    openHere.delete(lock);
    rmSync(lock, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The port number in the socket's file name (pg derives the name from host and port). */
const SOCKET_PORT = 5432;

/** Socket directories are named after their process, so a later process can sweep a dead one's. */
const SOCKET_DIR_PREFIX = 'quotient-pg-';
const openSocketDirs = new Set<string>();

// a process that exits without closing its store (process.exit in a command, a failed test)
// still removes its socket directories; only one killed outright leaves them to the sweep
process.on('exit', () => {
  for (const dir of openSocketDirs) rmSync(dir, { recursive: true, force: true });
});

function makeSocketDir(): string {
  sweepStaleSocketDirs();
  const dir = mkdtempSync(join(tmpdir(), `${SOCKET_DIR_PREFIX}${process.pid}-`));
  chmodSync(dir, 0o700);
  openSocketDirs.add(dir);
  return dir;
}

function removeSocketDir(dir: string): void {
  openSocketDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Removes this user's socket directories whose process is gone (killed before it closed). */
export function sweepStaleSocketDirs(): void {
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^quotient-pg-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    const dir = join(tmpdir(), name);
    try {
      if (uid !== undefined && statSync(dir).uid !== uid) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // another process swept it first, or it is not ours to remove
    }
  }
}

async function startEmbedded(dataDir: string, initialData?: Blob): Promise<Embedded> {
  let db: PGlite;
  let unlock = () => {};
  if (dataDir === 'memory') {
    db = await PGlite.create({ loadDataDir: initialData });
  } else {
    const pgdata = join(resolve(dataDir), 'pgdata');
    mkdirSync(pgdata, { recursive: true });
    unlock = lockDataDir(dataDir);
    try {
      // PGlite refuses to load a tarball over an existing cluster
      const fresh = !existsSync(join(pgdata, 'PG_VERSION'));
      db = await PGlite.create({ dataDir: pgdata, loadDataDir: fresh ? initialData : undefined });
    } catch (error) {
      unlock();
      throw error;
    }
  }
  // PGlite is single-session: concurrent extended-protocol messages from two sockets
  // interleave (electric-sql/pglite#1046), so the client pool is sized to one connection.
  // The server allows a little slack for a pool reconnecting while an old socket closes.
  const socketDir = makeSocketDir();
  const path = join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
  const server = new PGLiteSocketServer({ db, path, maxConnections: 4 });
  try {
    await server.start();
    chmodSync(path, 0o600);
  } catch (error) {
    await server.stop().catch(() => {});
    await db.close().catch(() => {});
    unlock();
    removeSocketDir(socketDir);
    throw error;
  }
  const url = `postgres://postgres@localhost:${SOCKET_PORT}/postgres?host=${encodeURIComponent(socketDir)}`;
  const release = unlock;
  unlock = () => {
    release();
    removeSocketDir(socketDir);
  };
  return { db, server, url, socketDir, unlock };
}

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const databaseUrl = options.databaseUrl ?? '';
  const embedded = databaseUrl
    ? null
    : await startEmbedded(options.dataDir ?? DEFAULT_DATA_DIR, options.initialData);
  const direct = embedded ? embedded.url : databaseUrl;
  const url = options.wrapUrl ? await options.wrapUrl(direct) : direct;
  const max = embedded ? 1 : (options.poolSize ?? 10);
  const logger = options.logger;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };

  let orm: MikroORM;
  try {
    orm = await MikroORM.init({
      clientUrl: url,
      // the embedded server's socket directory: pg connects to <host>/.s.PGSQL.<port>
      ...(embedded && url === direct ? { host: embedded.socketDir, port: SOCKET_PORT } : {}),
      entities: [...storeEntities, ...(options.entities ?? [])],
      extensions: [Migrator],
      // idle connections stay open: the embedded server has room for exactly one
      pool: { min: 0, max, idleTimeoutMillis: embedded ? 0 : 30_000 },
      // node-postgres pool settings: the server enforces statement and lock timeouts; the
      // client's query_timeout also covers a server that stopped answering altogether
      driverOptions: {
        connectionTimeoutMillis: timeouts.connectMs,
        query_timeout: timeouts.statementMs + CLIENT_TIMEOUT_SLACK_MS,
        statement_timeout: timeouts.statementMs,
        lock_timeout: timeouts.lockMs,
        idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
        keepAlive: true,
      },
      discovery: { warnWhenNoEntities: false },
      migrations: {
        path: MIGRATIONS_DIR,
        pathTs: MIGRATIONS_DIR,
        glob: '!(*.d).ts',
        snapshot: false,
        transactional: true,
        allOrNothing: true,
        silent: true,
      },
      debug: false,
      ensureDatabase: false,
    });
  } catch (error) {
    try {
      await embedded?.server.stop();
      await embedded?.db.close();
    } finally {
      embedded?.unlock();
    }
    throw error;
  }
  const pool = (await orm.em.getConnection().getNativeClient()) as pg.Pool;
  const closeHooks: (() => Promise<void>)[] = [];

  const store: Store = {
    orm,
    em: () => orm.em.fork() as EntityManager,
    pool,
    async query(text, params) {
      const result = await pool.query(text, params as unknown[]);
      return result.rows;
    },
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('begin');
        const value = await work(client);
        await client.query('commit');
        return value;
      } catch (error) {
        await client.query('rollback').catch((rollbackError: Error) => {
          // a connection that cannot even roll back (timed out, cut off) is not reused
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    beforeClose(hook) {
      closeHooks.push(hook);
    },
    async close() {
      // a failing hook (the database gone) must not keep the store open: close, then report it
      let failed: unknown = null;
      for (const hook of closeHooks.splice(0)) await hook().catch((error) => (failed ??= error));
      try {
        await orm.close(true);
        await embedded?.server.stop();
        await embedded?.db.close();
      } finally {
        // the lock and the socket directory go even when a step above fails
        embedded?.unlock();
      }
      if (failed) throw failed;
    },
    url,
    embedded: embedded !== null,
    pglite: embedded?.db ?? null,
    maxConnections: max,
    timeouts,
  };

  if (options.migrate) {
    const applied = await migrate(store);
    if (applied.length > 0) logger?.info(`applied migrations: ${applied.join(', ')}`);
  }
  return store;
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(store: Store): Promise<string[]> {
  const applied = await store.orm.migrator.up();
  return applied.map((m) => m.name);
}

/** Names of migrations in migrations/ not yet applied (the API's /ready reports these). */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const pending = await store.orm.migrator.getPending();
  return pending.map((m) => m.name);
}
