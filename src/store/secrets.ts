// Secrets every API instance shares (the pseudonym key), created once in the database, and
// the small statements the transports need (health, key count) kept here with the SQL.
import { randomBytes } from 'node:crypto';
import type { Queryable } from './sql-text.ts';

/** The named secret, created on first use; concurrent instances agree on one value. */
export async function sharedSecret(db: Queryable, name: string): Promise<Buffer> {
  await db.query(
    'insert into server_secrets (name, value, created_at) values ($1, $2, now()) on conflict do nothing',
    [name, randomBytes(32).toString('base64')],
  );
  const rows = await db.query<{ value: string }>(
    'select value from server_secrets where name = $1',
    [name],
  );
  return Buffer.from(rows[0].value, 'base64');
}

/** One trivial statement: does the database answer? */
export async function ping(db: Queryable): Promise<void> {
  await db.query('select 1');
}

/** API keys not revoked. */
export async function activeKeyCount(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: string }>(
    'select count(*)::text as n from api_keys where revoked_at is null',
  );
  return Number(rows[0]?.n ?? 0);
}
