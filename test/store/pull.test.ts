// `quotient pull` against a local HTTP server that implements each documented usage API:
// the Anthropic Admin usage and Claude Code reports (x-api-key, has_more / next_page),
// OpenAI's organisation usage (Bearer, has_more / next_page) and LiteLLM's /spend/logs/v2
// (Bearer, page / total_pages); a 429 with Retry-After first, errors with the APIs' own
// error bodies. The page bodies reuse test/fixtures/exports (sources in its README).

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullUsage, startPullSchedule } from '../../src/app/pull.ts';
import { loadConfig } from '../../src/config.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable } from '../../src/policy/ir.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { PullError } from '../../src/store/pull/http.ts';
import { PullBusyError } from '../../src/store/pull/lock.ts';
import { pullCursor, pullSource } from '../../src/store/pull/run.ts';
import { sourceConfig } from '../../src/store/pull/sources.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/exports');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const policy = analyzePolicy(
  readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8'),
);
const prices = priceTable(policy.ir!);
const timezone = 'UTC';
const NOW = new Date('2026-11-12T00:00:00Z');

const KEYS = {
  anthropic: 'sk-ant-admin-test',
  openai: 'sk-admin-test',
  litellm: 'sk-litellm-test',
};

type Request = { path: string; query: URLSearchParams };
const requests: Request[] = [];
let throttleNext = false;
let failWith: number | null = null;
let anthropicBody = fixture('anthropic-usage.json');
/** holds the next request until released, telling the test it arrived */
let hold: { arrived: () => void; release: Promise<void> } | null = null;

function send(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse) {
  if (hold) {
    const held = hold;
    hold = null;
    held.arrived();
    void held.release.then(() => handle(req, res));
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  requests.push({ path: url.pathname, query: url.searchParams });
  if (throttleNext) {
    throttleNext = false;
    return send(
      res,
      429,
      { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
      { 'retry-after': '7' },
    );
  }
  if (failWith)
    return send(res, failWith, { type: 'error', error: { type: 'api_error', message: 'boom' } });
  const page = url.searchParams.get('page');
  if (url.pathname.startsWith('/v1/organizations/usage_report/')) {
    if (req.headers['x-api-key'] !== KEYS.anthropic)
      return send(res, 401, {
        type: 'error',
        error: { type: 'authentication_error', message: 'invalid x-api-key' },
      });
    if (url.pathname.endsWith('/messages')) {
      // two pages: the first bucket's results split across them
      const [bucket] = anthropicBody.data;
      const half = page === 'page_2' ? bucket.results.slice(2) : bucket.results.slice(0, 2);
      return send(res, 200, {
        data: [{ ...bucket, results: half }],
        has_more: page !== 'page_2',
        next_page: page === 'page_2' ? null : 'page_2',
      });
    }
    const day = url.searchParams.get('starting_at');
    const records = day === '2026-11-10' ? fixture('claude-code.json').data : [];
    return send(res, 200, { data: records, has_more: false, next_page: null });
  }
  if (url.pathname === '/v1/organization/usage/completions') {
    if (req.headers.authorization !== `Bearer ${KEYS.openai}`)
      return send(res, 401, {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error' },
      });
    const [bucket] = fixture('openai-usage.json').data;
    const part = page === 'page_2' ? bucket.results.slice(1) : bucket.results.slice(0, 1);
    return send(res, 200, {
      object: 'page',
      data: [{ ...bucket, results: part }],
      has_more: page !== 'page_2',
      next_page: page === 'page_2' ? null : 'page_2',
    });
  }
  if (url.pathname === '/spend/logs/v2') {
    if (req.headers.authorization !== `Bearer ${KEYS.litellm}`)
      return send(res, 401, { error: { message: 'Authentication Error' } });
    const logs = fixture('litellm-spend-logs.json').data;
    const n = Number(url.searchParams.get('page') ?? 1);
    return send(res, 200, {
      data: n === 1 ? logs.slice(0, 4) : logs.slice(4),
      total: logs.length,
      page: n,
      page_size: 4,
      total_pages: 2,
    });
  }
  send(res, 404, { error: { message: 'not found' } });
}

let store: TestStore;
let server: Server;
let env: Record<string, string>;
/** The providers as the configuration reads them from these variables (the older names). */
const providersOf = (variables: Record<string, string>) =>
  loadConfig(undefined, { ...variables }).pull.providers;
const waits: number[] = [];
const http = { sleep: async (ms: number) => void waits.push(ms), attempts: 3 };

beforeAll(async () => {
  store = await createTestStore();
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  env = {
    ANTHROPIC_ADMIN_KEY: KEYS.anthropic,
    ANTHROPIC_BASE_URL: base,
    OPENAI_ADMIN_KEY: KEYS.openai,
    OPENAI_BASE_URL: base,
    LITELLM_API_KEY: KEYS.litellm,
    LITELLM_URL: base,
  };
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await store?.destroy();
});

const options = (extra = {}) => ({ now: NOW, http, prices, timezone, ...extra });
const costOf = async (source: string) =>
  (
    await store.query<{ cost: string }>(
      'select coalesce(sum(cost), 0)::text as cost from usage_events where source = $1',
      [source],
    )
  )[0].cost;

describe('quotient pull', () => {
  it('pages through the Anthropic report, waits out a 429, and keeps a cursor', async () => {
    throttleNext = true;
    requests.length = 0;
    const result = await pullSource(
      store,
      'anthropic',
      sourceConfig('anthropic', providersOf(env)),
      options({ since: new Date('2026-11-10T00:00:00Z') }),
    );
    expect(waits).toEqual([7000]);
    expect(result).toMatchObject({ pages: 2, totals: { accepted: 3, rejected: 0, unpriced: 0 } });
    // the same hand-computed total as importing the export file (test/store/exports.test.ts)
    expect(await costOf('anthropic')).toBe('2.193000000000');
    const first = requests[1];
    expect(first.query.get('starting_at')).toBe('2026-11-10T00:00:00.000Z');
    expect(first.query.getAll('group_by[]')).toContain('context_window');
    expect(requests[2].query.get('page')).toBe('page_2');
    expect(await pullCursor(store, 'anthropic')).toEqual(NOW);
  });

  it('re-pulls the open buckets from before the cursor, so restated values land', async () => {
    anthropicBody = fixture('anthropic-usage-restated.json');
    requests.length = 0;
    const later = new Date('2026-11-12T06:00:00Z');
    const result = await pullSource(
      store,
      'anthropic',
      sourceConfig('anthropic', providersOf(env)),
      options({ now: later }),
    );
    // the cursor (11-12 00:00) less two days: the 11-10 bucket is read again
    expect(requests[0].query.get('starting_at')).toBe('2026-11-10T00:00:00.000Z');
    expect(result.totals).toMatchObject({ replaced: 1, duplicates: 2, accepted: 0 });
    expect(await costOf('anthropic')).toBe('2.207500000000');
    expect(await pullCursor(store, 'anthropic')).toEqual(later);
  });

  it('pulls OpenAI, Claude Code and LiteLLM with their pagination', async () => {
    const since = new Date('2026-11-10T00:00:00Z');
    const { results, failures } = await pullUsage(
      store,
      { role: 'admin' },
      ['openai', 'claude-code', 'litellm'],
      { ...options({ since }), providers: providersOf(env) },
    );
    expect(failures).toEqual([]);
    expect(results.map((r) => [r.source, r.pages, r.totals.accepted])).toEqual([
      ['openai', 2, 3],
      // one call per day: 11-10 has the records, 11-11 none
      ['claude-code', 2, 5],
      ['litellm', 2, 4],
    ]);
    expect(await costOf('openai')).toBe('0.065450000000');
    expect(await costOf('claude-code')).toBe('0.001500000000');
    expect(await costOf('litellm')).toBe('0.030111000000');
    // Claude Code core_metrics are kept per actor and day
    const activity = await store.query<{ person_id: string; sessions: number; commits: number }>(
      'select person_id, sessions, commits from claude_code_activity order by person_id',
    );
    expect(activity).toEqual([
      { person_id: 'ana@acme.test', sessions: 3, commits: 2 },
      { person_id: 'ci-bot', sessions: 1, commits: 1 },
    ]);
  });

  it('reports errors with the API message, never the key, and keeps the cursor', async () => {
    const before = await pullCursor(store, 'openai');
    failWith = 500;
    waits.length = 0;
    const { failures } = await pullUsage(store, { role: 'admin' }, ['openai'], {
      ...options(),
      providers: providersOf(env),
    });
    failWith = null;
    expect(failures).toEqual([
      {
        source: 'openai',
        message: expect.stringMatching(
          /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/organization\/usage\/completions: HTTP 500: boom$/,
        ),
      },
    ]);
    // three attempts, backing off
    expect(waits).toEqual([1000, 2000]);
    expect(await pullCursor(store, 'openai')).toEqual(before);

    const wrong = { ...env, OPENAI_ADMIN_KEY: 'sk-wrong-secret' };
    const denied = await pullUsage(store, { role: 'admin' }, ['openai'], {
      ...options(),
      providers: providersOf(wrong),
    });
    expect(denied.failures[0].message).toMatch(/HTTP 401: Incorrect API key provided$/);
    expect(JSON.stringify(denied)).not.toContain('sk-wrong-secret');

    expect(() => sourceConfig('litellm', providersOf({ LITELLM_API_KEY: 'x' }))).toThrow(PullError);
    await expect(
      pullUsage(store, { role: 'viewer' }, ['openai'], { providers: providersOf(env) }),
    ).rejects.toThrow(/governance/);
  });

  it('runs one pull of a source at a time: a second one says so and does nothing', async () => {
    const pull = (on: Store) =>
      pullUsage(on, { role: 'admin' }, ['litellm'], { ...options(), providers: providersOf(env) });
    let arrived = () => {};
    let release = () => {};
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    hold = { arrived, release: new Promise<void>((resolve) => (release = resolve)) };
    const first = pull(store);
    await reached; // the first pull holds the lock and waits on its first page
    const cursor = await pullCursor(store, 'litellm');
    const second = await pull(store);
    expect(second.results).toEqual([]);
    expect(second.failures).toEqual([
      {
        source: 'litellm',
        message:
          'a pull of litellm is already running (another quotient pull, or the schedule in quotient serve); this one did nothing: run it again when that one has finished',
      },
    ]);
    // on a server the lock holds across processes: a second store is a second session
    let other: Store | null = null;
    if (!store.embedded) {
      other = await openStore({ databaseUrl: store.url });
      await expect(
        pullSource(other, 'litellm', sourceConfig('litellm', providersOf(env)), options()),
      ).rejects.toBeInstanceOf(PullBusyError);
    }
    expect(await pullCursor(store, 'litellm')).toEqual(cursor);
    release();
    const done = await first;
    expect(done.failures).toEqual([]);
    expect(done.results[0].pages).toBe(2);
    // once it is over, the next pull runs (from the other session too)
    const again = await pull(other ?? store);
    expect(again.failures).toEqual([]);
    await other?.close();
  });

  it('the schedule inside serve pulls when it starts, and logs what the run loaded', async () => {
    const logged: { message: string; fields: Record<string, unknown> }[] = [];
    let ran = () => {};
    const first = new Promise<void>((resolve) => {
      ran = resolve;
    });
    const log = {
      info: (fields: object, message: string) => {
        logged.push({ message, fields: fields as Record<string, unknown> });
        ran();
      },
      warn: (fields: object, message: string) => {
        logged.push({ message, fields: fields as Record<string, unknown> });
        ran();
      },
    };
    const schedule = startPullSchedule(
      store,
      { sources: ['litellm'], everyMinutes: 60, providers: providersOf(env) },
      log,
    );
    await first; // the first run starts with the server, without waiting an interval
    schedule?.stop();
    expect(logged).toEqual([
      {
        message: 'pulled usage',
        fields: { source: 'litellm', pages: 2, rows: 4, replaced: 0 },
      },
    ]);
    expect(
      startPullSchedule(store, { sources: [], everyMinutes: 60, providers: providersOf(env) }, log),
    ).toBeNull();
  });
});
