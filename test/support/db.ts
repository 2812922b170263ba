// A fresh, isolated database per test file. With DATABASE_URL: a uniquely named database
// on that server, dropped afterwards. Without: an embedded PGlite (in memory, or in a temp
// directory when a child process has to open it too).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type OpenStoreOptions, openStore, type Store } from '../../src/store/db.ts';

export type TestDatabase = {
  /** Environment for a child process (`quotient …`) to reach this database. */
  env: Record<string, string>;
  /** --data-dir for a child process (an empty temp dir; unused with DATABASE_URL). */
  dataDir: string;
  /** Opens (and migrates) a store on this database. */
  open(options?: Partial<OpenStoreOptions>): Promise<Store>;
  /** Drops the database or deletes the temp directory. */
  drop(): Promise<void>;
};

export type TestStore = Store & { destroy(): Promise<void> };

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** A new empty database (server) or data directory (embedded); nothing is opened yet. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const name = `quotient_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = withDatabase(serverUrl, name);
    return {
      env: { DATABASE_URL: url },
      dataDir: mkdtempSync(join(tmpdir(), 'quotient-unused-')),
      open: (options) => openStore({ databaseUrl: url, migrate: true, ...options }),
      async drop() {
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        await client.query(`drop database if exists ${name} with (force)`);
        await client.end();
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'quotient-test-'));
  return {
    env: {},
    dataDir,
    open: (options) => openStore({ databaseUrl: '', dataDir, migrate: true, ...options }),
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A migrated store on a fresh database; call destroy() in afterAll. */
export async function createTestStore(options: Partial<OpenStoreOptions> = {}): Promise<TestStore> {
  if (!process.env.DATABASE_URL) {
    // in-memory PGlite: nothing to clean up but the instance itself
    const store = await openStore({
      databaseUrl: '',
      dataDir: 'memory',
      migrate: true,
      ...options,
    });
    return Object.assign(store, { destroy: () => store.close() });
  }
  const database = await createTestDatabase();
  const store = await database.open(options);
  return Object.assign(store, {
    async destroy() {
      await store.close();
      await database.drop();
    },
  });
}
