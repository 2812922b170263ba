// A fresh, isolated database per test file. With DATABASE_URL: a uniquely named database
// on that server, dropped afterwards. Without: an embedded PGlite (in memory, or in a temp
// directory when a child process has to open it too). Each starts as a copy of the run's
// migrated template (test/support/db-template.ts), or empty when a test asks for that.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type OpenStoreOptions, openStore, type Store } from '../../src/store/db.ts';
import { adminQuery, withDatabase } from './db-template.ts';

export type TestDatabase = {
  /** Environment for a child process (`quotient …`) to reach this database. */
  env: Record<string, string>;
  /** --data-dir for a child process (a temp dir; unused with DATABASE_URL). */
  dataDir: string;
  /** Opens (and migrates) a store on this database. */
  open(options?: Partial<OpenStoreOptions>): Promise<Store>;
  /** Drops the database or deletes the temp directory. */
  drop(): Promise<void>;
};

export type TestStore = Store & { destroy(): Promise<void> };

export type TestDatabaseOptions = {
  /** No tables at all, for tests of migrating (default: every migration applied). */
  empty?: boolean;
};

/** The run's migrated template; none outside Vitest (the benches), which migrate instead. */
function runTemplate() {
  return process.env.VITEST ? inject('databaseTemplate') : null;
}

/** A new database (server) or data directory (embedded); nothing is opened yet. */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const template = options.empty ? null : runTemplate();
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const name = `quotient_test_${randomBytes(6).toString('hex')}`;
    const copy = template?.kind === 'server' ? ` template ${template.database}` : '';
    await adminQuery(serverUrl, `create database ${name}${copy}`);
    const url = withDatabase(serverUrl, name);
    return {
      env: { DATABASE_URL: url },
      dataDir: mkdtempSync(join(tmpdir(), 'quotient-unused-')),
      open: (openOptions) => openStore({ databaseUrl: url, migrate: true, ...openOptions }),
      drop: () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'quotient-test-'));
  if (template?.kind === 'embedded') {
    cpSync(join(template.dataDir, 'pgdata'), join(dataDir, 'pgdata'), { recursive: true });
  }
  return {
    env: {},
    dataDir,
    open: (openOptions) => openStore({ databaseUrl: '', dataDir, migrate: true, ...openOptions }),
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let templateTarball: Blob | undefined;

/** A migrated store on a fresh database; call destroy() in afterAll. */
export async function createTestStore(options: Partial<OpenStoreOptions> = {}): Promise<TestStore> {
  if (!process.env.DATABASE_URL) {
    // in-memory PGlite: nothing to clean up but the instance itself
    const template = runTemplate();
    if (template?.kind === 'embedded')
      templateTarball ??= new Blob([readFileSync(template.tarball)]);
    const store = await openStore({
      databaseUrl: '',
      dataDir: 'memory',
      migrate: true,
      initialData: templateTarball,
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
