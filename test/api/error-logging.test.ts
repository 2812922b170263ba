// Errors that tell the truth (issue 15, item 5): a deliberate refusal reaches the client as
// FORBIDDEN (or its own typed code) and is logged below error level without a stack; an
// unexpected database error is logged as an error, and its text never reaches the client,
// on any endpoint.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

type LogLine = { level: number; msg: string; [field: string]: unknown };
const lines: LogLine[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const text of String(chunk).split('\n')) if (text) lines.push(JSON.parse(text));
    done();
  },
});
const ERROR = 50;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({
    logger: pino({ level: 'debug' }, sink),
    limits: { requestsPerSecond: 3, rateWindowSeconds: 60 },
  });
  // the quota check reads the database only under an active policy
  const source = readFileSync(join(import.meta.dirname, '../../policies/default.policy'), 'utf8');
  const published = await api.gql(
    api.keys.admin.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: source },
  );
  expect(JSON.stringify(published.body)).toContain('PolicyVersion');
});
afterAll(async () => api?.stop());

/** The log lines written while `act` ran. */
async function logsOf(act: () => Promise<void>): Promise<LogLine[]> {
  const from = lines.length;
  await act();
  // pino writes synchronously to a Writable; one turn for the last 'finish' listeners
  await new Promise((resolve) => setImmediate(resolve));
  return lines.slice(from);
}

function withStack(logged: LogLine[]) {
  return logged.filter((l) => JSON.stringify(l).includes('"stack"'));
}

describe('deliberate refusals', () => {
  it.each([
    [
      'escalations of a subject, as viewer',
      '{ escalations(subject: "ana@acme.test") { edges { cursor } } }',
    ],
    ['exceptions, as viewer', '{ exceptions { edges { cursor } } }'],
  ])('%s: FORBIDDEN to the client, logged without error level or stack', async (_name, query) => {
    let body: Awaited<ReturnType<TestApi['gql']>>['body'] | undefined;
    const logged = await logsOf(async () => {
      body = (await api.gql(api.keys.viewer.key, query)).body;
    });
    expect(body?.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(logged.filter((l) => l.level >= ERROR)).toEqual([]);
    expect(withStack(logged)).toEqual([]);
  });

  it('other expected refusals (401, 400 limits, 413, 429) are not logged as errors', async () => {
    const logged = await logsOf(async () => {
      expect((await api.gql('qk_not-a-key', '{ viewer { role } }')).status).toBe(401);
      const windows = Array.from(
        { length: 6 },
        (_, i) =>
          `b${i}: leaderboard(name: "value_per_token", window: "2026-0${i + 1}") { __typename }`,
      );
      expect((await api.gql(api.keys.admin.key, `{ ${windows.join(' ')} }`)).status).toBe(400);
      expect((await api.gql(api.keys.admin.key, '{ nope }')).status).toBe(400);
      const big = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(11 * 1024 * 1024),
      });
      expect(big.status).toBe(413);
      for (let i = 0; i < 4; i++) await api.gql(api.keys.governance.key, '{ viewer { role } }');
      expect((await api.gql(api.keys.governance.key, '{ viewer { role } }')).status).toBe(429);
    });
    expect(logged.filter((l) => l.level >= ERROR)).toEqual([]);
    expect(withStack(logged)).toEqual([]);
  });
});

describe('an unexpected database error', () => {
  // a table the requests read is renamed away in this test's own database, so PostgreSQL
  // fails the statement with 'relation "people" does not exist' (42P01): a genuine database
  // error, whose text must stay in the log
  const DATABASE_TEXT = /relation|does not exist|42P01|stack|\.ts:/;
  beforeAll(async () => {
    await api.store.query('alter table people rename to people_renamed_by_test');
  });
  afterAll(async () => {
    await api.store.query('alter table people_renamed_by_test rename to people');
  });

  it('on GraphQL: logged as an error with its stack; the client gets a generic error', async () => {
    let text = '';
    const logged = await logsOf(async () => {
      const res = await api.gql(
        api.keys.admin.key,
        'query($t: String) { people(team: $t) { edges { node { id } } } }',
        { t: 'platform' },
      );
      expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
      text = JSON.stringify(res.body);
    });
    expect(text).not.toMatch(DATABASE_TEXT);
    const errors = logged.filter((l) => l.level >= ERROR);
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toMatch(/does not exist/);
    expect(withStack(errors)).toHaveLength(1);
  });

  it('on the quota check: logged as an error; the client gets a generic error', async () => {
    let res: Response | undefined;
    const logged = await logsOf(async () => {
      res = await fetch(`${api.url}/v1/quota/check`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${api.keys.ingest.key}`,
        },
        body: JSON.stringify({
          person: 'nobody@acme.test',
          model: 'gpt-4o-mini',
          estimatedTokens: 1,
        }),
      });
    });
    expect(res?.status).toBe(500);
    const text = (await res?.text()) ?? '';
    expect(JSON.parse(text)).toEqual({ error: 'unexpected error', code: 'INTERNAL_SERVER_ERROR' });
    expect(text).not.toMatch(DATABASE_TEXT);
    expect(JSON.stringify(logged.filter((l) => l.level >= ERROR))).toMatch(/does not exist/);
  });
});
