// GET /admin/backup: the running server's embedded database as a gzipped tarball, for
// `quotient backup` while the server holds the data directory. An admin API key, or the
// local token `quotient serve` writes into the data directory (it authenticates as an
// admin: readable only by whoever can read the database files anyway), may ask for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { auditedBackup } from '../app/backup.ts';
import type { Store } from '../store/db.ts';
import { bearerToken, type Caller } from './auth.ts';

export const BACKUP_PATH = '/admin/backup';

export async function handleBackup(
  req: IncomingMessage,
  res: ServerResponse,
  deps: {
    store: Store;
    keys: { authenticate(token: string): Promise<Caller | { reason: string }> };
    send: (res: ServerResponse, status: number, body: unknown) => void;
  },
): Promise<void> {
  const { send } = deps;
  if (req.method !== 'GET') return send(res, 405, { error: `${BACKUP_PATH} takes GET` });
  const token = bearerToken(req.headers.authorization ?? null);
  if (typeof token !== 'string') return send(res, 401, { error: token.reason });
  const caller = await deps.keys.authenticate(token);
  if ('reason' in caller) return send(res, 401, { error: caller.reason });
  if (caller.role !== 'admin')
    return send(res, 403, { error: `backups take an admin key, not a ${caller.role} key` });
  if (!deps.store.pglite)
    return send(res, 409, {
      error: 'this server uses PostgreSQL (DATABASE_URL): back it up with pg_dump',
      code: 'NOT_EMBEDDED',
    });
  const body = await auditedBackup(deps.store, caller);
  res.writeHead(200, {
    'content-type': 'application/gzip',
    'content-length': body.length,
    'content-disposition': 'attachment; filename="quotient-backup.tar.gz"',
  });
  res.end(body);
}
