// The command line beside a running server (issue 15, item 7): while another process owns
// the embedded data directory, `keys`, `policy log` and `webhooks add|list|remove` go through the running `quotient serve`, and every
// other database command stops with one plain sentence that says what to do, and no stack
// trace.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
const FIXTURE = join(import.meta.dirname, '../fixtures/ingest/native.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'quotient-beside-'));
let owner: Store | undefined;

function run(
  args: string[],
  dataDir = dir,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [CLI, ...args, '--data-dir', dataDir], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe.skipIf(!!process.env.DATABASE_URL)(
  'database commands while a server owns the data dir',
  () => {
    beforeAll(async () => {
      // this test process stands in for `quotient serve`: it holds the embedded database open
      owner = await openStore({ databaseUrl: '', dataDir: dir, migrate: true });
    });
    afterAll(async () => {
      await owner?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const args of [
      ['import', FIXTURE],
      ['migrate'],
      ['seed', '--people', '5'],
      ['keys', 'list'],
      ['webhooks', 'list'],
      ['policy', 'log'],
    ]) {
      it(`quotient ${args.join(' ')} stops with one sentence`, async () => {
        const result = await run(args);
        expect(result.code).not.toBe(0);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        const lines = result.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.includes('reading as'));
        expect(lines).toEqual([
          expect.stringMatching(
            new RegExp(
              `^error: the embedded database in .+ is in use by process ${process.pid} .*stop that process and run this again`,
            ),
          ),
        ]);
      });
    }
  },
);

describe.skipIf(!!process.env.DATABASE_URL)(
  'the command line beside a running quotient serve',
  () => {
    const served = mkdtempSync(join(tmpdir(), 'quotient-served-'));
    let server: ChildProcess | undefined;
    let url = '';

    function cli(args: string[]) {
      return run(args, served);
    }

    beforeAll(async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
      delete env.DATABASE_URL;
      server = spawn(
        process.execPath,
        [CLI, 'serve', '--port', '0', '--no-seed', '--data-dir', served],
        {
          env,
        },
      );
      let output = '';
      server.stderr?.on('data', (d) => {
        output += d;
      });
      url = await new Promise<string>((resolve, reject) => {
        server?.stdout?.on('data', (d) => {
          output += d;
          const match = /Quotient API at (http:\/\/\S+)\/graphql/.exec(output);
          if (match) resolve(match[1]);
        });
        server?.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
      });
    }, 120_000);
    afterAll(async () => {
      if (server && server.exitCode === null) {
        server.kill('SIGTERM');
        await new Promise((resolve) => server?.once('exit', resolve));
      }
      rmSync(served, { recursive: true, force: true });
    });

    const viewerStatus = async (key: string) =>
      (
        await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: '{ viewer { role } }' }),
        })
      ).status;

    it('keys create, list and revoke go through the server', async () => {
      const created = await cli([
        'keys',
        'create',
        '--role',
        'viewer',
        '--name',
        'beside',
        '--format',
        'json',
      ]);
      expect(created.code).toBe(0);
      expect(created.stderr).toContain(`(through the server of ${served} at ${url})`);
      const { id, key, role } = JSON.parse(created.stdout) as {
        id: string;
        key: string;
        role: string;
      };
      expect(role).toBe('viewer');
      expect(await viewerStatus(key)).toBe(200);

      const listed = await cli(['keys', 'list', '--format', 'json']);
      expect(listed.code).toBe(0);
      // beside the bootstrap admin key that serve made
      expect(JSON.parse(listed.stdout)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id, name: 'beside', role: 'viewer', revokedAt: null }),
        ]),
      );

      const revoked = await cli(['keys', 'revoke', id]);
      expect({ code: revoked.code, stdout: revoked.stdout }).toEqual({
        code: 0,
        stdout: `revoked ${id}\n`,
      });
      // revoked through the server: refused at once
      expect(await viewerStatus(key)).toBe(401);
      const again = await cli(['keys', 'revoke', id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`no active key with id "${id}"`);
    });

    it('policy log goes through the server', async () => {
      const empty = await cli(['policy', 'log']);
      expect(empty).toEqual({
        code: 0,
        stdout: 'no policy versions yet: `quotient policy publish <file>`\n',
        stderr: `(through the server of ${served} at ${url})\n`,
      });
      // a version published over the API (with the local token of server.json, an admin's)
      const { localToken } = JSON.parse(readFileSync(join(served, 'server.json'), 'utf8'));
      const source = readFileSync(
        join(import.meta.dirname, '../../policies/default.policy'),
        'utf8',
      );
      const published = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${localToken}` },
        body: JSON.stringify({
          query:
            'mutation($s: String!) { publishPolicy(source: $s, message: "beside", activate: true) { __typename } }',
          variables: { s: source },
        }),
      });
      expect(await published.text()).toContain('PolicyVersion');
      const listed = await cli(['policy', 'log', '--format', 'json']);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({
          id: 1,
          status: 'active',
          message: 'beside',
          parent_id: null,
          hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      ]);
      const text = await cli(['policy', 'log']);
      expect(text.stdout).toMatch(/^\* v1 .* active .*"beside"\n$/);
    });

    it('webhooks add, list and remove go through the server', async () => {
      const through = `(through the server of ${served} at ${url})\n`;
      const refused = await cli(['webhooks', 'add', 'nobody', 'https://hooks.example.test/a']);
      expect(refused).toEqual({
        code: 2,
        stdout: '',
        stderr: `${through}error: audience: unknown audience "nobody": use one of person, manager, team_owner, finance, security, governance, admin, legal, hr, all\n`,
      });
      const added = await cli(['webhooks', 'add', 'governance', 'https://hooks.example.test/a']);
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(/^webhook 1: governance → https:\/\/hooks\.example\.test\/a\n/);
      expect(added.stdout).toMatch(/secret \(shown once\): whsec_/);
      const listed = await cli(['webhooks', 'list', '--format', 'json']);
      expect(JSON.parse(listed.stdout)).toEqual([
        {
          id: '1',
          audience: 'governance',
          url: 'https://hooks.example.test/a',
          createdAt: expect.any(String),
        },
      ]);
      expect(await cli(['webhooks', 'remove', '1'])).toEqual({
        code: 0,
        stdout: 'removed 1 webhook\n',
        stderr: through,
      });
      expect((await cli(['webhooks', 'list'])).stdout).toMatch(/^no webhooks/);
    });

    it.each([[['import', FIXTURE]], [['seed', '--people', '5']]])(
      'quotient %j stops with one sentence naming the server process',
      async (args) => {
        const result = await cli(args);
        expect(result.code).not.toBe(0);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        const lines = result.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.includes('reading as'));
        expect(lines).toEqual([
          expect.stringMatching(
            new RegExp(
              `^error: the embedded database in .+ is in use by process ${server?.pid} .*`,
            ),
          ),
        ]);
      },
    );
  },
);
