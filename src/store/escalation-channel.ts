// Escalations across instances: LISTEN/NOTIFY on one channel carrying escalation ids.
import pg from 'pg';
import type { Store } from './db.ts';

export const ESCALATION_CHANNEL = 'quotient_escalation_raised';

/** Tells every listening instance about these new escalations. */
export async function notifyEscalations(store: Store, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await store.query(`select pg_notify('${ESCALATION_CHANNEL}', id) from unnest($1::text[]) as id`, [
    [...ids],
  ]);
}

export type Listener = { close(): Promise<void> };

/**
 * Opens a dedicated connection that LISTENs on the channel and hands each id to `onId`;
 * `onLost` runs when the connection ends or fails (the caller opens a new one when needed).
 */
export async function listenEscalations(
  store: Store,
  onId: (id: string) => void,
  onLost: () => void,
): Promise<Listener> {
  const client = new pg.Client({ connectionString: store.url });
  client.on('error', onLost);
  client.on('end', onLost);
  client.on('notification', (message) => {
    if (message.payload) onId(message.payload);
  });
  await client.connect();
  await client.query(`listen ${ESCALATION_CHANNEL}`);
  return { close: () => client.end().catch(() => {}) };
}
