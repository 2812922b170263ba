// Opening the store for a CLI command: the shared `--data-dir` option and a helper that
// opens (and migrates) the database for one piece of work and always closes it.
import type { EntitySchema } from '@mikro-orm/core';
import type { Option } from 'commander';
import { loadConfig, settingOption } from '../config.ts';
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

/**
 * Opens the database of a CLI command: its --database-url (or the setting's variable), its
 * --data-dir, and the database timeouts of the configuration, where a command's statements
 * may run 10 minutes (migrations, retention, big chunks) unless the setting says otherwise.
 */
export async function openCliStore(
  flags: StoreFlags,
  options: WithStoreOptions = {},
): Promise<Store> {
  // loaded on use: commands that only parse options or hand work to a worker stay light
  const { openStore } = await import('../store/db.ts');
  const config = loadConfig(undefined, undefined, { 'db-statement-timeout-ms': 600_000 });
  return openStore({
    databaseUrl: flags.databaseUrl ?? config.databaseUrl ?? '',
    dataDir: flags.dataDir,
    timeouts: config.dbTimeouts,
    migrate: options.migrate ?? true,
    ...(options.entities ? { entities: options.entities } : {}),
  });
}

export async function withStore<T>(
  flags: StoreFlags,
  work: (store: Store) => Promise<T>,
  options: WithStoreOptions = {},
): Promise<T> {
  const store = await openCliStore(flags, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
