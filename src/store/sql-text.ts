// Small pieces of SQL text shared by the store modules.
import type { Store } from './db.ts';

/** Anything that runs a statement: the store, or a transaction's client wrapper. */
export type Queryable = Pick<Store, 'query'>;

/** A timestamptz column as an ISO-8601 UTC string with milliseconds. */
export const isoText = (col: string) =>
  `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A transaction's client as a Queryable, so store functions run inside the transaction. */
export function queryableOf(client: {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}): Queryable {
  return {
    query: async <Row extends Record<string, unknown>>(text: string, params?: unknown[]) =>
      (await client.query(text, params)).rows as Row[],
  } as Queryable;
}
