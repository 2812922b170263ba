// COPY FROM STDIN for the bulk loader: PostgreSQL writes COPY rows in batches (one WAL
// record and one page lock per batch), several times cheaper than INSERT … SELECT. The
// embedded PGlite cannot take COPY over its socket, so callers there use plain INSERTs.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SPECIAL = /[\\\t\n\r]/;

/** One field in COPY's text format: `\N` for null, with backslash, tab and newlines escaped. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  if (!SPECIAL.test(value)) return value;
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
}

/** Streams `text` (rows in COPY text format, each ending in a newline) into `table`. */
export async function copyInto(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  text: string,
): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  await pipeline(Readable.from([text]), stream);
}
