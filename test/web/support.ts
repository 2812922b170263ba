// A real `quotient serve` on the seeded demo, a real OpenID provider (oidc-provider) and a
// real Chromium (Debian's, through playwright-core), for the console's end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, isStale } from '../../web/scripts/build-if-stale.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

/** The people of the identity provider: claims as a company directory would send them. */
export const OIDC_ACCOUNTS: Record<string, { email: string; name: string; groups: string[] }> = {
  'gov-lead': { email: 'gov.lead@halcyon.test', name: 'Gov Lead', groups: ['ai-governance'] },
  outsider: { email: 'nobody@elsewhere.test', name: 'No Role', groups: ['marketing'] },
};

export type Stack = {
  url: string;
  adminKey: string;
  issuer: string;
  // biome-ignore lint/suspicious/noExplicitAny: each test reads its own query's shape
  gql<T = any>(key: string, query: string, variables?: Record<string, unknown>): Promise<T>;
  key(role: string, name: string, person?: string): Promise<string>;
  stop(): Promise<void>;
};

export function ensureConsoleBuilt(): void {
  if (isStale()) build();
}

export async function startStack(): Promise<Stack> {
  ensureConsoleBuilt();
  const db: TestDatabase = await createTestDatabase();

  // the provider's port first: the server is configured with its issuer URL
  const idpServer: Server = createServer();
  idpServer.listen(0, '127.0.0.1');
  await once(idpServer, 'listening');
  const issuer = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;

  const child: ChildProcess = spawn(
    process.execPath,
    ['src/cli.ts', 'serve', '--port', '0', '--data-dir', db.dataDir],
    {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      env: {
        ...process.env,
        ...db.env,
        LOG_LEVEL: 'warn',
        QUOTIENT_OIDC_ISSUER: issuer,
        QUOTIENT_OIDC_CLIENT_ID: 'quotient-console',
        QUOTIENT_OIDC_ALLOW_HTTP: '1',
        QUOTIENT_OIDC_PERSON_CLAIM: 'email',
        QUOTIENT_OIDC_ROLE_CLAIM: 'groups',
        QUOTIENT_OIDC_SCOPE: 'openid email profile groups',
        QUOTIENT_OIDC_ROLE_MAP: 'ai-governance=governance,staff=member',
      },
    },
  );
  let output = '';
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const { url, adminKey } = await new Promise<{ url: string; adminKey: string }>(
    (resolve, reject) => {
      child.stdout?.on('data', (d) => {
        output += d;
        const at = /Quotient API at (http:\/\/\S+)\/graphql/.exec(output);
        const key = /^\s+(qk_\S+)\s*$/m.exec(output);
        if (at && key) resolve({ url: at[1], adminKey: key[1] });
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
    },
  );

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'quotient-console',
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${url}/auth/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const account = OIDC_ACCOUNTS[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
  } as never);
  idpServer.on('request', provider.callback());

  // biome-ignore lint/suspicious/noExplicitAny: each test reads its own query's shape
  const gql = async <T = any>(
    key: string,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<T> => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data as T;
  };

  return {
    url,
    adminKey,
    issuer,
    gql,
    async key(role, name, person) {
      const data = await gql<{ createApiKey: { data: { key: string } } }>(
        adminKey,
        `mutation($role: Role!, $name: String!, $person: String) {
          createApiKey(role: $role, name: $name, person: $person) {
            ... on MutationCreateApiKeySuccess { data { key } }
            ... on Problem { message }
          }
        }`,
        { role, name, person: person ?? null },
      );
      return data.createApiKey.data.key;
    },
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      idpServer.closeAllConnections();
      await new Promise((r) => idpServer.close(r));
      await db.drop();
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium)`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * A browser context whose waits allow for a loaded machine (the suite shares 2 cores):
 * tests wait for what the page shows, never for a fixed time.
 */
export async function newContext(
  browser: Browser,
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(120_000);
  return context;
}

/** A fresh browser context signed in with an API key through the sign-in form. */
export async function signInWithKey(
  browser: Browser,
  url: string,
  key: string,
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  // bypassCSP: axe-core is injected as an inline script; the console itself runs under its CSP
  const context = await newContext(browser, { viewport, acceptDownloads: true, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
  return { context, page };
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs` (background work). */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
