// `quotient backup <file>` and `quotient restore <file>` for the embedded database. A backup
// taken while `quotient serve` runs is made by that server (it holds the data directory);
// otherwise the command opens the directory itself. A PostgreSQL server (DATABASE_URL) is
// backed up with pg_dump: see docs/operations-backup.md.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runningServer } from './server-file.ts';
import { dataDirOption, type StoreFlags } from './store-options.ts';

function fail(message: string, code = 1): never {
  console.error(`error: ${message}`);
  process.exit(code);
}

function refusePostgres(what: string, flags: StoreFlags): void {
  if (flags.databaseUrl)
    fail(
      `a database URL is set (--database-url, QUOTIENT_DATABASE_URL or DATABASE_URL): ${what} a PostgreSQL server with pg_dump / pg_restore (docs/operations-backup.md)`,
      2,
    );
}

function describe(totals: {
  people: number;
  teams: number;
  usageEvents: number;
  cost: string;
  policyVersions: number;
  escalations: number;
}): string {
  return [
    `  people          ${totals.people}`,
    `  teams           ${totals.teams}`,
    `  usage events    ${totals.usageEvents}`,
    `  cost            ${totals.cost}`,
    `  policy versions ${totals.policyVersions}`,
    `  escalations     ${totals.escalations}`,
  ].join('\n');
}

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description(
      'write the embedded database to <file> (a gzipped tarball), also while the server runs',
    )
    .argument('<file>', 'where to write the backup (e.g. quotient-2026-12-06.tar.gz)')
    .addOption(dataDirOption())
    .action(async (file: string, flags: StoreFlags) => {
      refusePostgres('back up', flags);
      const server = runningServer(flags.dataDir);
      let bytes: Buffer;
      let how: string;
      if (server) {
        const response = await fetch(`${server.url}/admin/backup`, {
          headers: { authorization: `Bearer ${server.localToken}` },
        }).catch((error: Error) =>
          fail(
            `the server of ${flags.dataDir} (pid ${server.pid}) did not answer at ${server.url}: ${error.message}`,
          ),
        );
        if (!response.ok)
          fail(`the server refused the backup: HTTP ${response.status} ${await response.text()}`);
        bytes = Buffer.from(await response.arrayBuffer());
        how = `from the running server (pid ${server.pid})`;
      } else {
        const { dumpDataDirectory } = await import('../store/backup.ts');
        bytes = await dumpDataDirectory(flags.dataDir).catch((error: Error) => fail(error.message));
        how = `from ${flags.dataDir}`;
      }
      writeFileSync(file, bytes);
      console.log(`backed up ${how} to ${file} (${(bytes.length / 1024 / 1024).toFixed(1)} MB)`);
    });

  program
    .command('restore')
    .description(
      'restore the embedded database from a backup made by `quotient backup` (the server must be stopped)',
    )
    .argument('<file>', 'a backup file')
    .option(
      '--replace',
      'restore over an existing database (kept beside it as pgdata.replaced-<time>)',
    )
    .addOption(dataDirOption())
    .action(async (file: string, flags: StoreFlags & { replace?: boolean }) => {
      refusePostgres('restore', flags);
      const server = runningServer(flags.dataDir);
      if (server) fail(`a server (pid ${server.pid}) is using ${flags.dataDir}: stop it first`);
      const { restoreDataDirectory } = await import('../store/backup.ts');
      const restored = await restoreDataDirectory(file, flags.dataDir, {
        replace: flags.replace === true,
      }).catch((error: Error) => fail(error.message));
      console.log(`restored ${file} into ${restored.pgdata}`);
      if (restored.previous)
        console.log(`the database it replaced is kept in ${restored.previous}`);
      console.log(describe(restored.totals));
    });
}
