// Console sessions over real HTTP: the key sign-in sets an HttpOnly cookie, every cookie
// request must echo the CSRF token, sign-in from another origin is refused, a revoked key
// ends its sessions, and a tampered cookie is worthless.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoleMap, roleFromClaims } from '../../src/api/oidc.ts';
import { MEMBER_PERSON, startTestApi, type TestApi } from './support.ts';

let api: TestApi;
/** a stand-in for the built console: the app page the server writes the session into */
const dist = mkdtempSync(join(tmpdir(), 'quotient-console-'));
beforeAll(async () => {
  writeFileSync(
    join(dist, 'index.html'),
    '<!doctype html><html><head><title>Quotient console</title></head><body><div id="root"></div></body></html>',
  );
  api = await startTestApi({ oidc: null, consoleDist: dist });
});
afterAll(async () => {
  await api?.stop();
  rmSync(dist, { recursive: true, force: true });
});

/** The session view an app page carries (its JSON data block), and the response. */
async function pageSession(path: string, cookie: string | null) {
  const res = await fetch(`${api.url}${path}`, { headers: cookie ? { cookie } : {} });
  const html = await res.text();
  const block =
    /<script type="application\/json" id="quotient-session">(.*?)<\/script><\/head>/.exec(html);
  return { res, html, session: block ? JSON.parse(block[1]) : null };
}

async function signIn(key: string, headers: Record<string, string> = {}) {
  const origin = api.url;
  return fetch(`${api.url}/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin, ...headers },
    body: JSON.stringify({ key }),
  });
}

function cookieOf(res: Response): string {
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

async function viewer(cookie: string, csrf: string | null) {
  const res = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      cookie,
      ...(csrf ? { 'x-quotient-csrf': csrf } : {}),
    },
    body: JSON.stringify({ query: '{ viewer { role person keyId } }' }),
  });
  return { status: res.status, body: await res.json() };
}

describe('console sessions', () => {
  it('signs in with a key into an HttpOnly, SameSite=Lax cookie and reports the session', async () => {
    const res = await signIn(api.keys.member.key);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^quotient_session=/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    const body = await res.json();
    expect(body).toMatchObject({ signedIn: true, role: 'member', person: MEMBER_PERSON });
    expect(body.csrf).toMatch(/^[\w-]{20,}$/);
    // the key itself is not in the cookie
    expect(setCookie).not.toContain(api.keys.member.key);
    const again = await fetch(`${api.url}/auth/session`, { headers: { cookie: cookieOf(res) } });
    expect(await again.json()).toMatchObject({ signedIn: true, csrf: body.csrf });
  });

  it('writes the session into each app page, never cached, with no way to close the block', async () => {
    const res = await signIn(api.keys.member.key);
    const body = await res.json();
    const signedIn = await pageSession('/me', cookieOf(res));
    expect(signedIn.res.status).toBe(200);
    expect(signedIn.res.headers.get('cache-control')).toBe('no-store');
    expect(signedIn.session).toEqual(body);
    const anonymous = await pageSession('/leaderboards', null);
    expect(anonymous.session).toEqual({ signedIn: false, oidc: false });
    expect(anonymous.res.headers.get('content-security-policy')).toContain("script-src 'self'");
    // a name with markup in it (a key's name is free text) stays inside the JSON
    const created = await api.gql<{ createApiKey: { data: { key: string } } }>(
      api.keys.admin.key,
      `mutation { createApiKey(role: viewer, name: "</script><script>alert(1)</script>") {
         ... on MutationCreateApiKeySuccess { data { key } } } }`,
    );
    const odd = await signIn(created.body.data!.createApiKey.data.key);
    const page = await pageSession('/', cookieOf(odd));
    expect(page.session.name).toBe('</script><script>alert(1)</script>');
    expect(page.html).not.toContain('<script>alert(1)');
  });

  it('answers GraphQL for the cookie only with the CSRF token', async () => {
    const res = await signIn(api.keys.viewer.key);
    const { csrf } = await res.json();
    const cookie = cookieOf(res);
    const ok = await viewer(cookie, csrf);
    expect(ok.body.data.viewer).toMatchObject({ role: 'viewer', keyId: api.keys.viewer.id });
    const missing = await viewer(cookie, null);
    expect(missing.status).toBe(401);
    expect(missing.body.errors[0].message).toMatch(/x-quotient-csrf/);
    const wrong = await viewer(cookie, `${csrf}x`);
    expect(wrong.status).toBe(401);
  });

  it('refuses sign-in from another origin, a wrong key, and a tampered cookie', async () => {
    const cross = await signIn(api.keys.admin.key, { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('set-cookie')).toBeNull();
    const crossSite = await signIn(api.keys.admin.key, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const wrong = await signIn('qk_nope');
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error).toBe('invalid API key');

    const res = await signIn(api.keys.member.key);
    const { csrf } = await res.json();
    const [name, value] = cookieOf(res).split('=');
    const [payload, mac] = decodeURIComponent(value).split('.');
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        role: 'admin',
      }),
    ).toString('base64url');
    const tampered = await viewer(`${name}=${forged}.${mac}`, csrf);
    expect(tampered.status).toBe(401);
    expect(tampered.body.errors[0].message).toMatch(/session expired: sign in again/);
  });

  it('ends the session when its key is revoked, and on sign-out', async () => {
    const created = await api.gql(
      api.keys.admin.key,
      'mutation { createApiKey(role: viewer, name: "short-lived") { ... on MutationCreateApiKeySuccess { data { key apiKey { id } } } } }',
    );
    const { key, apiKey } = (
      created.body.data as never as {
        createApiKey: { data: { key: string; apiKey: { id: string } } };
      }
    ).createApiKey.data;
    const res = await signIn(key);
    const { csrf } = await res.json();
    const cookie = cookieOf(res);
    expect((await viewer(cookie, csrf)).status).toBe(200);
    await api.gql(
      api.keys.admin.key,
      `mutation { revokeApiKey(id: "${apiKey.id}") { __typename } }`,
    );
    const revoked = await viewer(cookie, csrf);
    expect(revoked.status).toBe(401);
    expect(revoked.body.errors[0].message).toContain('was revoked');

    const out = await fetch(`${api.url}/auth/session`, {
      method: 'DELETE',
      headers: { cookie, 'x-quotient-csrf': csrf },
    });
    expect(out.headers.get('set-cookie')).toMatch(/^quotient_session=; .*Max-Age=0/);
  });

  it('a Bearer key still wins over a cookie (API clients are unchanged)', async () => {
    const res = await signIn(api.keys.member.key);
    const cookie = cookieOf(res);
    const r = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie,
        authorization: `Bearer ${api.keys.governance.key}`,
      },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect((await r.json()).data.viewer.role).toBe('governance');
  });
});

describe('OpenID Connect role mapping', () => {
  it('parses the claim-to-role map and names a bad entry', () => {
    expect(parseRoleMap('ai-gov=governance, staff = member')).toEqual({
      'ai-gov': 'governance',
      staff: 'member',
    });
    expect(() => parseRoleMap('staff=boss')).toThrow(/unknown role "boss"/);
    expect(() => parseRoleMap('governance')).toThrow(/expected claim=role/);
  });

  it('takes the strongest mapped role, else the default, else none', () => {
    const config = {
      roleMap: { staff: 'member', 'ai-gov': 'governance' } as const,
      roleClaim: 'groups',
    };
    expect(roleFromClaims({ groups: ['staff', 'ai-gov'] }, config)).toBe('governance');
    expect(roleFromClaims({ groups: 'staff' }, config)).toBe('member');
    expect(roleFromClaims({ groups: ['other'] }, config)).toBeNull();
    expect(roleFromClaims({}, { ...config, defaultRole: 'viewer' })).toBe('viewer');
  });
});
