// Backups of the embedded database: a gzipped tarball of its data directory, made by
// PGlite's dumpDataDir after a CHECKPOINT. PGlite runs one statement at a time, and the
// dump takes the same lock as a statement, so it sees the files between two statements:
// committed work is in them (or in the WAL, which the tarball carries and PostgreSQL
// replays on the restore's first start), and a transaction still open is rolled back
// there, as after a crash. A PostgreSQL server is backed up with pg_dump instead
// (docs/operations-backup.md).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { lockDataDir, type Store } from './db.ts';

/** The first bytes of a gzip stream: a backup file is checked before anything is replaced. */
const GZIP_MAGIC = [0x1f, 0x8b];

export type BackupTotals = {
  people: number;
  teams: number;
  usageEvents: number;
  /** total cost in the ingest currency, as exact decimal text */
  cost: string;
  policyVersions: number;
  escalations: number;
};

/** A gzipped tarball of the embedded database, consistent at one statement boundary. */
export async function dumpEmbedded(store: Store): Promise<Buffer> {
  const db = store.pglite;
  if (!db) throw new Error('this store is a PostgreSQL server: back it up with pg_dump (see docs)');
  await db.query('checkpoint');
  const blob = await db.dumpDataDir('gzip');
  return Buffer.from(await blob.arrayBuffer());
}

/** Opens a data directory no server holds, dumps it, and closes it. */
export async function dumpDataDirectory(dataDir: string): Promise<Buffer> {
  const pgdata = join(resolve(dataDir), 'pgdata');
  if (!existsSync(join(pgdata, 'PG_VERSION')))
    throw new Error(`no embedded database in ${dataDir} (expected ${pgdata})`);
  const unlock = lockDataDir(dataDir);
  try {
    const db = await PGlite.create({ dataDir: pgdata });
    try {
      await db.query('checkpoint');
      const blob = await db.dumpDataDir('gzip');
      return Buffer.from(await blob.arrayBuffer());
    } finally {
      await db.close();
    }
  } finally {
    unlock();
  }
}

export type RestoreResult = {
  pgdata: string;
  /** where the replaced database was moved, if there was one */
  previous: string | null;
  totals: BackupTotals;
};

/**
 * Restores a backup into `dataDir`. The directory must not be in use. An existing database
 * is kept beside the new one (pgdata.replaced-<time>) unless there was none.
 */
export async function restoreDataDirectory(
  file: string,
  dataDir: string,
  options: { replace: boolean; now?: Date },
): Promise<RestoreResult> {
  const bytes = readFileSync(file);
  if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1])
    throw new Error(`${file} is not a quotient backup (expected a gzipped tarball)`);
  mkdirSync(resolve(dataDir), { recursive: true });
  const unlock = lockDataDir(dataDir);
  try {
    const pgdata = join(resolve(dataDir), 'pgdata');
    let previous: string | null = null;
    if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
      if (!options.replace)
        throw new Error(
          `${dataDir} already holds a database: pass --replace to restore over it (the current one is kept as pgdata.replaced-<time>)`,
        );
      const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
      previous = `${pgdata}.replaced-${stamp}`;
      renameSync(pgdata, previous);
    }
    mkdirSync(pgdata, { recursive: true });
    let db: PGlite;
    try {
      db = await PGlite.create({
        dataDir: pgdata,
        loadDataDir: new Blob([new Uint8Array(bytes)]),
      });
    } catch (error) {
      if (previous) {
        // put the old database back: a failed restore must not lose it
        renameSync(pgdata, `${pgdata}.failed-restore`);
        renameSync(previous, pgdata);
      }
      throw new Error(`could not restore ${file}: ${(error as Error).message}`);
    }
    try {
      const totals = await readTotals({
        query: async (text: string) => (await db.query(text)).rows as never,
      });
      return { pgdata, previous, totals };
    } finally {
      await db.close();
    }
  } finally {
    unlock();
  }
}

/** Counts that show a restore brought back the same data. */
export async function readTotals(db: Pick<Store, 'query'>): Promise<BackupTotals> {
  const [row] = await db.query<Record<string, string>>(
    `select (select count(*) from people)::text as people,
            (select count(*) from teams)::text as teams,
            (select count(*) from usage_events)::text as "usageEvents",
            (select coalesce(sum(cost), 0) from usage_events)::text as cost,
            (select count(*) from policy_versions)::text as "policyVersions",
            (select count(*) from escalations)::text as escalations`,
  );
  return {
    people: Number(row.people),
    teams: Number(row.teams),
    usageEvents: Number(row.usageEvents),
    cost: row.cost,
    policyVersions: Number(row.policyVersions),
    escalations: Number(row.escalations),
  };
}
