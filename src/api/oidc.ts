// Console sign-in with the company's identity provider: OpenID Connect authorization code
// flow with PKCE (openid-client). The person comes from a configurable claim; the role from
// a claim-to-role mapping in configuration. The flow state (PKCE verifier, state, nonce)
// travels in a short-lived signed HttpOnly cookie, so any instance can finish the flow.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { isRole, type Role } from '../app/roles.ts';
import type { Config } from '../config.ts';
import { unstorableTextProblem } from '../store/ingest/limits.ts';
import { cookieHeader, isSecure, parseCookies, type Sessions } from './session.ts';

export type OidcConfig = {
  /** the provider's issuer URL (its discovery document is at /.well-known/openid-configuration) */
  issuer: string;
  clientId: string;
  /** omit for a public client (PKCE alone) */
  clientSecret?: string;
  /** default: <this server>/auth/oidc/callback */
  redirectUri?: string;
  /** default "openid email profile" */
  scope?: string;
  /** the claim holding the person id (default "email") */
  personClaim?: string;
  /** the claim holding group or role names (default "groups"); a string or a list */
  roleClaim?: string;
  /** claim value → Quotient role; the strongest mapped role wins */
  roleMap: Record<string, Role>;
  /** the role when no claim value maps (default: none, sign-in refused) */
  defaultRole?: Role | null;
  /** allow an http:// issuer (local providers in tests and development) */
  allowInsecure?: boolean;
};

export type Oidc = {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
};

const FLOW_COOKIE = 'quotient_oidc';
const FLOW_TTL_MS = 10 * 60 * 1000;
/** strongest first */
const ROLE_STRENGTH: Role[] = ['admin', 'governance', 'viewer', 'member', 'ingest'];

/** The OIDC settings (src/config.ts, --oidc-* / QUOTIENT_OIDC_*) checked; null without an issuer. */
export function oidcConfigOf(settings: Config['oidc']): OidcConfig | null {
  if (!settings.issuer) return null;
  if (!settings.clientId) {
    throw new Error('QUOTIENT_OIDC_ISSUER is set but QUOTIENT_OIDC_CLIENT_ID is not');
  }
  const roleMap = parseRoleMap(settings.roleMap ?? '');
  const defaultRole = settings.defaultRole ?? null;
  if (defaultRole !== null && !isRole(defaultRole)) {
    throw new Error(`QUOTIENT_OIDC_DEFAULT_ROLE: unknown role "${defaultRole}"`);
  }
  return {
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    redirectUri: settings.redirectUri,
    scope: settings.scope,
    personClaim: settings.personClaim,
    roleClaim: settings.roleClaim,
    roleMap,
    defaultRole,
    allowInsecure: settings.allowHttp,
  };
}

/** "quotient-governance=governance, staff=member" → a map; names the bad entry. */
export function parseRoleMap(text: string): Record<string, Role> {
  const map: Record<string, Role> = {};
  for (const entry of text.split(',').map((e) => e.trim())) {
    if (!entry) continue;
    const eq = entry.lastIndexOf('=');
    const claim = entry.slice(0, eq).trim();
    const role = entry.slice(eq + 1).trim();
    if (eq <= 0 || !claim) throw new Error(`role map entry "${entry}": expected claim=role`);
    if (!isRole(role)) {
      throw new Error(
        `role map entry "${entry}": unknown role "${role}" (use ingest, member, viewer, governance or admin)`,
      );
    }
    map[claim] = role;
  }
  return map;
}

/** The strongest role any claim value maps to, else the default. */
export function roleFromClaims(
  claims: Record<string, unknown>,
  config: Pick<OidcConfig, 'roleClaim' | 'roleMap' | 'defaultRole'>,
): Role | null {
  const raw = claims[config.roleClaim ?? 'groups'];
  const values = Array.isArray(raw) ? raw.map(String) : raw == null ? [] : [String(raw)];
  const mapped = values.map((v) => config.roleMap[v]).filter((r): r is Role => Boolean(r));
  for (const role of ROLE_STRENGTH) if (mapped.includes(role)) return role;
  return config.defaultRole ?? null;
}

type Flow = { verifier: string; state: string; nonce: string; redirectUri: string };

export function createOidc(config: OidcConfig, sessions: Sessions, log: Logger): Oidc {
  let discovered: Promise<client.Configuration> | null = null;
  const configuration = () => {
    discovered ??= client
      .discovery(
        new URL(config.issuer),
        config.clientId,
        config.clientSecret,
        config.clientSecret ? client.ClientSecretPost(config.clientSecret) : client.None(),
        config.allowInsecure ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error) => {
        discovered = null;
        throw error;
      });
    return discovered;
  };

  function redirectUriFor(req: IncomingMessage): string {
    if (config.redirectUri) return config.redirectUri;
    const proto = isSecure(req) ? 'https' : 'http';
    return `${proto}://${req.headers.host}/auth/oidc/callback`;
  }

  function redirect(res: ServerResponse, location: string, cookies: string[] = []) {
    res.writeHead(302, { location, 'cache-control': 'no-store', 'set-cookie': cookies });
    res.end();
  }

  function fail(req: IncomingMessage, res: ServerResponse, message: string) {
    const clearFlow = cookieHeader(FLOW_COOKIE, '', {
      maxAgeS: 0,
      secure: isSecure(req),
      path: '/auth/oidc',
    });
    redirect(res, `/signin?error=${encodeURIComponent(message)}`, [clearFlow]);
  }

  async function start(req: IncomingMessage, res: ServerResponse) {
    let cfg: client.Configuration;
    try {
      cfg = await configuration();
    } catch (error) {
      log.warn({ err: error }, 'OpenID provider discovery failed');
      return fail(req, res, 'the identity provider could not be reached; try again later');
    }
    const flow: Flow = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      redirectUri: redirectUriFor(req),
    };
    const url = client.buildAuthorizationUrl(cfg, {
      redirect_uri: flow.redirectUri,
      scope: config.scope ?? 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    const sealed = await sessions.seal(flow, FLOW_TTL_MS);
    redirect(res, url.href, [
      cookieHeader(FLOW_COOKIE, sealed, {
        maxAgeS: FLOW_TTL_MS / 1000,
        secure: isSecure(req),
        path: '/auth/oidc',
      }),
    ]);
  }

  async function callback(req: IncomingMessage, res: ServerResponse) {
    const flow = await sessions.unseal<Flow>(parseCookies(req.headers.cookie)[FLOW_COOKIE]);
    if (!flow)
      return fail(req, res, 'the sign-in took too long or was started elsewhere: try again');
    const current = new URL(req.url ?? '/', flow.redirectUri);
    const providerError = current.searchParams.get('error');
    if (providerError) {
      const detail = current.searchParams.get('error_description');
      return fail(req, res, `the identity provider refused: ${detail ?? providerError}`);
    }
    let claims: Record<string, unknown>;
    try {
      const cfg = await configuration();
      const tokens = await client.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
      // providers often keep scope claims (email, groups) out of the ID token: ask userinfo
      const userinfo = cfg.serverMetadata().userinfo_endpoint
        ? await client.fetchUserInfo(cfg, tokens.access_token, String(idClaims.sub))
        : {};
      claims = { ...idClaims, ...userinfo };
    } catch (error) {
      log.warn({ err: error }, 'OpenID Connect code exchange failed');
      return fail(req, res, 'the identity provider’s answer could not be verified: try again');
    }
    const personClaim = config.personClaim ?? 'email';
    const person = typeof claims[personClaim] === 'string' ? (claims[personClaim] as string) : null;
    const role = roleFromClaims(claims, config);
    if (!role) {
      return fail(req, res, 'your account has no Quotient role: ask governance to grant one');
    }
    if (role === 'member' && !person) {
      return fail(req, res, `your account has no "${personClaim}" claim to find you by`);
    }
    const name =
      (typeof claims.name === 'string' && claims.name) || person || String(claims.sub ?? '');
    // the session's person, name and subject reach SQL (reads by person, the audit trail)
    const unstorable = [person ?? '', name, String(claims.sub ?? '')]
      .map(unstorableTextProblem)
      .find(Boolean);
    if (unstorable) {
      return fail(req, res, `the identity provider sent a claim that ${unstorable}`);
    }
    const cookie = await sessions.issue(
      { kind: 'oidc', keyId: `oidc:${String(claims.sub)}`, name, role, person },
      isSecure(req),
    );
    log.info({ sub: claims.sub, role }, 'console sign-in with OpenID Connect');
    const clearFlow = cookieHeader(FLOW_COOKIE, '', {
      maxAgeS: 0,
      secure: isSecure(req),
      path: '/auth/oidc',
    });
    redirect(res, '/', [cookie, clearFlow]);
  }

  return {
    async handle(req, res, path) {
      if (path === '/auth/oidc/start') return start(req, res);
      if (path === '/auth/oidc/callback') return callback(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such sign-in route');
    },
  };
}
