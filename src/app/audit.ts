// The audit trail of one request: reads of named individual data by governance roles,
// decisions, policy activations and key changes are recorded before the data is returned.
// Entries made in the same tick are written in one INSERT, so a list of 50 people costs
// one statement, not 50; the same action on the same subject is recorded once per request.
import DataLoader from 'dataloader';
import { appendAudit } from '../store/audit.ts';
import type { Store } from '../store/db.ts';
import type { Caller } from './caller.ts';

export type AuditInput = {
  action: string;
  subject: string | null;
  detail?: Record<string, unknown>;
};

export type Audit = { record(entry: AuditInput): Promise<void> };

export function auditFor(store: Pick<Store, 'query'>, caller: Caller | null): Audit {
  const loader = new DataLoader<AuditInput, true, string>(
    async (entries) => {
      await writeAudit(store, caller, entries);
      return entries.map(() => true as const);
    },
    { cacheKeyFn: (e) => `${e.action}\u0000${e.subject ?? ''}` },
  );
  return {
    async record(entry) {
      await loader.load(entry);
    },
  };
}

export function writeAudit(
  store: Pick<Store, 'query'>,
  caller: Pick<Caller, 'keyId' | 'role'> | null,
  entries: readonly AuditInput[],
): Promise<void> {
  return appendAudit(
    store,
    entries.map((e) => ({
      actor: caller?.keyId ?? null,
      role: caller?.role ?? 'local',
      action: e.action,
      subject: e.subject,
      detail: e.detail ?? {},
    })),
  );
}
