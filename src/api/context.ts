// What every resolver sees: the authenticated caller, a request-scoped EntityManager, and the
// services that keep privacy rules (pseudonyms, audit) out of individual resolvers.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Audit } from '../app/audit.ts';
import type { Session } from '../app/caller.ts';
import { seesNames } from '../app/roles.ts';
import type { Store } from '../store/db.ts';
import type { Caller, Pseudonymizer } from './auth.ts';

export type Context = {
  caller: Caller;
  /** forked per request: its identity map never leaks between requests */
  em: EntityManager;
  store: Store;
  pseudonym: Pseudonymizer;
  audit: Audit;
  log: Logger;
};

/**
 * How a person id is shown to this caller: the real id for governance and admin (and a
 * member's own id), a stable pseudonym for everyone else.
 */
export function identityFor(ctx: Context, personId: string): { id: string; masked: boolean } {
  if (seesNames(ctx.caller.role) || personId === ctx.caller.person) {
    return { id: personId, masked: false };
  }
  return { id: ctx.pseudonym(personId), masked: true };
}

/** What a use case needs of the request: who asks, and the request's audit trail. */
export function sessionOf(ctx: Context): Session {
  return { caller: ctx.caller, audit: ctx.audit };
}
