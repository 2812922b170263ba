// Text PostgreSQL cannot hold (a NUL fails the statement; a lone surrogate would be stored as
// U+FFFD) is refused where it enters, naming the field, on every transport: a GraphQL
// argument anywhere in the schema, the JSON of POST /v1/quota/check, rows of recordUsage and
// upsertDirectory (the bad row alone), a policy's source. Nothing reaches the database, so
// nothing answers 500. Text longer than an index entry holds (a btree entry: 2,704 bytes)
// is refused where it would be a key, or cut where it is only an audit entry's subject. OTLP spans and import lines: test/api/otlp.test.ts and
// test/store/ingest.test.ts.
import { randomBytes } from 'node:crypto';
import type { GraphQLField, GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/api/schema/index.ts';
import { auditTrailFor } from '../../src/app/audit.ts';
import { localSession } from '../../src/app/caller.ts';
import { InvalidRequestError } from '../../src/app/errors.ts';
import { policiesFor } from '../../src/app/policies.ts';
import { startTestApi, type TestApi } from './support.ts';

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\ud800b';
const NUL_REASON = 'contains a NUL character (\\u0000), which cannot be stored';
const SURROGATE_REASON =
  'contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.stop());

/** Every field of an object type that takes arguments, as [Type.field, field]. */
function fieldsWithArguments(): [string, GraphQLField<unknown, unknown>][] {
  const out: [string, GraphQLField<unknown, unknown>][] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (Object.prototype.toString.call(type) !== '[object GraphQLObjectType]') continue;
    if (type.name.startsWith('__')) continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields()))
      if (field.args.length > 0) out.push([`${type.name}.${field.name}`, field]);
  }
  return out;
}

const ROW_FIELDS = [
  'Mutation.recordCompliance',
  'Mutation.recordOutcomes',
  'Mutation.recordUsage',
  'Mutation.upsertDirectory',
];

describe('every GraphQL argument', () => {
  const info = {
    fieldNodes: [],
    path: { prev: undefined, key: 'field', typename: 'Query' },
  } as unknown as GraphQLResolveInfo;

  it('of every field but the row-taking ones is checked before its resolver runs', async () => {
    const fields = fieldsWithArguments().filter(([name]) => !ROW_FIELDS.includes(name));
    expect(fields.length).toBeGreaterThan(30);
    for (const [name, field] of fields) {
      for (const arg of field.args) {
        for (const [value, reason] of [
          [NUL, NUL_REASON],
          [LONE_SURROGATE, SURROGATE_REASON],
          [{ inner: [NUL] }, NUL_REASON],
        ] as const) {
          // the resolver would fail without a context; the check must throw first
          const run = field.subscribe ?? field.resolve;
          let thrown: unknown;
          try {
            await run?.(undefined, { [arg.name]: value }, {}, info);
          } catch (error) {
            thrown = error;
          }
          const expected =
            typeof value === 'string'
              ? `${arg.name}: ${reason}`
              : `${arg.name}.inner[0]: ${reason}`;
          expect({ name, message: (thrown as Error | undefined)?.message }).toEqual({
            name,
            message: expected,
          });
        }
      }
    }
  });

  it('of the row-taking fields is left to the rows, which reject a bad row alone', async () => {
    const marked = fieldsWithArguments()
      .filter(([, field]) => field.extensions?.rowsCheckText)
      .map(([name]) => name);
    expect(marked.sort()).toEqual(ROW_FIELDS);
  });
});

describe('over GraphQL', () => {
  it('a literal in a nested input, a variable, a mutation: BAD_USER_INPUT naming it', async () => {
    const usage = await api.gql(
      api.keys.governance.key,
      '{ usage(filter: { projects: ["ok", "a\\u0000b"] }) { __typename } }',
    );
    expect(usage.status).toBe(200);
    expect(usage.body.errors).toEqual([
      expect.objectContaining({
        message: `filter.projects[1]: ${NUL_REASON}`,
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);

    const check = await api.gql(
      api.keys.ingest.key,
      'query($p: String!) { checkQuota(person: $p, model: "gpt-4o-mini", estimatedTokens: 1) { __typename } }',
      { p: NUL },
    );
    expect(check.body.errors).toEqual([
      expect.objectContaining({
        message: `person: ${NUL_REASON}`,
        path: ['checkQuota'],
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);

    const keysBefore = await api.store.query('select count(*)::int as n from api_keys');
    const created = await api.gql(
      api.keys.admin.key,
      'mutation($n: String!) { createApiKey(name: $n, role: viewer) { __typename } }',
      { n: LONE_SURROGATE },
    );
    expect(created.body.errors).toEqual([
      expect.objectContaining({
        message: `name: ${SURROGATE_REASON}`,
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    // nothing was stored (a lone surrogate would have been stored as U+FFFD)
    expect(await api.store.query('select count(*)::int as n from api_keys')).toEqual(keysBefore);
  });

  it('a row with such text is rejected alone; the rest of the batch lands', async () => {
    const res = await api.gql<{ upsertDirectory: { accepted: number; results: unknown[] } }>(
      api.keys.admin.key,
      `mutation($teams: [TeamInput!]) {
        upsertDirectory(teams: $teams) {
          ... on IngestSummary { accepted results { status reason } }
        }
      }`,
      {
        teams: [
          { team: 'fine', name: 'Fine' },
          { team: 'bad', name: NUL },
        ],
      },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.upsertDirectory.accepted).toBe(1);
    expect(JSON.stringify(res.body.data?.upsertDirectory.results)).toContain(
      JSON.stringify(`name: ${NUL_REASON}`).slice(1, -1),
    );
  });
});

describe('over POST /v1/quota/check', () => {
  async function check(body: Record<string, unknown>) {
    const res = await fetch(`${api.url}/v1/quota/check`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${api.keys.ingest.key}`,
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', estimatedTokens: 1, ...body }),
    });
    return { status: res.status, body: await res.json() };
  }

  it('answers 400 INVALID_REQUEST naming each field', async () => {
    expect(await check({ person: NUL })).toEqual({
      status: 400,
      body: {
        error: `person: ${NUL_REASON}`,
        code: 'INVALID_REQUEST',
        problems: [{ field: 'person', message: NUL_REASON }],
      },
    });
    const both = await check({ person: 'ana@acme.test', model: NUL, project: LONE_SURROGATE });
    expect(both.status).toBe(400);
    expect(both.body.problems).toEqual([
      { field: 'model', message: NUL_REASON },
      { field: 'project', message: SURROGATE_REASON },
    ]);
  });
});

describe('a policy source', () => {
  it('is refused with the line of the character, before it is stored', async () => {
    const session = localSession(api.store, 'test');
    const source = 'metric spend = cost\n# a comment \u0000 here\n';
    const error = await policiesFor(api.store)
      .publish(session, { source })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).problems).toEqual([
      { field: 'source', message: `line 2 ${NUL_REASON}` },
    ]);
  });
});

describe('text longer than an index entry holds', () => {
  // random text: PostgreSQL compresses a repetitive one below the limit
  const long = randomBytes(3000).toString('base64');

  it('as an audited subject, is cut; the batch of audited reads it is in is written', async () => {
    const read = (person: string) =>
      api.gql(
        api.keys.governance.key,
        'query($p: String!) { usage(filter: { people: [$p] }, groupBy: [person]) { __typename } }',
        { p: person },
      );
    expect((await read(long)).body.errors).toBeUndefined();
    expect((await read('ana@acme.test')).body.errors).toBeUndefined();
    // the trail used to keep failing on the long subject ("index row size … exceeds btree
    // maximum"), and every audited read after it waited forever
    await auditTrailFor(api.store).flush();
    const rows = await api.store.query<{ subject: string; full: string | null }>(
      `select subject, detail->>'subject' as full from audit_log
        where action = 'read.usage' order by id`,
    );
    expect(rows.map((r) => r.subject)).toEqual([expect.stringMatching(/…$/), 'ana@acme.test']);
    expect(Buffer.byteLength(rows[0].subject)).toBeLessThanOrEqual(512);
    expect(rows[0].full).toBe(long);
  });

  it('as a webhook URL or a notification address, is refused naming the field', async () => {
    const hook = await api.gql<{ addWebhook: { code: string; problems: unknown[] } }>(
      api.keys.admin.key,
      `mutation($u: String!) {
        addWebhook(audience: "governance", url: $u) { ... on InvalidRequest { code problems { field message } } }
      }`,
      { u: `https://hooks.example.test/${long}` },
    );
    expect(hook.body.data?.addWebhook).toEqual({
      code: 'INVALID_REQUEST',
      problems: [{ field: 'url', message: expect.stringMatching(/at most 2048 are allowed$/) }],
    });
    const preference = await api.gql<{ setNotificationPreference: { code: string } }>(
      api.keys.governance.key,
      `mutation($a: String!) {
        setNotificationPreference(person: "ana@acme.test", channel: "teams", address: $a) {
          __typename ... on InvalidRequest { code message }
        }
      }`,
      { a: `https://teams.example.test/${long}` },
    );
    expect(JSON.stringify(preference.body)).toMatch(/INVALID_REQUEST.*at most 2048 are allowed/);
  });

  it('as the subject of an exception request, is refused naming the field', async () => {
    const res = await api.gql<{ requestException: unknown }>(
      api.keys.governance.key,
      `mutation($s: String!) {
        requestException(subject: $s, justification: "launch", expiresAt: "2026-12-30T00:00:00Z", extraTokens: 10) {
          ... on InvalidRequest { code message }
        }
      }`,
      { s: long },
    );
    expect(res.body.data?.requestException).toEqual({
      code: 'INVALID_REQUEST',
      message: 'subject: is 4000 bytes long; at most 256 bytes are allowed',
    });
  });
});
