// Key revocations as they happen, for the API's key caches: LISTEN on the channel that
// revokeApiKey notifies (src/api/auth.ts), so every instance on one database evicts a
// revoked key at once.
import type { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Store } from './db.ts';

/** The PostgreSQL channel on which a revoked key's id is announced to every instance. */
export const KEY_REVOKED_CHANNEL = 'quotient_api_key_revoked';

/** Announces a revoked key to every instance listening on the database. */
export async function announceKeyRevoked(
  em: { execute(sql: string, params: unknown[]): Promise<unknown> },
  keyId: string,
): Promise<void> {
  await em.execute('select pg_notify(?, ?)', [KEY_REVOKED_CHANNEL, keyId]);
}

/**
 * Tells this instance of every key revocation: those made in this process directly, and
 * those of other instances (or `quotient keys revoke`) through LISTEN on the database. A
 * lost listening connection may have missed some: the cache is then cleared, and the
 * connection made again.
 */
export function keyRevocationFeed(
  store: Store,
  revokedHere: EventEmitter<{ revoked: [keyId: string] }>,
  revoked: (keyId: string) => void,
  missedSome: () => void,
  log: { warn: (fields: object, message: string) => void },
): { close(): Promise<void> } {
  revokedHere.on('revoked', revoked);
  let closed = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  // the embedded database has one instance, in this process: nothing else can revoke
  const listen = async () => {
    if (closed || store.embedded) return;
    const next = new pg.Client({ connectionString: store.url, keepAlive: true });
    const lost = (error?: Error) => {
      if (client !== next) return;
      client = null;
      next.removeAllListeners();
      next.end().catch(() => {});
      if (closed) return;
      if (error) log.warn({ reason: error.message }, 'key revocation feed lost; reconnecting');
      missedSome();
      retry = setTimeout(() => void listen(), 1_000);
      retry.unref();
    };
    client = next;
    next.on('notification', (message) => {
      if (message.channel === KEY_REVOKED_CHANNEL && message.payload) revoked(message.payload);
    });
    next.on('error', lost);
    next.on('end', () => lost(new Error('connection ended')));
    try {
      await next.connect();
      await next.query(`listen ${KEY_REVOKED_CHANNEL}`);
      // revocations between the lost connection and this one: forget every cached key
      missedSome();
    } catch (error) {
      lost(error as Error);
    }
  };
  void listen();
  return {
    async close() {
      closed = true;
      revokedHere.off('revoked', revoked);
      if (retry) clearTimeout(retry);
      const last = client;
      client = null;
      await last?.end().catch(() => {});
    },
  };
}
