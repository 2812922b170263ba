// Bearer API keys checked against api_keys, with a cache so that a busy key costs no
// database read per request. A validated key is trusted for `ttlMs`; in the last part of
// that time a request that uses it starts one lookup in the background (one per key at a
// time) and is answered from the cache, so a key in steady use never makes a request wait
// for the database. A revocation anywhere evicts the key at once (keyRevocationFeed), and a
// lookup that was under way when it came is not cached.
import { timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { localCaller } from '../app/caller.ts';
import type { Store } from '../store/db.ts';
import { keyRevocationFeed } from '../store/key-revocations.ts';
import { type Caller, findCaller, revokedHere, touchApiKey } from './auth.ts';
import { unavailableError } from './graphql-errors.ts';
import type { RateLimiter } from './limits.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

export type KeyAuthenticator = {
  authenticate(token: string): Promise<Caller | { reason: string }>;
  /** takes one request from a key's rate-limit bucket (callers that came with a session) */
  take(keyId: string): Promise<void>;
  /** waits for pending last-used writes and stops listening for revocations (on shutdown) */
  settle(): Promise<void>;
};

export type KeyAuthenticatorOptions = {
  /** how long a validated key is trusted */
  ttlMs: number;
  limiter: RateLimiter;
  log: Logger;
  /** told of every revoked key (undefined: any key may have been revoked) */
  alsoForget: (keyId?: string) => void;
  localToken: string | null;
  /** the clock, ms (tests) */
  now?: () => number;
  /** finds the caller of a key (tests count the lookups) */
  lookup?: (em: EntityManager, token: string) => Promise<Caller | { reason: string }>;
};

/** Who the command line on this machine is, when it sends the server's local token. */
const LOCAL_CALLER = localCaller('through the server');

/** How long a failed key lookup is remembered: a repeated bogus key costs no database read. */
const FAILED_KEY_CACHE_MS = 30_000;
const KEY_CACHE_ENTRIES = 10_000;
/** The part of a key's trusted time in which a use revalidates it in the background. */
const REFRESH_AHEAD_FRACTION = 0.2;

type Entry = { caller: Caller; until: number; refreshing: boolean };

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function keyAuthenticator(store: Store, options: KeyAuthenticatorOptions): KeyAuthenticator {
  const { ttlMs, limiter, log, alsoForget, localToken } = options;
  const clock = options.now ?? Date.now;
  const lookup = options.lookup ?? findCaller;
  const refreshAheadMs = ttlMs * REFRESH_AHEAD_FRACTION;
  const cache = new Map<string, Entry>();
  const failed = new Map<string, { result: { reason: string }; until: number }>();
  const touched = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  // counts evictions: a lookup that began before one may have read the key before its
  // revocation, so what it found is not cached
  let evictions = 0;
  const feed = keyRevocationFeed(
    store,
    revokedHere,
    (keyId) => {
      evictions++;
      for (const [token, entry] of cache) if (entry.caller.keyId === keyId) cache.delete(token);
      alsoForget(keyId);
    },
    () => {
      evictions++;
      cache.clear();
      alsoForget();
    },
    log,
  );

  async function find(token: string): Promise<Caller | { reason: string }> {
    try {
      return await lookup(store.em(), token);
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw unavailableError(error);
      throw error;
    }
  }

  /** Caches what a lookup begun at `startedAt` (after `seen` evictions) found. */
  function remember(
    token: string,
    result: Caller | { reason: string },
    startedAt: number,
    seen: number,
  ) {
    if ('reason' in result) {
      cache.delete(token);
      if (failed.size >= KEY_CACHE_ENTRIES) failed.clear();
      failed.set(token, { result, until: startedAt + FAILED_KEY_CACHE_MS });
      return;
    }
    if (ttlMs <= 0 || seen !== evictions) return;
    if (cache.size >= KEY_CACHE_ENTRIES) cache.clear();
    cache.set(token, { caller: result, until: startedAt + ttlMs, refreshing: false });
  }

  /** last_used_at at most once a minute per key, off the request path */
  function touch(keyId: string, now: number) {
    if ((touched.get(keyId) ?? 0) >= now - 60_000) return;
    touched.set(keyId, now);
    // tracked like the revalidations, so that shutdown waits for it before the store closes
    const p: Promise<void> = touchApiKey(store.em(), keyId)
      .catch((err) => log.warn({ err }, 'could not record key use'))
      .finally(() => pending.delete(p));
    pending.add(p);
  }

  function refreshAhead(token: string, entry: Entry) {
    entry.refreshing = true;
    const startedAt = clock();
    const seen = evictions;
    const p = find(token)
      .then((result) => {
        // evicted meanwhile (revoked): the eviction stands
        if (cache.get(token) !== entry) return;
        remember(token, result, startedAt, seen);
      })
      .catch((err) => {
        // the cached key serves until it expires; the request after that looks it up itself
        entry.refreshing = false;
        log.warn({ err }, 'could not revalidate a cached API key');
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }

  return {
    take: (keyId) => limiter.take(keyId),
    async settle() {
      await Promise.allSettled([...pending]);
      await feed.close();
    },
    async authenticate(token) {
      if (localToken && sameToken(token, localToken)) return LOCAL_CALLER;
      const now = clock();
      const hit = cache.get(token);
      if (hit && hit.until > now) {
        if (!hit.refreshing && hit.until - now <= refreshAheadMs) refreshAhead(token, hit);
        touch(hit.caller.keyId, now);
        await limiter.take(hit.caller.keyId);
        return hit.caller;
      }
      const miss = failed.get(token);
      if (miss && miss.until > now) return miss.result;
      const seen = evictions;
      const result = await find(token);
      remember(token, result, now, seen);
      if ('reason' in result) return result;
      touch(result.keyId, now);
      await limiter.take(result.keyId);
      return result;
    },
  };
}
