// Vitest global setup: runs every migration once per test run, into a template that each
// test file's database is then copied from (test/support/db.ts), instead of migrating a new
// database in every file. With DATABASE_URL the template is a database on that server
// (copied by CREATE DATABASE … TEMPLATE); without, an embedded data directory (copied as
// files) and its tarball (loaded by an in-memory PGlite). Removed when the run ends.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openStore } from '../../src/store/db.ts';

export type DatabaseTemplate =
  | { kind: 'server'; database: string }
  | { kind: 'embedded'; dataDir: string; tarball: string };

declare module 'vitest' {
  interface ProvidedContext {
    databaseTemplate: DatabaseTemplate;
  }
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const database = `quotient_template_${randomBytes(6).toString('hex')}`;
    await adminQuery(serverUrl, `create database ${database}`);
    try {
      // closed before any test file copies it: a template may have no open connection
      const store = await openStore({
        databaseUrl: withDatabase(serverUrl, database),
        migrate: true,
      });
      await store.close();
    } catch (error) {
      await adminQuery(serverUrl, `drop database if exists ${database} with (force)`);
      throw error;
    }
    project.provide('databaseTemplate', { kind: 'server', database });
    return () => adminQuery(serverUrl, `drop database if exists ${database} with (force)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'quotient-test-template-'));
  const tarball = join(dataDir, 'pgdata.tar');
  try {
    const store = await openStore({ databaseUrl: '', dataDir, migrate: true });
    try {
      // everything on disk, so a copy starts without replaying the log
      await store.query('checkpoint');
      const dump = await store.pglite?.dumpDataDir('none');
      if (!dump) throw new Error('the embedded store has no PGlite instance');
      writeFileSync(tarball, Buffer.from(await dump.arrayBuffer()));
    } finally {
      await store.close();
    }
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  project.provide('databaseTemplate', { kind: 'embedded', dataDir, tarball });
  return async () => rmSync(dataDir, { recursive: true, force: true });
}
