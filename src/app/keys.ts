// API keys (admin): created with a random secret shown once and stored as its SHA-256 hash,
// so a database leak reveals no usable key; revoked at once on every instance. GraphQL and
// `quotient keys` both come here, and both are audited the same way.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Store } from '../store/db.ts';
import { ApiKey } from '../store/entities/api-key.ts';
import { announceKeyRevoked } from '../store/key-revocations.ts';
import type { Session } from './caller.ts';
import { type FieldProblem, ForbiddenError, InvalidRequestError, NotFoundError } from './errors.ts';
import { can, isRole, ROLES, type Role } from './roles.ts';

export type { ApiKey };

export const KEY_PREFIX = 'qk_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export type CreatedKey = {
  id: string;
  key: string;
  name: string;
  role: Role;
  person: string | null;
};

export type KeyInput = { role: string; name: string; person?: string | null };

function problemsOf(input: KeyInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!isRole(input.role))
    problems.push({
      field: 'role',
      message: `unknown role "${input.role}": use one of ${ROLES.join(', ')}`,
    });
  if (input.role === 'member' && !input.person)
    problems.push({
      field: 'person',
      message: 'a member key is bound to one person: pass the person',
    });
  if (!input.name.trim()) problems.push({ field: 'name', message: 'a key needs a non-empty name' });
  return problems;
}

/** Creates a key without an audit entry: the bootstrap key of a new data dir, and tests. */
export async function createApiKey(em: EntityManager, input: KeyInput): Promise<CreatedKey> {
  const problems = problemsOf(input);
  if (problems.length > 0 || !isRole(input.role)) throw new InvalidRequestError(problems);
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = `k_${randomBytes(5).toString('hex')}`;
  em.create(ApiKey, {
    id,
    name: input.name.trim(),
    role: input.role,
    person: input.person ?? null,
    hash: hashKey(key),
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    createdAt: new Date(),
  });
  await em.flush();
  return { id, key, name: input.name.trim(), role: input.role, person: input.person ?? null };
}

export async function listApiKeys(em: EntityManager): Promise<ApiKey[]> {
  return em.find(ApiKey, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

/** Revocations made in this process, for key caches that do not listen on the database. */
export const revokedHere = new EventEmitter<{ revoked: [keyId: string] }>();

/**
 * Returns false when no active key has that id. Every server instance hears of the
 * revocation at once (NOTIFY on the key-revocation channel, and in this process directly),
 * so a cached key stops working everywhere without waiting for its cache entry to expire.
 */
export async function revokeApiKey(em: EntityManager, id: string): Promise<boolean> {
  const key = await em.findOne(ApiKey, { id, revokedAt: null });
  if (!key) return false;
  key.revokedAt = new Date();
  await em.flush();
  revokedHere.emit('revoked', id);
  await announceKeyRevoked(em, id);
  return true;
}

export type Keys = {
  create(session: Session, input: KeyInput): Promise<{ created: CreatedKey; apiKey: ApiKey }>;
  list(): Promise<ApiKey[]>;
  revoke(session: Session, id: string): Promise<ApiKey>;
};

function mustAdmin({ caller }: Session): void {
  if (!can(caller.role, 'admin'))
    throw new ForbiddenError(`role "${caller.role}" may not manage API keys (admin only)`);
}

export function keysFor(store: Store, em: EntityManager = store.em()): Keys {
  const find = async (id: string) => (await listApiKeys(em)).find((k) => k.id === id);
  return {
    async create(session, input) {
      mustAdmin(session);
      const { audit } = session;
      const created = await createApiKey(em, input);
      await audit.record({
        action: 'key.create',
        subject: created.id,
        detail: { role: created.role, name: created.name },
      });
      const apiKey = await find(created.id);
      if (!apiKey) throw new NotFoundError('API key', created.id);
      return { created, apiKey };
    },
    list: () => listApiKeys(em),
    async revoke(session, id) {
      mustAdmin(session);
      const { audit } = session;
      if (!(await revokeApiKey(em, id))) throw new NotFoundError('active API key', id);
      await audit.record({ action: 'key.revoke', subject: id });
      const apiKey = await find(id);
      if (!apiKey) throw new NotFoundError('API key', id);
      return apiKey;
    },
  };
}
