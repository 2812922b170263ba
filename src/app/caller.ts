// Who is asking: every use case takes the caller as a plain input and decides from its role.
import type { Audit } from './audit.ts';
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
