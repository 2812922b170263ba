// The audit log writer. Reads of named individual data by governance roles, policy
// activations and key changes are recorded before the data is returned. Entries made in the
// same tick are written in one INSERT, so a list of 50 people costs one statement, not 50.
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { Caller } from './auth.ts';

export type AuditInput = {
  action: string;
  subject: string | null;
  detail?: Record<string, unknown>;
};

export type Audit = { record(entry: AuditInput): Promise<void> };

export function auditFor(em: EntityManager, caller: Caller | null): Audit {
  // the same action on the same subject is recorded once per request
  const loader = new DataLoader<AuditInput, true, string>(
    async (entries) => {
      await writeAudit(em, caller, entries);
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

export async function writeAudit(
  em: EntityManager,
  caller: Caller | null,
  entries: readonly AuditInput[],
): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [];
  const values = entries.map((e) => {
    params.push(
      caller?.keyId ?? null,
      caller?.role ?? 'local',
      e.action,
      e.subject,
      JSON.stringify(e.detail ?? {}),
    );
    return '(?, ?, ?, ?, ?::jsonb)';
  });
  await em.execute(
    `insert into audit_log (actor, role, action, subject, detail) values ${values.join(', ')}`,
    params,
    'run',
  );
}
