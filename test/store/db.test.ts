// The embedded database: persisted under the data dir, one process at a time, and the
// same migrations as a server.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, pendingMigrations, sweepStaleSocketDirs } from '../../src/store/db.ts';

const dir = mkdtempSync(join(tmpdir(), 'quotient-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!!process.env.DATABASE_URL)('embedded PGlite', () => {
  it('persists under the data dir and refuses a second opener while open', async () => {
    const store = await openStore({ databaseUrl: '', dataDir: dir, migrate: true });
    try {
      expect(store.embedded).toBe(true);
      // a Unix socket in a private directory, not a TCP port (docs/privacy.md, attack 6)
      expect(store.url).toMatch(/^postgres:\/\/postgres@localhost:5432\/postgres\?host=/);
      const socketDir = decodeURIComponent(new URL(store.url).searchParams.get('host') ?? '');
      expect(statSync(socketDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(socketDir, '.s.PGSQL.5432')).mode & 0o777).toBe(0o600);
      expect(await pendingMigrations(store)).toEqual([]);
      await store.transaction(async (client) => {
        await client.query("insert into teams (id, name) values ('kept', 'Kept')");
      });
      await expect(openStore({ databaseUrl: '', dataDir: dir })).rejects.toThrow(
        /already open in this process/,
      );
      const other = spawnSync(
        process.execPath,
        [
          '-e',
          `import('${join(import.meta.dirname, '../../src/store/db.ts')}').then((m) => m.openStore({ databaseUrl: '', dataDir: '${dir}' })).catch((e) => { console.error(e.message); process.exit(3); })`,
        ],
        { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } },
      );
      expect(other.status).toBe(3);
      expect(other.stderr).toContain(`is in use by process ${process.pid}`);
    } finally {
      await store.close();
    }
    const reopened = await openStore({ databaseUrl: '', dataDir: dir });
    try {
      expect(await reopened.query('select id from teams')).toEqual([{ id: 'kept' }]);
    } finally {
      await reopened.close();
    }
  });

  it("removes its socket directory on close, on process.exit, and a dead process's later", async () => {
    const socketDirOf = (url: string) =>
      decodeURIComponent(new URL(url).searchParams.get('host') ?? '');
    const store = await openStore({ databaseUrl: '', dataDir: 'memory' });
    const socketDir = socketDirOf(store.url);
    expect(existsSync(socketDir)).toBe(true);
    await store.close();
    expect(existsSync(socketDir)).toBe(false);

    // a command that calls process.exit with the store open still removes its directory
    const exited = spawnSync(
      process.execPath,
      [
        '-e',
        `import('${join(import.meta.dirname, '../../src/store/db.ts')}').then(async (m) => { const s = await m.openStore({ databaseUrl: '', dataDir: 'memory' }); console.log(decodeURIComponent(new URL(s.url).searchParams.get('host'))); process.exit(0); })`,
      ],
      { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } },
    );
    expect(exited.status).toBe(0);
    const exitedDir = exited.stdout.trim();
    expect(exitedDir).toContain('quotient-pg-');
    expect(existsSync(exitedDir)).toBe(false);

    // one killed outright leaves it; the next opener sweeps it (its process is gone), while a
    // live process's directory stays
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    const deadDir = join(tmpdir(), `quotient-pg-${dead.stdout.trim()}-stale`);
    const liveDir = join(tmpdir(), `quotient-pg-${process.pid}-live`);
    mkdirSync(deadDir);
    mkdirSync(liveDir);
    try {
      sweepStaleSocketDirs();
      expect(existsSync(deadDir)).toBe(false);
      expect(existsSync(liveDir)).toBe(true);
    } finally {
      rmSync(deadDir, { recursive: true, force: true });
      rmSync(liveDir, { recursive: true, force: true });
    }
  });
});
