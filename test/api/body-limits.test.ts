// Body-size limits on every endpoint (issue 15, item 3): a body over the limit, announced by
// Content-Length or sent chunked, gets its 413 and `Connection: close`, and the connection
// then closes without a reset, with three real HTTP clients (node:http, fetch, curl).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

const LIMIT = 1_000_000;
const BODY_BYTES = 3_000_000;
const dir = mkdtempSync(join(tmpdir(), 'quotient-body-'));
const bodyFile = join(dir, 'body.json');

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ maxBodyBytes: LIMIT });
  // a JSON string of 3 MB: valid JSON, so only its size is wrong
  writeFileSync(bodyFile, `"${'x'.repeat(BODY_BYTES - 2)}"`);
});
afterAll(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Endpoint = { path: string; headers: () => Record<string, string>; limit: number };

const endpoints: Endpoint[] = [
  { path: '/graphql', headers: () => bearer(api.keys.viewer.key), limit: LIMIT },
  { path: '/v1/quota/check', headers: () => bearer(api.keys.viewer.key), limit: LIMIT },
  { path: '/v1/traces', headers: () => bearer(api.keys.ingest.key), limit: LIMIT },
  // the console's sign-in takes 16 KiB at most
  { path: '/auth/session', headers: () => ({ origin: api.url }), limit: 16_384 },
];

/** A Content-Length over the server's limit is refused before any endpoint sees it. */
function limitOf(endpoint: Endpoint, chunked: boolean) {
  return chunked ? endpoint.limit : LIMIT;
}

function bearer(key: string) {
  return { authorization: `Bearer ${key}` };
}

type Outcome = {
  status: number;
  connection: string | undefined;
  body: string;
  /** errors the client saw on its socket (a reset is ECONNRESET or EPIPE) */
  errors: string[];
};

/**
 * One request on a keep-alive connection of its own (so that `Connection: close` is the
 * server's choice); resolves when the connection has closed.
 */
function nodeHttp(path: string, headers: Record<string, string>, chunked: boolean) {
  return new Promise<Outcome>((resolve) => {
    const outcome: Outcome = { status: 0, connection: undefined, body: '', errors: [] };
    const body = readFileSync(bodyFile);
    const req = request(`${api.url}${path}`, {
      method: 'POST',
      agent: new Agent({ keepAlive: true, maxSockets: 1 }),
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...headers,
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length }),
      },
    });
    req.on('error', (error) => outcome.errors.push((error as NodeJS.ErrnoException).code ?? ''));
    req.on('socket', (socket) => {
      socket.on('error', (e) => outcome.errors.push(`socket ${(e as NodeJS.ErrnoException).code}`));
      socket.on('close', () => resolve(outcome));
    });
    req.on('response', (res) => {
      outcome.status = res.statusCode ?? 0;
      outcome.connection = res.headers.connection;
      res.setEncoding('utf8');
      res.on('data', (text) => {
        outcome.body += text;
      });
      res.on('aborted', () => outcome.errors.push('response aborted'));
    });
    // in 64 KiB pieces, as a client streaming a large export would
    let sent = 0;
    const write = () => {
      while (sent < body.length) {
        const piece = body.subarray(sent, sent + 65_536);
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

function curl(path: string, headers: Record<string, string>, chunked: boolean) {
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', '-H', 'Expect:'];
  for (const [name, value] of Object.entries({
    'content-type': 'application/json',
    ...headers,
    ...(chunked ? { 'transfer-encoding': 'chunked' } : {}),
  }))
    args.push('-H', `${name}: ${value}`);
  args.push('--data-binary', `@${bodyFile}`, `${api.url}${path}`);
  return new Promise<{ code: number; status: number; body: string; stderr: string }>((resolve) => {
    execFile('curl', args, (error, stdout, stderr) => {
      const lines = stdout.split('\n');
      resolve({
        code: error ? Number((error as { code?: number }).code ?? 1) : 0,
        status: Number(lines.pop()),
        body: lines.join('\n'),
        stderr,
      });
    });
  });
}

describe.each([
  ['Content-Length', false],
  ['chunked', true],
] as const)('a %s body over the limit', (_kind, chunked) => {
  for (const endpoint of endpoints) {
    it(`gets 413 from ${endpoint.path} and a graceful close (node:http)`, async () => {
      const outcome = await nodeHttp(endpoint.path, endpoint.headers(), chunked);
      expect(outcome).toMatchObject({ status: 413, connection: 'close', errors: [] });
      expect(outcome.body).toContain(`exceeds the ${limitOf(endpoint, chunked)}-byte limit`);
    });

    it(`gets 413 from ${endpoint.path} (curl)`, async () => {
      const result = await curl(endpoint.path, endpoint.headers(), chunked);
      expect({ code: result.code, status: result.status, stderr: result.stderr }).toEqual({
        code: 0,
        status: 413,
        stderr: '',
      });
      expect(result.body).toContain(`exceeds the ${limitOf(endpoint, chunked)}-byte limit`);
    });
  }

  it('gets 413 from every endpoint through fetch, and the next request is answered', async () => {
    const body = readFileSync(bodyFile);
    for (const endpoint of endpoints) {
      const res = await fetch(`${api.url}${endpoint.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...endpoint.headers() },
        body: chunked ? new Blob([body]).stream() : body,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.text()).toContain(`exceeds the ${limitOf(endpoint, chunked)}-byte limit`);
    }
    const after = await api.gql(api.keys.viewer.key, '{ viewer { role } }');
    expect(after.status).toBe(200);
  });
});

it('gives 413 on any path to a Content-Length over the limit, before reading it', async () => {
  const outcome = await nodeHttp('/health', {}, false);
  expect(outcome).toMatchObject({ status: 413, connection: 'close', errors: [] });
  expect(outcome.body).toContain(`request body of ${BODY_BYTES} bytes exceeds the`);
});

it('answers bodies under the limit as usual, chunked or not', async () => {
  for (const chunked of [false, true]) {
    const text = JSON.stringify({ query: '{ viewer { role } }' });
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(api.keys.viewer.key) },
      body: chunked ? new Blob([text]).stream() : text,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { role: 'viewer' } } });
  }
});
