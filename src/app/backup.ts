// Backups: a copy of everything, names included, so taking one is a named read of the whole
// organisation and is audited (`backup.create`) before the data leaves the server.
import { dumpEmbedded } from '../store/backup.ts';
import type { Store } from '../store/db.ts';
import { writeAudit } from './audit.ts';
import type { Caller } from './caller.ts';

/** The embedded database as a gzipped tarball; the caller (null: the local token) audited. */
export async function auditedBackup(store: Store, caller: Caller | null): Promise<Buffer> {
  await writeAudit(store, caller, [{ action: 'backup.create', subject: null }]);
  return dumpEmbedded(store);
}
