// `quotient backup` and `quotient restore` on the embedded database, as real processes: a
// backup taken from a running server restores to the same totals, a write made after the
// backup is not in it, an offline backup works too, and nothing is replaced by accident.
// The embedded database is the subject here, so the children run without DATABASE_URL.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupTotals, readTotals } from '../../src/store/backup.ts';
import { openStore } from '../../src/store/db.ts';

const work = mkdtempSync(join(tmpdir(), 'quotient-backup-'));
const source = join(work, 'source');
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  LOG_LEVEL: 'warn',
};
delete env.DATABASE_URL;

function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['src/cli.ts', ...args], {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
  });
}

async function totalsOf(dataDir: string): Promise<BackupTotals> {
  const store = await openStore({ dataDir, databaseUrl: '', migrate: false });
  try {
    return await readTotals(store);
  } finally {
    await store.close();
  }
}

async function serve(dataDir: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['src/cli.ts', 'serve', '--port', '0', '--no-seed', '--data-dir', dataDir],
    { env },
  );
  let output = '';
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      output += d;
      const match = /Quotient API at (http:\/\/\S+)\/graphql/.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
  const key = /\n {2}(qk_\S+)\n/.exec(output)?.[1] as string;
  return { child, url, key };
}

let seeded: BackupTotals;

beforeAll(async () => {
  const seed = cli([
    'seed',
    '--people',
    '30',
    '--teams',
    '4',
    '--days',
    '10',
    '--data-dir',
    source,
  ]);
  expect(seed.status, seed.stderr).toBe(0);
  seeded = await totalsOf(source);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('quotient backup and restore', () => {
  it('backs up a running server and restores the same totals, without later writes', async () => {
    expect(seeded.usageEvents).toBeGreaterThan(100);
    expect(seeded.people).toBeGreaterThanOrEqual(30);
    const { child, url, key } = await serve(source);
    try {
      const file = join(work, 'live.tar.gz');
      const backup = cli(['backup', file, '--data-dir', source]);
      expect(backup.status, backup.stderr).toBe(0);
      expect(backup.stdout).toContain('from the running server');

      // a write after the backup: it must not be in the restored copy
      const written = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query:
            'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
          variables: {
            rows: [
              {
                id: 'after-the-backup',
                ts: new Date().toISOString(),
                person: 'late@acme.test',
                model: 'gpt-4o-mini',
                inputTokens: 10,
                outputTokens: 0,
              },
            ],
          },
        }),
      });
      expect(await written.json()).toEqual({ data: { recordUsage: { accepted: 1 } } });

      // a running server's directory cannot be restored over
      const busy = cli(['restore', file, '--replace', '--data-dir', source]);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toContain('stop it first');

      const target = join(work, 'restored');
      const restore = cli(['restore', file, '--data-dir', target]);
      expect(restore.status, restore.stderr).toBe(0);
      expect(restore.stdout).toContain(`usage events    ${seeded.usageEvents}`);
      const restored = await totalsOf(target);
      expect({ ...restored, escalations: 0 }).toEqual({ ...seeded, escalations: 0 });
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const after = await totalsOf(source);
    expect(after.usageEvents).toBe(seeded.usageEvents + 1);
  }, 120_000);

  it('backs up a stopped server, and replaces a database only when asked, keeping the old one', async () => {
    const now = await totalsOf(source);
    const file = join(work, 'offline.tar.gz');
    const backup = cli(['backup', file, '--data-dir', source]);
    expect(backup.status, backup.stderr).toBe(0);
    expect(backup.stdout).toContain(`from ${source}`);

    const target = join(work, 'restored');
    const refused = cli(['restore', file, '--data-dir', target]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('pass --replace');
    const replaced = cli(['restore', file, '--replace', '--data-dir', target]);
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('the database it replaced is kept in');
    expect(readdirSync(target).some((f) => f.startsWith('pgdata.replaced-'))).toBe(true);
    expect(await totalsOf(target)).toEqual(now);
  }, 120_000);

  it('refuses what is not a backup, and points PostgreSQL users to pg_dump', () => {
    const notBackup = cli(['restore', 'package.json', '--data-dir', join(work, 'x')]);
    expect(notBackup.status).toBe(1);
    expect(notBackup.stderr).toContain('is not a quotient backup');
    expect(existsSync(join(work, 'x', 'pgdata'))).toBe(false);
    const postgres = cli(['backup', join(work, 'pg.tar.gz')], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    });
    expect(postgres.status).toBe(2);
    expect(postgres.stderr).toContain('pg_dump');
  });
});
