// Opening the store for a CLI command: the shared `--data-dir` option and a helper that
// opens (and migrates) the database for one piece of work and always closes it.
import type { EntitySchema } from '@mikro-orm/core';
import type { Option } from 'commander';
import { settingOption } from '../config.ts';
import type { Store } from '../store/db.ts';

/** `databaseUrl` comes from --database-url / QUOTIENT_DATABASE_URL (or DATABASE_URL). */
export type StoreFlags = { dataDir: string; databaseUrl?: string };

/** --data-dir (QUOTIENT_DATA_DIR); commands with it also get --database-url (program.ts). */
export function dataDirOption(): Option {
  return settingOption('data-dir');
}

export type WithStoreOptions = {
  /** apply pending migrations first (default true) */
  migrate?: boolean;
  /** extra MikroORM entities the command reads through the EntityManager */
  entities?: EntitySchema[];
};

export async function withStore<T>(
  flags: StoreFlags,
  work: (store: Store) => Promise<T>,
  options: WithStoreOptions = {},
): Promise<T> {
  // loaded on use: commands that only parse options or hand work to a worker stay light
  const { DEFAULT_TIMEOUTS, openStore, timeoutsFromEnv } = await import('../store/db.ts');
  const store = await openStore({
    ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
    dataDir: flags.dataDir,
    // commands run long statements (migrations, retention, big chunks): 10 minutes each
    timeouts: timeoutsFromEnv({ ...DEFAULT_TIMEOUTS, statementMs: 600_000 }),
    migrate: options.migrate ?? true,
    ...(options.entities ? { entities: options.entities } : {}),
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
