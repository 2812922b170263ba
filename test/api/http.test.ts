// Transport-level behaviour over real HTTP: authentication, GraphQL-over-HTTP statuses,
// limits, CSRF, health and readiness, GraphiQL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARMOR_LIMITS } from '../../src/api/armor.ts';
import { createApiKey, revokeApiKey } from '../../src/api/auth.ts';
import { MAX_BATCH_ROWS } from '../../src/app/errors.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.stop();
});

describe('authentication', () => {
  it('rejects a request without a key with 401 and says how to send one', async () => {
    const res = await api.gql(null, '{ viewer { role } }');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.body.errors?.[0].message).toMatch(/missing API key.*Authorization: Bearer/);
  });

  it('rejects a malformed Authorization header with 401', async () => {
    const res = await api.gql(null, '{ viewer { role } }', undefined, {
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].message).toMatch(/malformed Authorization header/);
  });

  it('rejects an unknown key with 401', async () => {
    const res = await api.gql('qk_not-a-real-key', '{ viewer { role } }');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].message).toBe('invalid API key');
  });

  it('rejects a revoked key with 401, naming the key', async () => {
    const key = await createApiKey(api.store.em(), { role: 'viewer', name: 'to revoke' });
    expect((await api.gql(key.key, '{ viewer { role } }')).status).toBe(200);
    await revokeApiKey(api.store.em(), key.id);
    const res = await api.gql(key.key, '{ viewer { role } }');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].message).toBe(`API key ${key.id} was revoked`);
  });

  it('stores only a hash of each key', async () => {
    const rows = await api.store.query<{ hash: string; prefix: string }>(
      'select hash, prefix from api_keys',
    );
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(api.keys.admin.key.startsWith(row.prefix) || row.prefix.length < 12).toBe(true);
    }
    const all = JSON.stringify(rows);
    for (const key of Object.values(api.keys)) expect(all).not.toContain(key.key);
  });

  it('answers viewer with the role and bound person', async () => {
    const res = await api.gql(api.keys.member.key, '{ viewer { role person keyId } }');
    expect(res.body.data).toEqual({
      viewer: { role: 'member', person: 'ana@acme.test', keyId: api.keys.member.id },
    });
  });
});

describe('GraphQL-over-HTTP statuses', () => {
  it('gives 400 and the parser message for malformed GraphQL', async () => {
    const res = await api.gql(api.keys.admin.key, '{ viewer { role ');
    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/graphql-response+json');
    expect(res.body.errors?.[0].message).toMatch(/Syntax Error: Expected Name, found <EOF>/);
    expect(res.body.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('gives 400 with a did-you-mean for an unknown field', async () => {
    const res = await api.gql(api.keys.admin.key, '{ viewr { role } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].message).toBe(
      'Cannot query field "viewr" on type "Query". Did you mean "viewer"?',
    );
    expect(res.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('gives 400 for a query deeper than the depth limit', async () => {
    let selection = 'id';
    for (let i = 0; i < ARMOR_LIMITS.maxDepth; i++) selection = `parent { ${selection} }`;
    const res = await api.gql(
      api.keys.admin.key,
      `{ team(id: "x") { ... on QueryTeamSuccess { data { ${selection} } } } }`,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].message).toMatch(/^Query depth limit of 12 exceeded, found 16\./);
    expect(res.body.errors?.[0].extensions?.code).toBe('QUERY_LIMIT_EXCEEDED');
  });

  it('gives 400 for a query over the cost limit', async () => {
    let selection = 'id name role optedIn';
    for (let i = 0; i < 5; i++) {
      selection = `id manager { ${selection} } team { id owner members { edges { node { ${selection} } } } }`;
    }
    const res = await api.gql(api.keys.admin.key, `{ people { edges { node { ${selection} } } } }`);
    expect(res.status).toBe(400);
    const messages = res.body.errors?.map((e) => e.message) ?? [];
    expect(messages.some((m) => /^Query Cost limit of 20000 exceeded, found \d+/.test(m))).toBe(
      true,
    );
  });

  it('gives 400 for too many aliases', async () => {
    const aliases = Array.from(
      { length: ARMOR_LIMITS.maxAliases + 1 },
      (_, i) => `a${i}: viewer { role }`,
    );
    const res = await api.gql(api.keys.admin.key, `{ ${aliases.join(' ')} }`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].message).toMatch(/^Aliases limit of 20 exceeded, found 21\./);
    expect(res.body.errors?.[0].extensions?.code).toBe('QUERY_LIMIT_EXCEEDED');
  });

  it('gives 400 for a document over the token limit', async () => {
    const fields = Array.from({ length: ARMOR_LIMITS.maxTokens }, () => 'role').join(' ');
    const res = await api.gql(api.keys.admin.key, `{ viewer { ${fields} } }`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].message).toMatch(/Token limit of 2000 exceeded/);
  });

  it('refuses an oversize batch with a BatchTooLarge result naming the limit', async () => {
    const rows = Array.from({ length: MAX_BATCH_ROWS + 1 }, (_, i) => ({ id: `big-${i}` }));
    const res = await api.gql(
      api.keys.ingest.key,
      `mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) {
        __typename ... on BatchTooLarge { code message limit received } } }`,
      { rows },
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      recordUsage: {
        __typename: 'BatchTooLarge',
        code: 'BATCH_TOO_LARGE',
        limit: 5000,
        received: 5001,
        message: 'batch has 5001 rows; the limit is 5000 per call: split it into smaller batches',
      },
    });
    const stored = await api.store.query<{ n: string }>(
      "select count(*) as n from usage_events where id like 'big-%'",
    );
    expect(Number(stored[0].n)).toBe(0);
  });

  it('gives 413 for a body over the size limit', async () => {
    const small = await startTestApi({ maxBodyBytes: 1_000 });
    try {
      const res = await small.gql(
        small.keys.admin.key,
        `{ viewer { role } } # ${'x'.repeat(2_000)}`,
      );
      expect(res.status).toBe(413);
      expect(res.body.errors?.[0].message).toMatch(/exceeds the 1000-byte limit/);
    } finally {
      await small.stop();
    }
  });

  it('gives 413 for a chunked body (no Content-Length) that grows past the limit', async () => {
    const small = await startTestApi({ maxBodyBytes: 1_000 });
    try {
      const text = JSON.stringify({ query: `{ viewer { role } } # ${'x'.repeat(2_000)}` });
      const chunks = [text.slice(0, 600), text.slice(600)];
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      });
      const res = await fetch(`${small.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${small.keys.admin.key}`,
        },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(res.headers.get('content-length')).not.toBeNull();
      expect(res.status).toBe(413);
      const answer = (await res.json()) as { errors: { message: string }[] };
      expect(answer.errors[0].message).toMatch(/exceeds the 1000-byte limit/);
      // a chunked body under the limit is answered as usual
      const ok = await fetch(`${small.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${small.keys.admin.key}`,
        },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"query":"{ viewer { role } }"}'));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(await ok.json()).toEqual({ data: { viewer: { role: 'admin' } } });
    } finally {
      await small.stop();
    }
  });

  it('gives 405 for a mutation over GET', async () => {
    const res = await fetch(
      `${api.url}/graphql?query=${encodeURIComponent('mutation { setLeaderboardOptIn(optedIn: true) { __typename } }')}`,
      {
        headers: {
          authorization: `Bearer ${api.keys.member.key}`,
          accept: 'application/graphql-response+json',
          'x-graphql-csrf': '1',
        },
      },
    );
    expect(res.status).toBe(405);
  });
});

describe('text PostgreSQL cannot hold', () => {
  it('is refused as BAD_USER_INPUT naming the argument, before the database sees it', async () => {
    // a NUL used to fail the statement and reach the client as an internal error
    const res = await api.gql(
      api.keys.admin.key,
      'query($t: String) { people(team: $t) { edges { node { id } } } }',
      { t: 'a\u0000b' },
    );
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        message: 'team: contains a NUL character (\\u0000), which cannot be stored',
        path: ['people'],
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    // the server is fine afterwards
    expect((await api.gql(api.keys.admin.key, '{ viewer { role } }')).body.data).toEqual({
      viewer: { role: 'admin' },
    });
  });
});

describe('request bodies', () => {
  // the server reads a GraphQL body before Yoga and hands it a parsed JSON object where it
  // can (src/api/server.ts): every other body must get the answer Yoga gives its bytes
  const post = async (body: string, contentType = 'application/json') => {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        accept: 'application/json',
        authorization: `Bearer ${api.keys.admin.key}`,
      },
      body,
    });
    return {
      status: res.status,
      body: (await res.json()) as { data?: unknown; errors?: { message: string }[] },
    };
  };

  it('answers a JSON body, with a charset or as application/graphql+json', async () => {
    const query = JSON.stringify({ query: '{ viewer { role } }' });
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/graphql+json',
    ]) {
      const res = await post(query, type);
      expect(res.status, type).toBe(200);
      expect(res.body.data, type).toEqual({ viewer: { role: 'admin' } });
    }
  });

  it("answers malformed JSON, a JSON string, null and an empty object with Yoga's errors", async () => {
    const cases = [
      ['{"query": "{ viewer { role } }"', 400, 'POST body sent invalid JSON.'],
      ['"{ viewer { role } }"', 400, 'POST body is expected to be object but received string'],
      ['null', 400, 'POST body is expected to be object but received null'],
      ['{}', 200, 'Must provide query string.'],
    ] as const;
    for (const [body, status, message] of cases) {
      const res = await post(body);
      expect(res.status, body).toBe(status);
      expect(res.body.data, body).toBeUndefined();
      expect(res.body.errors?.[0].message, body).toBe(message);
    }
  });

  it('takes a batch of the largest size in one body', async () => {
    const rows = Array.from({ length: MAX_BATCH_ROWS }, (_, i) => ({
      id: `body-size-${i}`,
      ts: new Date(Date.now() - 60_000).toISOString(),
      person: 'ada@example.com',
      model: 'claude-sonnet-4',
      inputTokens: 100,
      outputTokens: 10,
    }));
    const res = await post(
      JSON.stringify({
        query:
          'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted duplicates } } }',
        variables: { rows },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ recordUsage: { accepted: MAX_BATCH_ROWS, duplicates: 0 } });
  });
});

describe('CSRF prevention', () => {
  it('blocks a simple (form) POST without a preflight header', async () => {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${api.keys.admin.key}` },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body.errors[0].extensions.code).toBe('CSRF_BLOCKED');
    expect(body.errors[0].message).toMatch(/Content-Type: application\/json/);
  });

  it('blocks a GET query without the header and allows it with the header', async () => {
    const url = `${api.url}/graphql?query=${encodeURIComponent('{ viewer { role } }')}`;
    const headers = { authorization: `Bearer ${api.keys.admin.key}`, accept: 'application/json' };
    expect((await fetch(url, { headers })).status).toBe(403);
    const ok = await fetch(url, { headers: { ...headers, 'x-graphql-csrf': '1' } });
    expect(ok.status).toBe(200);
    expect((await ok.json()).data.viewer.role).toBe('admin');
  });
});

describe('health, readiness and GraphiQL', () => {
  it('answers /health and /ready', async () => {
    const health = await fetch(`${api.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('serves the bundled GraphiQL to a browser outside production, with nothing from a CDN', async () => {
    const res = await fetch(`${api.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<title>Quotient GraphiQL<\/title>/);
    expect(html).toMatch(/src="\/assets\/graphiql-[\w-]+\.js"/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('does not serve GraphiQL in production', async () => {
    const prod = await startTestApi({ production: true });
    try {
      const res = await fetch(`${prod.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
    } finally {
      await prod.stop();
    }
  });

  it('says where the API is for unknown paths', async () => {
    const res = await fetch(`${api.url}/nope`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/\/graphql/);
  });
});
