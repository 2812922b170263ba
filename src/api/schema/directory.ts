// The directory: people and teams. Identities are masked below governance; governance reads
// of named individuals are audited. Nested fields go through dataloaders: a page of 50
// people with their teams and managers costs a fixed number of queries, not 1 + 50.
import { createHmac } from 'node:crypto';
import { resolveArrayConnection, resolveCursorConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import { createGraphQLError } from 'graphql-yoga';
import {
  BatchTooLargeError,
  ForbiddenError,
  MAX_BATCH_ROWS,
  NotFoundError,
} from '../../app/errors.ts';
import { seesNames } from '../../app/roles.ts';
import { ingestBatch } from '../../store/loader.ts';
import { builder } from '../builder.ts';
import { type Context, identityFor } from '../context.ts';
import { batchRows, IngestSummaryRef, toIngestSummary, withoutNulls } from './ingest-result.ts';
import { JSONResolver } from './scalars.ts';

/** Governance reads of a named person are written to the audit log before data is returned. */
async function auditPersonRead(ctx: Context, personId: string, field: string) {
  if (seesNames(ctx.caller.role) && personId !== ctx.caller.person) {
    await ctx.audit.record({ action: 'read.person', subject: personId, detail: { field } });
  }
}

// Directory rows are read with plain SQL: hydrating ORM entities cost ~6x the query itself
// for a page of 50, and these rows are only ever read here.
export type PersonRow = {
  id: string;
  name: string | null;
  teamId: string | null;
  role: string | null;
  managerId: string | null;
  optedIn: boolean;
  attributes: Record<string, unknown>;
  fromDirectory: boolean;
};
export type TeamRow = {
  id: string;
  name: string;
  parentId: string | null;
  costCenter: string | null;
  sensitivity: string;
  owner: string | null;
  fromDirectory: boolean;
};
const PERSON_COLUMNS = `id, name, team_id as "teamId", role, manager_id as "managerId",
  opted_in as "optedIn", attributes, from_directory as "fromDirectory"`;
const TEAM_COLUMNS = `id, name, parent_id as "parentId", cost_center as "costCenter", sensitivity,
  owner, from_directory as "fromDirectory"`;

async function findPerson(ctx: Context, id: string): Promise<PersonRow | null> {
  const rows = await ctx.em.execute<PersonRow[]>(
    `select ${PERSON_COLUMNS} from people where id = ?`,
    [id],
  );
  return rows[0] ?? null;
}

async function findTeam(ctx: Context, id: string): Promise<TeamRow | null> {
  const rows = await ctx.em.execute<TeamRow[]>(`select ${TEAM_COLUMNS} from teams where id = ?`, [
    id,
  ]);
  return rows[0] ?? null;
}

export const TeamRef = builder.loadableObjectRef<TeamRow, string>('Team', {
  load: async (ids, ctx: Context) => {
    const teams = await ctx.em.execute<TeamRow[]>(
      `select ${TEAM_COLUMNS} from teams where id in (?)`,
      [[...ids]],
    );
    const byId = new Map(teams.map((t) => [t.id, t]));
    return ids.map((id) => byId.get(id) ?? new NotFoundError('team', id));
  },
});

export const PersonRef = builder.loadableObjectRef<PersonRow, string>('Person', {
  load: async (ids, ctx: Context) => {
    const people = await ctx.em.execute<PersonRow[]>(
      `select ${PERSON_COLUMNS} from people where id in (?)`,
      [[...ids]],
    );
    const byId = new Map(people.map((p) => [p.id, p]));
    return ids.map((id) => byId.get(id) ?? new NotFoundError('person', id));
  },
});

PersonRef.implement({
  description:
    'A person. Below governance, `id` is a stable pseudonym and identifying fields are null; a member always sees themselves.',
  fields: (t) => ({
    id: t.string({
      description: 'The person id (usually an e-mail), or a stable pseudonym when masked.',
      resolve: async (p, _args, ctx) => {
        const shown = identityFor(ctx, p.id);
        if (!shown.masked) await auditPersonRead(ctx, p.id, 'id');
        return shown.id;
      },
    }),
    masked: t.boolean({ resolve: (p, _args, ctx) => identityFor(ctx, p.id).masked }),
    name: t.string({
      nullable: true,
      resolve: async (p, _args, ctx) => {
        if (identityFor(ctx, p.id).masked) return null;
        await auditPersonRead(ctx, p.id, 'name');
        return p.name ?? null;
      },
    }),
    role: t.string({ nullable: true, resolve: (p) => p.role ?? null }),
    optedIn: t.boolean({
      description: 'Whether the person opted in to leaderboards that require it.',
      resolve: (p) => p.optedIn,
    }),
    fromDirectory: t.boolean({
      description: 'False for people first seen in usage data, not in the directory.',
      resolve: (p) => p.fromDirectory,
    }),
    attributes: t.field({
      type: JSONResolver,
      nullable: true,
      resolve: async (p, _args, ctx) => {
        if (identityFor(ctx, p.id).masked) return null;
        await auditPersonRead(ctx, p.id, 'attributes');
        return p.attributes;
      },
    }),
    team: t.field({
      type: TeamRef,
      nullable: true,
      resolve: (p) => p.teamId,
    }),
    manager: t.field({
      type: PersonRef,
      nullable: true,
      description: 'Null when masked: the reporting line would identify people.',
      resolve: (p, _args, ctx) => {
        const managerId = p.managerId;
        if (!managerId || identityFor(ctx, p.id).masked) return null;
        return managerId;
      },
    }),
  }),
});

TeamRef.implement({
  description: 'A team in the directory.',
  fields: (t) => ({
    id: t.exposeString('id'),
    name: t.exposeString('name'),
    costCenter: t.string({ nullable: true, resolve: (team) => team.costCenter ?? null }),
    sensitivity: t.string({
      description: '`restricted` teams (legal, HR, security) are left off public boards.',
      resolve: (team) => team.sensitivity,
    }),
    fromDirectory: t.boolean({ resolve: (team) => team.fromDirectory }),
    owner: t.string({
      nullable: true,
      description: 'The owner person id, masked below governance.',
      resolve: async (team, _args, ctx) => {
        if (!team.owner) return null;
        const shown = identityFor(ctx, team.owner);
        if (!shown.masked) await auditPersonRead(ctx, team.owner, 'team.owner');
        return shown.id;
      },
    }),
    parent: t.field({ type: TeamRef, nullable: true, resolve: (team) => team.parentId }),
    children: t.connection({
      type: TeamRef,
      resolve: async (team, args, ctx) =>
        resolveArrayConnection({ args }, await teamChildren(ctx).load(team.id)),
    }),
    members: t.connection({
      type: PersonRef,
      description: 'People in this team (masked below governance).',
      resolve: async (team, args, ctx) =>
        resolveArrayConnection({ args, maxSize: 500 }, await teamMembers(ctx).load(team.id)),
    }),
  }),
});

// Per-request group loaders: every requested team's members (or children) in one query.
const groupLoaders = new WeakMap<Context, Map<string, DataLoader<string, string[]>>>();

function groupLoader(ctx: Context, name: string, sql: string): DataLoader<string, string[]> {
  let loaders = groupLoaders.get(ctx);
  if (!loaders) {
    loaders = new Map();
    groupLoaders.set(ctx, loaders);
  }
  let loader = loaders.get(name);
  if (!loader) {
    loader = new DataLoader<string, string[]>(async (keys) => {
      const rows = await ctx.em.execute<{ key: string; id: string }[]>(sql, [[...keys]]);
      const grouped = new Map<string, string[]>();
      for (const row of rows) {
        const list = grouped.get(row.key) ?? [];
        list.push(row.id);
        grouped.set(row.key, list);
      }
      return keys.map((k) => grouped.get(k) ?? []);
    });
    loaders.set(name, loader);
  }
  return loader;
}

const teamMembers = (ctx: Context) =>
  groupLoader(
    ctx,
    'members',
    'select team_id as key, id from people where team_id in (?) order by id',
  );
const teamChildren = (ctx: Context) =>
  groupLoader(
    ctx,
    'children',
    'select parent_id as key, id from teams where parent_id in (?) order by id',
  );

// ---------- queries ----------

const encode = (s: string) => Buffer.from(s).toString('base64url');
const decode = (s: string | undefined) =>
  s === undefined ? undefined : Buffer.from(s, 'base64url').toString();

/**
 * Key-set pages of people. Named callers page in id order; masked callers page in the order
 * of a keyed hash of the id, so neither cursors nor order reveal who is who.
 */
async function pagePeople(
  ctx: Context,
  filter: { team?: string | null },
  page: { before?: string; after?: string; limit: number; inverted: boolean },
): Promise<{ id: string; cursor: string }[]> {
  const masked = !seesNames(ctx.caller.role);
  const salt = masked ? pageSeed(ctx) : '';
  // hashtextextended is PostgreSQL's built-in seeded 64-bit hash: far cheaper than md5
  const key = masked ? 'hashtextextended(id, ?::bigint)' : 'id';
  const where: string[] = [];
  const params: unknown[] = [];
  if (masked) params.push(salt);
  if (filter.team) {
    where.push('team_id = ?');
    params.push(filter.team);
  }
  const after = decode(page.after);
  const before = decode(page.before);
  for (const cursor of [after, before]) {
    if (masked && cursor !== undefined && !/^-?\d{1,19}$/.test(cursor)) {
      throw createGraphQLError('invalid cursor: use a cursor returned by this connection', {
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
  }
  if (after !== undefined) {
    where.push(`${key} > ?${masked ? '::bigint' : ''}`);
    if (masked) params.push(salt);
    params.push(after);
  }
  if (before !== undefined) {
    where.push(`${key} < ?${masked ? '::bigint' : ''}`);
    if (masked) params.push(salt);
    params.push(before);
  }
  params.push(page.limit);
  const rows = await ctx.em.execute<{ id: string; k: string | number }[]>(
    `select id, ${key} as k from people ${where.length ? `where ${where.join(' and ')}` : ''}
     order by k ${page.inverted ? 'desc' : 'asc'} limit ?`,
    params,
  );
  return rows.map((r) => ({ id: r.id, cursor: encode(String(r.k)) }));
}

/** A secret 64-bit seed derived from the pseudonym key: stable, unknown to clients. */
function pageSeed(ctx: Context): string {
  const digest = createHmac('sha256', ctx.pseudonym('\u0000page-order'))
    .update('order')
    .digest('hex');
  return BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`)).toString();
}

builder.queryFields((t) => ({
  people: t.connection({
    type: PersonRef,
    authScopes: { readDirectory: true },
    description: 'People in the directory, masked below governance.',
    args: { team: t.arg.string({ required: false, description: 'Only this team.' }) },
    resolve: async (_root, args, ctx) => {
      const cursors = new Map<string, string>();
      return resolveCursorConnection<Promise<string[]>>(
        { args, toCursor: (id: string) => cursors.get(id) ?? '', defaultSize: 50, maxSize: 500 },
        async (page) => {
          const rows = await pagePeople(ctx, { team: args.team }, page);
          for (const r of rows) cursors.set(r.id, r.cursor);
          return rows.map((r) => r.id);
        },
      );
    },
  }),
  person: t.field({
    type: PersonRef,
    authScopes: { readDirectory: true },
    description:
      'One person by id. Governance and admin may ask for anyone (audited); a member only for themselves.',
    args: { id: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError, ForbiddenError] },
    resolve: async (_root, args, ctx) => {
      if (!seesNames(ctx.caller.role) && args.id !== ctx.caller.person) {
        throw new ForbiddenError(
          `role "${ctx.caller.role}" sees other people only masked, through \`people\`; ` +
            'looking someone up by id needs a governance key',
        );
      }
      const found = await findPerson(ctx, args.id);
      if (!found) throw new NotFoundError('person', args.id);
      return found;
    },
  }),
  teams: t.connection({
    type: TeamRef,
    authScopes: { readDirectory: true },
    description: 'Teams, in id order.',
    args: { parent: t.arg.string({ required: false, description: 'Only children of this team.' }) },
    resolve: (_root, args, ctx) =>
      resolveCursorConnection<Promise<TeamRow[]>>(
        { args, toCursor: (team: TeamRow) => encode(team.id), defaultSize: 50, maxSize: 500 },
        async ({ before, after, limit, inverted }) => {
          const where: string[] = [];
          const params: unknown[] = [];
          if (after) {
            where.push('id > ?');
            params.push(decode(after));
          }
          if (before) {
            where.push('id < ?');
            params.push(decode(before));
          }
          if (args.parent) {
            where.push('parent_id = ?');
            params.push(args.parent);
          }
          params.push(limit);
          return ctx.em.execute<TeamRow[]>(
            `select ${TEAM_COLUMNS} from teams ${where.length ? `where ${where.join(' and ')}` : ''}
             order by id ${inverted ? 'desc' : 'asc'} limit ?`,
            params,
          );
        },
      ),
  }),
  team: t.field({
    type: TeamRef,
    authScopes: { readDirectory: true },
    args: { id: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError] },
    resolve: async (_root, args, ctx) => {
      const found = await findTeam(ctx, args.id);
      if (!found) throw new NotFoundError('team', args.id);
      return found;
    },
  }),
}));

// ---------- mutations ----------

const Sensitivity = builder.enumType('Sensitivity', { values: ['normal', 'restricted'] as const });

const TeamInput = builder.inputType('TeamInput', {
  description: 'A team, as in the native `team` record.',
  fields: (t) => ({
    team: t.string({ required: false, description: 'The team id (slug), e.g. "platform".' }),
    name: t.string({ required: false }),
    parent: t.string({ required: false }),
    costCenter: t.string({ required: false }),
    sensitivity: t.field({ type: Sensitivity, required: false }),
    owner: t.string({ required: false }),
  }),
});

const PersonInput = builder.inputType('PersonInput', {
  description: 'A person, as in the native `person` record.',
  fields: (t) => ({
    person: t.string({ required: false, description: 'The person id, usually an e-mail.' }),
    name: t.string({ required: false }),
    team: t.string({ required: false }),
    role: t.string({ required: false }),
    manager: t.string({ required: false }),
    optedIn: t.boolean({ required: false }),
    attributes: t.field({ type: JSONResolver, required: false }),
  }),
});

builder.mutationFields((t) => ({
  upsertDirectory: t.field({
    type: IngestSummaryRef,
    authScopes: { writeDirectory: true },
    description:
      'Create or update teams and people (at most 5,000 rows in all). Results list teams first, then people, in input order.',
    args: {
      teams: t.arg({ type: [TeamInput], required: false }),
      people: t.arg({ type: [PersonInput], required: false }),
    },
    errors: { types: [BatchTooLargeError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const teams = args.teams ?? [];
      const people = args.people ?? [];
      const total = teams.length + people.length;
      if (total > MAX_BATCH_ROWS) throw new BatchTooLargeError(total);
      const rows = [
        ...teams.map((team) => ({
          type: 'team',
          ...withoutNulls({
            team: team.team,
            name: team.name,
            parent: team.parent,
            cost_center: team.costCenter,
            sensitivity: team.sensitivity,
            owner: team.owner,
          }),
        })),
        ...people.map((person) => ({
          type: 'person',
          ...withoutNulls({
            person: person.person,
            name: person.name,
            team: person.team,
            role: person.role,
            manager: person.manager,
            opted_in: person.optedIn,
            attributes: person.attributes,
          }),
        })),
      ];
      return toIngestSummary(ctx, await ingestBatch(ctx.store, batchRows(rows), { source: 'api' }));
    },
  }),
  setLeaderboardOptIn: t.field({
    type: PersonRef,
    authScopes: { self: true },
    description:
      "Opt a person in or out of leaderboards that require opt-in. Members change their own; governance anyone's.",
    args: {
      optedIn: t.arg.boolean({ required: true }),
      person: t.arg.string({ required: false, description: "Defaults to the key's own person." }),
    },
    errors: { types: [NotFoundError, ForbiddenError] },
    resolve: async (_root, args, ctx) => {
      const target = args.person ?? ctx.caller.person;
      if (!target) throw new ForbiddenError('this key is bound to no person: pass `person`');
      if (target !== ctx.caller.person && !seesNames(ctx.caller.role)) {
        throw new ForbiddenError('a member may change only their own opt-in');
      }
      const updated = await ctx.em.execute<PersonRow[]>(
        `update people set opted_in = ?, updated_at = now() where id = ? returning ${PERSON_COLUMNS}`,
        [args.optedIn, target],
      );
      const found = updated[0];
      if (!found) throw new NotFoundError('person', target);
      await ctx.audit.record({
        action: 'person.opt_in',
        subject: target,
        detail: { optedIn: args.optedIn },
      });
      return found;
    },
  }),
}));
