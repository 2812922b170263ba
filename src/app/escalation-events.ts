// New escalations as events: an in-process fan-out, relayed between instances on a
// PostgreSQL server by LISTEN/NOTIFY (the embedded database serves one process, so there
// they are published in-process only). The escalationRaised subscription reads these.
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { Store } from '../store/db.ts';
import {
  type Listener,
  listenEscalations,
  notifyEscalations,
} from '../store/escalation-channel.ts';
import { type EscalationRow, getEscalation } from '../store/escalations.ts';
import { perStore } from './per-store.ts';

/** Events one subscriber has not read yet; past this, its oldest are dropped. */
export const SUBSCRIBER_BUFFER = 1024;

export type EscalationEvents = {
  /** Hands a row to this process's subscribers only. */
  publish(row: EscalationRow): void;
  /** Publishes escalations this instance just recorded (and relays them to the others). */
  announce(rows: readonly EscalationRow[]): Promise<void>;
  /** New escalations from now on, recorded by any instance. */
  subscribe(): Promise<AsyncIterableIterator<EscalationRow>>;
  /** Stops the LISTEN connection, if one was opened. */
  close(): Promise<void>;
};

export const escalationEventsFor = perStore(createEscalationEvents);

/** A fan-out of its own (tests); escalationEventsFor shares one per store. */
export function createEscalationEvents(store: Store): EscalationEvents {
  // Each subscriber gets its own sliding buffer: a slow client loses its own oldest events
  // instead of growing memory without bound, and never takes events from another.
  const listeners = new Set<(row: EscalationRow) => void>();
  const publish = (row: EscalationRow) => {
    for (const listener of listeners) listener(row);
  };
  const relayed = !store.embedded;
  let listening: Promise<Listener> | null = null;

  function listen(): Promise<Listener> {
    listening ??= listenEscalations(
      store,
      (id) => {
        getEscalation(store, id)
          .then((row) => {
            if (row) publish(row);
          })
          .catch(() => {});
      },
      () => {
        listening = null;
      },
    ).catch((error) => {
      listening = null;
      throw error;
    });
    return listening;
  }

  return {
    publish,
    async announce(rows) {
      if (!relayed) for (const row of rows) publish(row);
      else
        await notifyEscalations(
          store,
          rows.map((row) => row.id),
        );
    },
    async subscribe() {
      const events = new Repeater<EscalationRow>((push, stop) => {
        const listener = (row: EscalationRow) => {
          push(row).catch(() => {});
        };
        listeners.add(listener);
        stop.then(() => listeners.delete(listener));
      }, new SlidingBuffer(SUBSCRIBER_BUFFER));
      if (relayed) await listen();
      return events;
    },
    async close() {
      const pending = listening;
      listening = null;
      if (pending) await (await pending.catch(() => null))?.close();
    },
  };
}
