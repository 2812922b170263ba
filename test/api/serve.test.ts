// `quotient serve` as a real process: migrations applied at start, keys from `quotient keys`
// accepted, graceful exit on SIGTERM.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  // empty: the first command on it, and `serve` on a fresh one, apply the migrations
  db = await createTestDatabase({ empty: true });
});
afterAll(async () => {
  await db?.drop();
});

function cli(args: string[]) {
  return spawnSync(process.execPath, ['src/cli.ts', ...args, '--data-dir', db.dataDir], {
    env: { ...process.env, ...db.env },
    encoding: 'utf8',
  });
}

/** Starts `quotient serve` and resolves with its URL once it listens. */
async function serve(): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(
    process.execPath,
    ['src/cli.ts', 'serve', '--port', '0', '--no-seed', '--data-dir', db.dataDir],
    {
      env: { ...process.env, ...db.env, LOG_LEVEL: 'info' },
    },
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
  return { child, url, output: () => output };
}

describe('quotient serve', () => {
  it('serves keys made by `quotient keys create`, and stops cleanly on SIGTERM', async () => {
    const created = cli(['keys', 'create', '--role', 'viewer', '--name', 'e2e', '--json']);
    expect(created.status).toBe(0);
    const { key, id } = JSON.parse(created.stdout);
    expect(key).toMatch(/^qk_/);

    const { child, url, output } = await serve();
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ viewer { role keyId } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { role: 'viewer', keyId: id } } });

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output()).toMatch(/"msg":"shutting down: finishing in-flight requests"/);
    expect(output()).toMatch(/"msg":"stopped"/);

    const listed = cli(['keys', 'list', '--json']);
    const keys = JSON.parse(listed.stdout);
    expect(keys).toEqual([
      expect.objectContaining({ id, role: 'viewer', name: 'e2e', revokedAt: null }),
    ]);
    expect(keys[0].lastUsedAt).not.toBeNull();
    expect(listed.stdout).not.toContain(key);

    expect(cli(['keys', 'revoke', id]).status).toBe(0);
    expect(cli(['keys', 'revoke', id]).status).toBe(1);
  }, 120_000);

  it('prints a bootstrap admin key once when no key exists', async () => {
    const fresh = await createTestDatabase({ empty: true });
    const previous = db;
    db = fresh;
    try {
      const { child, url, output } = await serve();
      const key = /\n {2}(qk_\S+)\n/.exec(output())?.[1];
      expect(key).toBeDefined();
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ viewer { role keyName } }' }),
      });
      expect(await res.json()).toEqual({
        data: { viewer: { role: 'admin', keyName: 'bootstrap admin' } },
      });
      child.kill('SIGTERM');
      await once(child, 'exit');
    } finally {
      db = previous;
      await fresh.drop();
    }
  }, 120_000);

  it('exits 2 on usage errors', () => {
    expect(cli(['keys', 'create', '--role', 'root', '--name', 'x']).status).toBe(2);
    expect(cli(['keys', 'create', '--role', 'member', '--name', 'x']).status).toBe(2);
    expect(cli(['serve', '--port', 'many']).status).toBe(2);
  });
});
