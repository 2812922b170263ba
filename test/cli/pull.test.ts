// `quotient pull` run as an operator would, as a child process, against a local HTTP
// server that implements LiteLLM's /spend/logs/v2 (Bearer key, page / total_pages), with
// default.policy active: the hand-computed total lands (the same as test/store/pull.test.ts),
// a second run re-reads only the overlap and counts nothing twice, and a wrong key fails
// with the API's message and never the key.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishPolicySource } from '../../src/store/policies.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
// each command opens (and migrates) the database in a child process: slow on a busy machine
const SLOW = 240_000;
const KEY = 'sk-litellm-cli-test';
const logs = JSON.parse(
  readFileSync(join(root, 'test/fixtures/exports/litellm-spend-logs.json'), 'utf8'),
).data as unknown[];

function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname !== '/spend/logs/v2') return send(404, { error: { message: 'not found' } });
  if (req.headers.authorization !== `Bearer ${KEY}`)
    return send(401, { error: { message: 'Authentication Error' } });
  const page = Number(url.searchParams.get('page') ?? 1);
  send(200, {
    data: page === 1 ? logs.slice(0, 4) : logs.slice(4),
    total: logs.length,
    page,
    page_size: 4,
    total_pages: 2,
  });
}

let db: TestDatabase;
let server: Server;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const store = await db.open();
  try {
    const source = readFileSync(join(root, 'policies/default.policy'), 'utf8');
    await publishPolicySource(store, { source, activate: true });
  } finally {
    await store.close();
  }
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, SLOW);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await db?.drop();
});

async function quotient(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(root, 'src', 'cli.ts'), ...args, '--data-dir', db.dataDir],
      { cwd: root, encoding: 'utf8', env: { ...process.env, ...db.env, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function litellmCost(): Promise<string> {
  const store = await db.open();
  try {
    const [row] = await store.query<{ cost: string }>(
      "select coalesce(sum(cost), 0)::text as cost from usage_events where source = 'litellm'",
    );
    return row.cost;
  } finally {
    await store.close();
  }
}

describe('quotient pull', () => {
  it(
    'pulls LiteLLM spend logs page by page and lands the hand-computed total',
    async () => {
      const env = { LITELLM_API_KEY: KEY, LITELLM_URL: base };
      const first = await quotient(env, 'pull', 'litellm', '--since', '2026-11-10', '--json');
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const { results, failures } = JSON.parse(first.stdout);
      expect(failures).toEqual([]);
      expect(results.map((r: { pages: number; totals: { accepted: number } }) => r.pages)).toEqual([
        2,
      ]);
      expect(results[0].totals).toMatchObject({ accepted: 4, rejected: 0, unpriced: 0 });
      expect(await litellmCost()).toBe('0.030111000000');
      // again, from the same day: the same events, counted once
      const second = await quotient(env, 'pull', 'litellm', '--since', '2026-11-10', '--json');
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout).results[0].totals).toMatchObject({
        accepted: 0,
        duplicates: 4,
      });
      expect(await litellmCost()).toBe('0.030111000000');
    },
    SLOW,
  );

  it(
    'fails with the API message and exit 1 on a wrong key, never printing the key',
    async () => {
      const wrong = 'sk-wrong-cli-secret';
      const out = await quotient({ LITELLM_API_KEY: wrong, LITELLM_URL: base }, 'pull', 'litellm');
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/error: GET http:\/\/127\.0\.0\.1:\d+\/spend\/logs\/v2: HTTP 401/);
      expect(out.stdout + out.stderr).not.toContain(wrong);
    },
    SLOW,
  );
});
