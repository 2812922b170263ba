// Small pieces of SQL text shared by the store modules.
import type { Store } from './db.ts';

/** Anything that runs a statement: the store, or a transaction's client wrapper. */
export type Queryable = Pick<Store, 'query'>;

/** A timestamptz column as an ISO-8601 UTC string with milliseconds. */
export const isoText = (col: string) =>
  `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
