// A real API server on a fresh database, with one key per role, for end-to-end tests.
import { pino } from 'pino';
import { type CreatedKey, createApiKey } from '../../src/api/auth.ts';
import { registerApiEntities } from '../../src/api/entities.ts';
import { type RunningServer, type ServerOptions, startServer } from '../../src/api/server.ts';
import { readServiceFor } from '../../src/app/reads.ts';
import type { Role } from '../../src/app/roles.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

export const MEMBER_PERSON = 'ana@acme.test';

export type TestApi = {
  store: TestStore;
  server: RunningServer;
  url: string;
  keys: Record<Role, CreatedKey>;
  gql<T = Record<string, unknown>>(
    key: string | null,
    query: string,
    variables?: Record<string, unknown>,
    init?: { headers?: Record<string, string> },
  ): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
};

export type GqlError = {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string };
};
export type GqlResponse<T> = {
  status: number;
  contentType: string;
  body: { data?: T | null; errors?: GqlError[] };
};

export async function startTestApi(options: Partial<ServerOptions> = {}): Promise<TestApi> {
  const store = await createTestStore();
  registerApiEntities(store);
  // boards are always evaluated fresh here: a slow CI machine must not make one stale
  readServiceFor(store).cache.serveStaleAfter(Number.POSITIVE_INFINITY);
  const keys = {} as Record<Role, CreatedKey>;
  for (const role of ['ingest', 'member', 'viewer', 'governance', 'admin'] as const) {
    keys[role] = await createApiKey(store.em(), {
      role,
      name: `test ${role}`,
      person: role === 'member' ? MEMBER_PERSON : null,
    });
  }
  const server = await startServer({
    store,
    port: 0,
    logger: pino({ level: 'silent' }),
    keyCacheMs: 0,
    ...options,
  });
  return {
    store,
    server,
    url: server.url,
    keys,
    async gql(key, query, variables, init) {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...init?.headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
        body: await response.json(),
      };
    },
    async stop() {
      await server.close();
      await store.destroy();
    },
  };
}

/** A small directory: two teams (one restricted), four people. */
export async function seedDirectory(api: TestApi): Promise<void> {
  const result = await api.gql(
    api.keys.admin.key,
    `mutation($teams: [TeamInput!], $people: [PersonInput!]) {
      upsertDirectory(teams: $teams, people: $people) { __typename ... on IngestSummary { accepted rejected } }
    }`,
    {
      teams: [
        { team: 'platform', name: 'Platform', owner: 'bo@acme.test', costCenter: 'CC-100' },
        { team: 'legal', name: 'Legal', sensitivity: 'restricted', owner: 'cy@acme.test' },
      ],
      people: [
        {
          person: MEMBER_PERSON,
          name: 'Ana Ruiz',
          team: 'platform',
          role: 'engineer',
          manager: 'bo@acme.test',
          optedIn: true,
        },
        { person: 'bo@acme.test', name: 'Bo Chen', team: 'platform', role: 'manager' },
        { person: 'cy@acme.test', name: 'Cy Okafor', team: 'legal', role: 'counsel' },
        {
          person: 'di@acme.test',
          name: 'Di Novak',
          team: 'platform',
          role: 'engineer',
          manager: 'bo@acme.test',
        },
      ],
    },
  );
  const summary = (result.body.data as { upsertDirectory: { accepted: number; rejected: number } })
    .upsertDirectory;
  if (summary.accepted !== 6 || summary.rejected !== 0) {
    throw new Error(`directory seed failed: ${JSON.stringify(result.body)}`);
  }
}

/** The data of a GraphQL answer; its errors, when any, fail the test with their text. */
export async function gqlData<T>(
  api: TestApi,
  key: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const res = await api.gql<T>(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as T;
}

/** Publishes and activates a policy as governance; fails the test unless it is published. */
export async function activatePolicySource(api: TestApi, source: string): Promise<void> {
  const data = await gqlData<{ publishPolicy: { __typename: string } }>(
    api,
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: source },
  );
  if (data.publishPolicy.__typename !== 'PolicyVersion')
    throw new Error(`policy not published: ${data.publishPolicy.__typename}`);
}

/** One usage line for ingestBatch: `tokens` input tokens of claude-sonnet-4-5. */
export function usageLine(id: string, person: string, ts: string, tokens: number) {
  return {
    line: 0,
    data: {
      type: 'usage',
      id,
      ts,
      person,
      model: 'claude-sonnet-4-5',
      input_tokens: tokens,
      output_tokens: 0,
    },
  };
}
