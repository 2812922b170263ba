// Opening the store for a CLI command: the shared `--data-dir` option and a helper that
// opens (and migrates) the database for one piece of work and always closes it.
import type { EntitySchema } from '@mikro-orm/core';
import { Option } from 'commander';
import type { Store } from '../store/db.ts';
import { DEFAULT_DATA_DIR } from '../store/defaults.ts';

export type StoreFlags = { dataDir: string };

export function dataDirOption(): Option {
  return new Option(
    '--data-dir <dir>',
    'embedded database directory (ignored when DATABASE_URL is set)',
  ).default(DEFAULT_DATA_DIR);
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
