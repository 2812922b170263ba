// Console sessions: an HttpOnly cookie that stands in for the API key. The cookie is a
// payload signed with HMAC-SHA256 under a secret kept in the database (shared by every
// instance), so the API stays stateless. A key session names its key and is re-checked
// against api_keys (revocation ends it within the key cache time); an OpenID Connect
// session carries the person and role mapped at sign-in and lasts until it expires.
// CSRF: every request made with the cookie must echo the session's CSRF token in the
// `x-quotient-csrf` header, which only a page of this origin can read (GET /auth/session).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRole, type Role } from '../app/roles.ts';
import type { Store } from '../store/db.ts';
import { ApiKey } from '../store/entities/api-key.ts';
import { sharedSecret } from '../store/secrets.ts';
import type { Caller } from './auth.ts';

export const SESSION_COOKIE = 'quotient_session';
export const CSRF_HEADER = 'x-quotient-csrf';
const SESSION_SECRET = 'session-hmac-key';
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export type SessionPayload = {
  /** `key`: signed in with an API key; `oidc`: with the identity provider */
  kind: 'key' | 'oidc';
  keyId: string;
  name: string;
  role: Role;
  person: string | null;
  csrf: string;
  /** expiry, ms since the epoch */
  exp: number;
};

export type SessionView = {
  signedIn: boolean;
  kind?: SessionPayload['kind'];
  name?: string;
  role?: Role;
  person?: string | null;
  csrf?: string;
  /** whether "Sign in with your company account" is offered */
  oidc: boolean;
};

export type Sessions = {
  /** the caller of a cookie request, null without a session cookie */
  callerFor(request: Request): Promise<Caller | { reason: string } | null>;
  read(cookieHeader: string | undefined): Promise<SessionPayload | null>;
  /** Set-Cookie value for a new session */
  issue(payload: Omit<SessionPayload, 'csrf' | 'exp'>, secure: boolean): Promise<string>;
  clear(secure: boolean): string;
  /** signs a short-lived value (the OpenID Connect flow state) with the session secret */
  seal(value: object, ttlMs: number): Promise<string>;
  unseal<T>(sealed: string | undefined): Promise<T | null>;
  /** forgets what is cached about a key (it was revoked); no key id: about every key */
  forgetKey(keyId?: string): void;
};

export function createSessions(store: Store, options: { keyCacheMs?: number } = {}): Sessions {
  const ttl = options.keyCacheMs ?? 5_000;
  let secret: Promise<Buffer> | null = null;
  const keySecret = () => {
    secret ??= loadSessionSecret(store).catch((error) => {
      secret = null;
      throw error;
    });
    return secret;
  };
  const keyChecks = new Map<string, { ok: string | null; until: number }>();

  async function keyProblem(keyId: string): Promise<string | null> {
    const now = Date.now();
    const hit = keyChecks.get(keyId);
    if (hit && hit.until > now) return hit.ok;
    const row = await store.em().findOne(ApiKey, { id: keyId });
    const problem = !row
      ? 'the key of this session no longer exists: sign in again'
      : row.revokedAt
        ? `API key ${keyId} was revoked: sign in again`
        : null;
    if (ttl > 0) keyChecks.set(keyId, { ok: problem, until: now + ttl });
    return problem;
  }

  async function read(cookieHeader: string | undefined) {
    const value = parseCookies(cookieHeader)[SESSION_COOKIE];
    if (!value) return null;
    return verify(value, await keySecret());
  }

  return {
    read,
    async callerFor(request) {
      const cookie = request.headers.get('cookie') ?? undefined;
      if (!parseCookies(cookie)[SESSION_COOKIE]) return null;
      const session = await read(cookie);
      if (!session) return { reason: 'your console session expired: sign in again' };
      const sent = request.headers.get(CSRF_HEADER) ?? '';
      if (!equalStrings(sent, session.csrf)) {
        return { reason: `missing or wrong ${CSRF_HEADER} header for this session` };
      }
      if (session.kind === 'key') {
        const problem = await keyProblem(session.keyId);
        if (problem) return { reason: problem };
      }
      return {
        keyId: session.keyId,
        name: session.name,
        role: session.role,
        person: session.person,
      };
    },
    async issue(payload, secure) {
      const full: SessionPayload = {
        ...payload,
        csrf: randomBytes(24).toString('base64url'),
        exp: Date.now() + SESSION_TTL_MS,
      };
      return cookieHeader(SESSION_COOKIE, sign(full, await keySecret()), {
        maxAgeS: SESSION_TTL_MS / 1000,
        secure,
      });
    },
    clear(secure) {
      return cookieHeader(SESSION_COOKIE, '', { maxAgeS: 0, secure });
    },
    forgetKey(keyId) {
      if (keyId === undefined) keyChecks.clear();
      else keyChecks.delete(keyId);
    },
    async seal(value, ttlMs) {
      return signValue({ value, exp: Date.now() + ttlMs }, await keySecret());
    },
    async unseal<T>(sealed: string | undefined) {
      if (!sealed) return null;
      const opened = verifyValue<{ value: T; exp: number }>(sealed, await keySecret());
      if (!opened || typeof opened.exp !== 'number' || opened.exp < Date.now()) return null;
      return opened.value;
    },
  };
}

export function viewOf(session: SessionPayload | null, oidc: boolean): SessionView {
  if (!session) return { signedIn: false, oidc };
  const { kind, name, role, person, csrf } = session;
  return { signedIn: true, kind, name, role, person, csrf, oidc };
}

function signValue(payload: object, secret: Buffer): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const mac = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${mac}`;
}

function verifyValue<T>(value: string, secret: Buffer): T | null {
  const [body, mac] = value.split('.');
  if (!body || !mac) return null;
  const expected = createHmac('sha256', secret).update(body).digest('base64url');
  if (!equalStrings(mac, expected)) return null;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  } catch {
    return null;
  }
}

const sign = signValue;

function verify(value: string, secret: Buffer): SessionPayload | null {
  const payload = verifyValue<SessionPayload>(value, secret);
  if (!payload) return null;
  if (typeof payload.exp !== 'number' || payload.exp < Date.now()) return null;
  if (!isRole(payload.role)) return null;
  return payload;
}

function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in out)) out[name] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

export function cookieHeader(
  name: string,
  value: string,
  options: { maxAgeS: number; secure: boolean; path?: string },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path ?? '/'}`,
    `Max-Age=${Math.floor(options.maxAgeS)}`,
    'HttpOnly',
    // Lax: the cookie must come along on the top-level redirect back from the provider
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The request came over HTTPS (directly or through a proxy that says so). */
export function isSecure(req: IncomingMessage): boolean {
  const proto = String(req.headers['x-forwarded-proto'] ?? '')
    .split(',')[0]
    .trim();
  return proto === 'https' || Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

/**
 * Sign-in must come from a page of this origin (no login CSRF): the browser's Origin or
 * Sec-Fetch-Site says so.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site) return site === 'same-origin';
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function loadSessionSecret(store: Store): Promise<Buffer> {
  return sharedSecret(store, SESSION_SECRET);
}

/** The largest sign-in body: a JSON object holding one key. */
export const SIGN_IN_BODY_LIMIT = 16_384;

export type SendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
) => void;
