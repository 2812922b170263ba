import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  createGraphQLError,
  createYoga,
  type Plugin,
  renderGraphiQL as renderGraphiQLFromCdn,
} from 'graphql-yoga';
import { type Logger, pino } from 'pino';
import { type Audit, auditFor, auditTrailFor } from '../app/audit.ts';
import { quotaCacheFor } from '../app/quota-cache.ts';
import { pendingMigrations, type Store } from '../store/db.ts';
import type { PersonFallback } from '../store/ingest/otlp.ts';
import { ping } from '../store/secrets.ts';
import { armorPlugin } from './armor.ts';
import { bearerToken, loadPseudonymSecret, type Pseudonymizer, pseudonymizer } from './auth.ts';
import { BACKUP_PATH, handleBackup } from './backup-http.ts';
import {
  lingerAfterTooLarge,
  readLimitedBody,
  TOO_LARGE_HEADERS,
  tooLargeMessage,
} from './body.ts';
import { consoleHandler, graphiqlPage } from './console.ts';
import type { Context } from './context.ts';
import { csrfPlugin } from './csrf.ts';
import { registerApiEntities } from './entities.ts';
import { describe, maskGraphqlError, unavailableError, yogaLogger } from './graphql-errors.ts';
import { type KeyAuthenticator, keyAuthenticator } from './key-cache.ts';
import {
  type ApiLimits,
  DEFAULT_LIMITS,
  evaluationCostPlugin,
  rateLimiter,
  subscriptionCapPlugin,
} from './limits.ts';
import { createMetrics, handleMetrics, METRICS_PATH } from './metrics.ts';
import { createOidc, type OidcConfig } from './oidc.ts';
import { handleOtlpTraces } from './otlp.ts';
import { handleQuotaCheck, QUOTA_CHECK_PATH } from './quota-http.ts';
import { schema } from './schema/index.ts';
import { createSessions, type Sessions } from './session.ts';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE } from './unavailable.ts';
import { handleWhoami, WHOAMI_PATH } from './whoami.ts';

export type ServerOptions = {
  store: Store;
  /** 0 picks a free port (tests) */
  port?: number;
  host?: string;
  logger?: Logger;
  /** disables GraphiQL (`quotient serve`: NODE_ENV=production) */
  production?: boolean;
  /** how long a validated key is trusted before it is looked up again (revocation delay) */
  keyCacheMs?: number;
  /**
   * checkQuota from the in-memory quota state, refreshed every refreshMs and used while
   * younger than maxStalenessMs (`quotient serve`: the quota-cache-* settings); default off.
   * `startAfter`: its first (whole-organisation) load waits for this (`quotient serve`: the
   * persisted boards' read), checks reading the database meanwhile
   */
  quotaCache?: {
    refreshMs: number;
    maxStalenessMs: number;
    startAfter?: Promise<unknown>;
  } | null;
  /** rate, subscription and evaluation limits (default: DEFAULT_LIMITS) */
  limits?: Partial<ApiLimits>;
  /** request bodies above this get 413 */
  maxBodyBytes?: number;
  /** who an OTLP span naming no person is attributed to (default: its service) */
  otlpPersonFallback?: PersonFallback;
  /** grace period for in-flight requests on close */
  shutdownGraceMs?: number;
  /**
   * /metrics: `key` lets a bearer token other than an admin key read it on the API port;
   * `port` serves it on its own listener instead (no token; bind it with care).
   */
  metrics?: { key?: string | null; port?: number | null; host?: string };
  /**
   * The token of the command line on this machine (`quotient serve` writes it into the
   * embedded data directory, readable only by whoever may read the database files): it
   * acts as an admin key, so `quotient backup`, `keys` and `policy log` work through the
   * server that holds the directory.
   */
  localToken?: string | null;
  /** the built console (default web/dist); tests serve a page of their own */
  consoleDist?: string;
  /** console sign-in with an OpenID provider (`quotient serve`: the oidc-* settings); default none */
  oidc?: OidcConfig | null;
};

export type RunningServer = {
  url: string;
  port: number;
  metricsUrl: string | null;
  close(): Promise<void>;
};

export const DEFAULT_PORT = 4000;
const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { store } = options;
  const log = options.logger ?? pino({ name: 'quotient' });
  const production = options.production ?? false;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  registerApiEntities(store);

  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const quotaCacheOptions = options.quotaCache ?? null;
  const quotaCache = quotaCacheOptions ? quotaCacheFor(store) : null;
  // set by close(): a start still waiting on `startAfter` does not happen
  let quotaCacheClosed = false;
  if (quotaCache && quotaCacheOptions) {
    const { startAfter, ...cacheOptions } = quotaCacheOptions;
    const start = () => {
      if (quotaCacheClosed) return;
      quotaCache.start({
        ...cacheOptions,
        onError: (error) => log.warn({ err: error }, 'quota cache refresh failed'),
      });
    };
    if (startAfter) startAfter.then(start, start);
    else start();
  }
  const sessions = createSessions(store, { keyCacheMs: options.keyCacheMs });
  const keys = keyAuthenticator(store, {
    ttlMs: options.keyCacheMs ?? 5_000,
    limiter: rateLimiter(limits.requestsPerSecond, limits.rateWindowSeconds),
    log,
    // a console session of a revoked key ends at once too
    alsoForget: (keyId) => sessions.forgetKey(keyId),
    localToken: options.localToken ?? null,
  });
  const secret = pseudonymSource(store);
  const metrics = createMetrics({ store, log, key: options.metrics?.key });
  const metricsApart = options.metrics?.port != null;
  const oidcConfig = options.oidc ?? null;
  const handleConsole = consoleHandler({
    sessions,
    oidc: oidcConfig ? createOidc(oidcConfig, sessions, log) : null,
    authenticateKey: (key) => keys.authenticate(key),
    log,
    send: sendJson,
    distDir: options.consoleDist,
  });

  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: production
      ? false
      : {
          title: 'Quotient',
          // paste a key after "Bearer " (quotient keys create, or the bootstrap key)
          headers: '{"Authorization": "Bearer "}',
          defaultQuery:
            '# Put your API key in the Headers tab below.\n{\n  viewer { role person capabilities }\n}\n',
        },
    // the bundled GraphiQL (web/graphiql.html): no CDN; Yoga's CDN page if not built
    renderGraphiQL: (options) => graphiqlPage() ?? renderGraphiQLFromCdn(options),
    landingPage: false,
    healthCheckEndpoint: '/yoga-health',
    logging: yogaLogger(log.child({ component: 'yoga' })),
    plugins: [
      armorPlugin(),
      csrfPlugin(),
      requestContextPlugin(keys, sessions, secret, store, log),
      evaluationCostPlugin(limits),
      subscriptionCapPlugin(limits),
      metrics.yogaPlugin(),
    ],
    // the body is read, within the limit, before Yoga (graphqlBody): Yoga's own limit errors
    // its body stream, which destroys the request and resets the client's connection
    maxRequestBodySize: false,
    maskedErrors: { maskError: maskGraphqlError },
  });

  const server = createServer(async (req, res) => {
    const started = performance.now();
    log.debug({ method: req.method, url: req.url }, 'request started');
    metrics.observe(req, res, started);
    lingerAfterTooLarge(req, res);
    // a body left unread (an early 401 or 403) is read to its end and dropped, so that the
    // client gets the answer and its connection stays usable instead of being reset; a 413
    // closes the connection once the client stops sending (lingerAfterTooLarge)
    res.on('finish', () => {
      if (!req.complete && !req.destroyed) req.resume();
    });
    if (log.isLevelEnabled('info'))
      res.on('finish', () => {
        log.info(
          {
            method: req.method,
            url: req.url,
            status: res.statusCode,
            ms: Math.round(performance.now() - started),
          },
          'request',
        );
      });
    try {
      const path = (req.url ?? '/').split('?')[0];
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBodyBytes) return tooLarge(res, tooLargeMessage(maxBodyBytes, length));
      if (path === '/health') return sendJson(res, 200, { status: 'ok' });
      if (path === '/ready') return await ready(res);
      if (path === '/v1/traces') {
        return await handleOtlpTraces(req, res, {
          store,
          keys,
          log,
          maxBodyBytes,
          personFallback: options.otlpPersonFallback,
        });
      }
      if (path === '/graphql') {
        if (!(await graphqlBody(req, maxBodyBytes)))
          return tooLarge(res, tooLargeMessage(maxBodyBytes));
        return await yoga.requestListener(req, res);
      }
      if (path === METRICS_PATH && !metricsApart)
        return await handleMetrics(req, res, metrics, keys);
      if (path === BACKUP_PATH) {
        return await handleBackup(req, res, { store, keys, send: sendJson });
      }
      if (path === QUOTA_CHECK_PATH) {
        return await handleQuotaCheck(req, res, { store, keys, maxBodyBytes, send: sendJson });
      }
      if (path === WHOAMI_PATH) return await handleWhoami(req, res, { keys, send: sendJson });
      if (await handleConsole(req, res, path)) return;
      sendJson(res, 404, { error: `no route ${path}: the API is at /graphql` });
    } catch (error) {
      const extensions = (
        error as { extensions?: { code?: unknown; http?: { headers?: Record<string, string> } } }
      ).extensions;
      if (extensions?.code === 'RATE_LIMITED' && !res.headersSent) {
        return sendJson(
          res,
          429,
          { error: (error as Error).message, code: 'RATE_LIMITED' },
          extensions.http?.headers ?? {},
        );
      }
      const down = isDatabaseUnavailable(error) || extensions?.code === 'UNAVAILABLE';
      // an unreachable database is an expected condition: a warning without a stack
      if (down) log.warn({ url: req.url, reason: describe(error) }, 'database unavailable');
      else log.error({ err: error }, 'request failed');
      if (!res.headersSent) {
        sendJson(res, down ? 503 : 500, {
          error: down ? UNAVAILABLE_MESSAGE : 'unexpected error',
          code: down ? 'UNAVAILABLE' : 'INTERNAL_SERVER_ERROR',
        });
      } else res.end();
    }
  });

  async function ready(res: ServerResponse) {
    try {
      await withTimeout(ping(store), 2_000, 'database did not answer within 2 s');
      const pending = await withTimeout(
        pendingMigrations(store),
        5_000,
        'migration check timed out',
      );
      if (pending.length > 0) {
        return sendJson(res, 503, {
          status: 'unavailable',
          reason: `pending migrations: ${pending.join(', ')}`,
        });
      }
      sendJson(res, 200, { status: 'ready' });
    } catch (error) {
      log.warn({ reason: describe(error) }, 'readiness check failed');
      sendJson(res, 503, {
        status: 'unavailable',
        // the database's own words go to the log only
        reason: `database unreachable${codeOf(error)}`,
      });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, graphiql: !production }, 'quotient API listening');
  const metricsServer = metricsApart
    ? await listenMetrics(
        options.metrics?.port ?? 0,
        options.metrics?.host ?? '127.0.0.1',
        (req, res) =>
          handleMetrics(req, res, metrics, null).catch((err) => {
            log.error({ err }, 'metrics request failed');
            if (!res.headersSent) res.writeHead(500);
            res.end();
          }),
      )
    : null;

  let closing: Promise<void> | null = null;
  return {
    url,
    port: address.port,
    metricsUrl: metricsServer ? `${metricsServer.url}${METRICS_PATH}` : `${url}${METRICS_PATH}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        quotaCacheClosed = true;
        quotaCache?.stop();
        metrics.close();
        metricsServer?.server.close();
        metricsServer?.server.closeAllConnections();
        // stop accepting; in-flight requests finish; idle keep-alive sockets close now
        server.close(() => {
          // audited reads answered so far are written before close() resolves (a failed
          // write stays queued: store.close() tries again)
          const audited = auditTrailFor(store)
            .flush()
            .catch((error: unknown) => log.error({ err: error }, 'audit trail not written yet'));
          Promise.all([keys.settle(), audited]).then(() => resolve());
        });
        server.closeIdleConnections();
        const timer = setTimeout(
          () => server.closeAllConnections(),
          options.shutdownGraceMs ?? 10_000,
        );
        timer.unref();
      });
      return closing;
    },
  };
}

/** The separate /metrics listener (any path answers with the metrics). */
async function listenMetrics(
  port: number,
  host: string,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: ReturnType<typeof createServer>; url: string }> {
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` };
}

/**
 * Authenticates the caller and builds the resolver context. The request-scoped
 * EntityManager, audit writer and logger are made on first use: most queries (checkQuota
 * among them) need none of them, and each costs allocations on every request.
 */
function requestContextPlugin(
  keys: KeyAuthenticator,
  sessions: Sessions,
  secret: () => Promise<Pseudonymizer>,
  store: Store,
  log: Logger,
): Plugin<Context> {
  return {
    async onContextBuilding({ context }) {
      const request = (context as unknown as { request: Request }).request;
      const authorization = request.headers.get('authorization');
      // the console's cookie session stands in for a key when no Authorization is sent
      const session = authorization ? null : await sessions.callerFor(request);
      const token = session ? '' : bearerToken(authorization);
      if (typeof token !== 'string') throw unauthenticated(token.reason);
      const caller = session ?? (await keys.authenticate(token));
      if ('reason' in caller) throw unauthenticated(caller.reason);
      // a console session spends from its key's rate-limit bucket like the key itself
      if (session) await keys.take(caller.keyId);
      const pseudonym = await secret();
      let em: EntityManager | undefined;
      let audit: Audit | undefined;
      let child: Logger | undefined;
      // accessors on the context object itself: extendContext would copy values (forcing them)
      Object.defineProperties(context, {
        caller: { value: caller, enumerable: true, writable: true, configurable: true },
        store: { value: store, enumerable: true, writable: true, configurable: true },
        pseudonym: { value: pseudonym, enumerable: true, writable: true, configurable: true },
        em: {
          enumerable: true,
          configurable: true,
          get: () => {
            em ??= store.em();
            return em;
          },
        },
        audit: {
          enumerable: true,
          configurable: true,
          get: () => {
            em ??= store.em();
            audit ??= auditFor(store, caller);
            return audit;
          },
        },
        log: {
          enumerable: true,
          configurable: true,
          get: () => {
            child ??= log.child({ key: caller.keyId });
            return child;
          },
        },
      } satisfies Record<keyof Context, PropertyDescriptor>);
    },
  };
}

/**
 * Reads a POST body for Yoga, within the limit; false when it passed the limit. Yoga takes a
 * body already read from `req.body` (as it does behind Express's body parsers).
 */
async function graphqlBody(req: IncomingMessage, limit: number): Promise<boolean> {
  if (req.method !== 'POST') return true;
  const body = await readLimitedBody(req, limit);
  if (body === null) return false;
  (req as IncomingMessage & { body?: unknown }).body = parsedJsonBody(req, body) ?? body;
  return true;
}

/**
 * A JSON body parsed for Yoga, or null to hand it the bytes. Yoga's server adapter tells a
 * pre-read body from none by `Object.keys(body)`, which for bytes lists every byte: a
 * 1,000-row recordUsage (200 KB) cost tens of milliseconds and 200,000 strings of garbage.
 * A parsed object has a few keys and is what Yoga would parse. Anything else (not JSON,
 * malformed, not an object with keys) goes as bytes, so Yoga answers it as it always did.
 */
function parsedJsonBody(req: IncomingMessage, body: Buffer): object | null {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(graphql\+)?json\b/i.test(type)) return null;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && Object.keys(parsed).length > 0
      ? parsed
      : null;
  } catch {
    return null;
  }
}

/** A 413 in the shape of a GraphQL error (the other endpoints give their own shapes). */
function tooLarge(res: ServerResponse, message: string) {
  sendJson(res, 413, { errors: [{ message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
}

function unauthenticated(reason: string) {
  return createGraphQLError(reason, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="quotient"' } },
    },
  });
}

/** The pseudonym key is read (or created) on first use, and retried after a failure. */
function pseudonymSource(store: Store): () => Promise<Pseudonymizer> {
  let pending: Promise<Pseudonymizer> | null = null;
  return () => {
    pending ??= loadPseudonymSecret(store)
      .then(pseudonymizer)
      .catch((error) => {
        pending = null;
        if (isDatabaseUnavailable(error)) throw unavailableError(error);
        throw error;
      });
    return pending;
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  const retry =
    (status === 503 || status === 429) &&
    !Object.keys(headers).some((h) => h.toLowerCase() === 'retry-after')
      ? { 'retry-after': String(RETRY_AFTER_SECONDS) }
      : {};
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...retry,
    ...(status === 413 ? TOO_LARGE_HEADERS : {}),
    ...headers,
  });
  res.end(text);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$|^E[A-Z]+$/.test(code) ? ` (${code})` : '';
}
