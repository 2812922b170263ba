// Who is asking: every use case takes the caller as a plain input and decides from its role.
import type { Store } from '../store/db.ts';
import { type Audit, auditFor } from './audit.ts';
import type { Role } from './roles.ts';

export type Caller = {
  keyId: string;
  name: string;
  role: Role;
  /** the person a member key is bound to (optional for other roles) */
  person: string | null;
};

/** What a use case needs of a request: who asks, and where its audit entries go. */
export type Session = { caller: Caller; audit: Audit };

/**
 * Whoever runs `quotient` where the database is: an operator with admin rights (they hold
 * the data dir or the database URL).
 */
export const LOCAL_KEY_ID = 'local';

export function localCaller(command: string): Caller {
  return { keyId: LOCAL_KEY_ID, name: `quotient ${command}`, role: 'admin', person: null };
}

/** A use case's session for a local command: the local operator, audited as role `local`. */
export function localSession(store: Store, command: string): Session {
  return { caller: localCaller(command), audit: auditFor(store, null) };
}
