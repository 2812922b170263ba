// The API's own tables, registered with the store's ORM at server start (the store keeps
// its own list; other layers add theirs, as src/store/db.ts asks).
import type { Store } from '../store/db.ts';
import { ApiKeySchema, ServerSecretSchema } from '../store/entities/api-key.ts';
import { AuditEntrySchema } from '../store/entities/audit.ts';

export const apiEntities = [ApiKeySchema, ServerSecretSchema, AuditEntrySchema];

export function registerApiEntities(store: Store): void {
  const metadata = store.orm.getMetadata();
  const missing = apiEntities.filter((e) => !metadata.getByClassName(e.meta.className, false));
  if (missing.length > 0) store.orm.discoverEntity(missing);
}
