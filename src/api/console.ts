// The console's HTTP side: the built single-page app (web/dist) at `/`, its sign-in
// endpoints under /auth/, and the bundled GraphiQL page. Everything is served from this
// process: no CDN at run time.
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import type { Caller } from './auth.ts';
import { readLimitedBody, tooLargeMessage } from './body.ts';
import type { Oidc } from './oidc.ts';
import {
  CSRF_HEADER,
  isSecure,
  type SendJson,
  type Sessions,
  type SessionView,
  SIGN_IN_BODY_LIMIT,
  sameOrigin,
  viewOf,
} from './session.ts';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
};

/** App routes the page handles itself (history API): each serves index.html. */
export const APP_ROUTES = [
  '/',
  '/signin',
  '/me',
  '/leaderboards',
  '/budgets',
  '/inbox',
  '/usage',
  '/policies',
  '/playground',
  '/audit',
  '/reports',
];

// The policy evaluator compiles formulas with `new Function` in the playground: hence
// 'unsafe-eval'. Nothing else comes from anywhere but this origin.
const CSP =
  "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; worker-src 'self' blob:; font-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

type Asset = {
  body: Buffer;
  gzip?: Buffer;
  br?: Buffer;
  type: string;
  mtimeMs: number;
  /** per-request content (the page with its session): not stored by the browser */
  noStore?: boolean;
};

export type ConsoleDeps = {
  sessions: Sessions;
  oidc: Oidc | null;
  /** validates an API key typed into the sign-in form */
  authenticateKey(key: string): Promise<Caller | { reason: string }>;
  log: Logger;
  send: SendJson;
  distDir?: string;
};

export function consoleHandler(deps: ConsoleDeps) {
  const dist = deps.distDir ?? WEB_DIST;
  const cache = new Map<string, Asset>();

  function load(file: string): Asset | null {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(file);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === stat.mtimeMs) return hit;
    const asset = {
      body: readFileSync(file),
      type: TYPES[extname(file)] ?? 'application/octet-stream',
      mtimeMs: stat.mtimeMs,
    };
    cache.set(file, asset);
    return asset;
  }

  function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, immutable: boolean) {
    const accept = String(req.headers['accept-encoding'] ?? '');
    const compressible = /text|javascript|json|svg/.test(asset.type) && asset.body.length > 1024;
    const headers: Record<string, string | number> = {
      'content-type': asset.type,
      'cache-control': asset.noStore
        ? 'no-store'
        : immutable
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
    };
    if (asset.type.startsWith('text/html')) {
      headers['content-security-policy'] = CSP;
      headers['referrer-policy'] = 'same-origin';
    }
    let body = asset.body;
    if (compressible && /\bbr\b/.test(accept)) {
      asset.br ??= brotliCompressSync(asset.body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 9 },
      });
      body = asset.br;
      headers['content-encoding'] = 'br';
    } else if (compressible && /\bgzip\b/.test(accept)) {
      asset.gzip ??= gzipSync(asset.body, { level: 9 });
      body = asset.gzip;
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function notBuilt(res: ServerResponse) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      'The console is not built: run `npm run web:build` (npm install and npm start do it).\n' +
        'The API is at /graphql.\n',
    );
  }

  async function sessionRoute(req: IncomingMessage, res: ServerResponse) {
    const secure = isSecure(req);
    const oidc = deps.oidc !== null;
    const noStore = { 'cache-control': 'no-store' };
    if (req.method === 'GET') {
      const session = await deps.sessions.read(req.headers.cookie);
      return deps.send(res, 200, viewOf(session, oidc), noStore);
    }
    if (req.method === 'POST') {
      if (!sameOrigin(req)) {
        return deps.send(res, 403, { error: 'sign-in must come from the console page' });
      }
      const body = await readLimitedBody(req, SIGN_IN_BODY_LIMIT);
      if (body === null) {
        return deps.send(res, 413, { error: tooLargeMessage(SIGN_IN_BODY_LIMIT) });
      }
      let key: unknown;
      try {
        key = (JSON.parse(body.toString('utf8') || '{}') as { key?: unknown } | null)?.key;
      } catch {
        return deps.send(res, 400, { error: 'send JSON: {"key": "qk_…"}' });
      }
      if (typeof key !== 'string' || !key.trim()) {
        return deps.send(res, 400, { error: 'enter an API key' });
      }
      const caller = await deps.authenticateKey(key.trim());
      if ('reason' in caller) return deps.send(res, 401, { error: caller.reason });
      const cookie = await deps.sessions.issue(
        {
          kind: 'key',
          keyId: caller.keyId,
          name: caller.name,
          role: caller.role,
          person: caller.person,
        },
        secure,
      );
      const session = await deps.sessions.read(cookie.split(';')[0]);
      deps.log.info({ key: caller.keyId, role: caller.role }, 'console sign-in with a key');
      return deps.send(res, 200, viewOf(session, oidc), { ...noStore, 'set-cookie': cookie });
    }
    if (req.method === 'DELETE') {
      const session = await deps.sessions.read(req.headers.cookie);
      if (session && req.headers[CSRF_HEADER] !== session.csrf) {
        return deps.send(res, 403, { error: `missing or wrong ${CSRF_HEADER} header` });
      }
      return deps.send(res, 200, viewOf(null, oidc), {
        ...noStore,
        'set-cookie': deps.sessions.clear(secure),
      });
    }
    deps.send(res, 405, { error: 'use GET, POST or DELETE' }, { allow: 'GET, POST, DELETE' });
  }

  /** Handles the request when it is the console's; false to let the server go on. */
  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<boolean> {
    if (path === '/auth/session') {
      await sessionRoute(req, res);
      return true;
    }
    if (path.startsWith('/auth/oidc/')) {
      if (!deps.oidc) {
        deps.send(res, 404, { error: 'OpenID Connect sign-in is not configured' });
        return true;
      }
      await deps.oidc.handle(req, res, path);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path.startsWith('/assets/')) {
      const file = normalize(join(dist, path));
      if (!file.startsWith(join(dist, 'assets'))) return false;
      const asset = load(file);
      if (!asset) return false;
      sendAsset(req, res, asset, true);
      return true;
    }
    if (path === '/favicon.svg') {
      const asset = load(join(dist, 'favicon.svg'));
      if (!asset) return false;
      sendAsset(req, res, asset, false);
      return true;
    }
    if (APP_ROUTES.includes(path)) {
      const asset = load(join(dist, 'index.html'));
      if (!asset) notBuilt(res);
      else {
        const session = viewOf(await deps.sessions.read(req.headers.cookie), deps.oidc !== null);
        sendAsset(req, res, withSession(asset, session), false);
      }
      return true;
    }
    return false;
  };
}

export const SESSION_ELEMENT_ID = 'quotient-session';

/**
 * index.html with the session view (what GET /auth/session answers) in a JSON data block,
 * so the page starts on its view and the view's data without first asking for the session.
 * A data block is not run, so the CSP's script-src does not apply; `<` is escaped so no
 * value can close the element. Per request, so never cached.
 */
function withSession(page: Asset, session: SessionView): Asset {
  const json = JSON.stringify(session).replaceAll('<', '\\u003c');
  const block = `<script type="application/json" id="${SESSION_ELEMENT_ID}">${json}</script>`;
  const html = page.body.toString('utf8').replace('</head>', `${block}</head>`);
  return { body: Buffer.from(html), type: page.type, mtimeMs: page.mtimeMs, noStore: true };
}

/** The bundled GraphiQL page, or null when the console is not built. */
export function graphiqlPage(distDir = WEB_DIST): string | null {
  try {
    return readFileSync(join(distDir, 'graphiql.html'), 'utf8');
  } catch {
    return null;
  }
}
