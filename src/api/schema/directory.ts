// The directory: people and teams. Identities are masked below governance; governance reads
// of named individuals are audited. Nested fields go through dataloaders: a page of 50
// people with their teams and managers costs a fixed number of queries, not 1 + 50.
import { resolveArrayConnection, resolveCursorConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import { createGraphQLError } from 'graphql-yoga';
import { directoryFor, type PersonRow, type TeamRow } from '../../app/directory.ts';
import {
  BatchTooLargeError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
} from '../../app/errors.ts';
import { seesNames } from '../../app/roles.ts';
import { builder } from '../builder.ts';
import { type Context, identityFor, sessionOf } from '../context.ts';
import { ROWS_CHECK_TEXT } from '../text-arguments.ts';
import { IngestSummaryRef, toIngestSummary } from './ingest-result.ts';
import { JSONResolver } from './scalars.ts';

/** Governance reads of a named person are written to the audit log before data is returned. */
async function auditPersonRead(ctx: Context, personId: string, field: string) {
  if (seesNames(ctx.caller.role) && personId !== ctx.caller.person) {
    await ctx.audit.record({ action: 'read.person', subject: personId, detail: { field } });
  }
}

export type { PersonRow, TeamRow };

export const TeamRef = builder.loadableObjectRef<TeamRow, string>('Team', {
  load: (ids, ctx: Context) => directoryFor(ctx.store).teams(sessionOf(ctx), ids),
});

export const PersonRef = builder.loadableObjectRef<PersonRow, string>('Person', {
  load: (ids, ctx: Context) => directoryFor(ctx.store).people(sessionOf(ctx), ids),
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
      nullable: true,
      description:
        'Whether the person opted in to leaderboards that require it (null when masked: consent is personal).',
      resolve: (p, _args, ctx) => (identityFor(ctx, p.id).masked ? null : p.optedIn),
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
      description:
        'The owner person id; null below governance (an owner is one known person, so even a pseudonym would name them).',
      resolve: async (team, _args, ctx) => {
        if (!team.owner) return null;
        const shown = identityFor(ctx, team.owner);
        if (shown.masked) return null;
        await auditPersonRead(ctx, team.owner, 'team.owner');
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

function groupLoader(ctx: Context, name: 'members' | 'children'): DataLoader<string, string[]> {
  let loaders = groupLoaders.get(ctx);
  if (!loaders) {
    loaders = new Map();
    groupLoaders.set(ctx, loaders);
  }
  let loader = loaders.get(name);
  if (!loader) {
    const directory = directoryFor(ctx.store);
    loader = new DataLoader<string, string[]>((keys) =>
      name === 'members'
        ? directory.members(sessionOf(ctx), keys)
        : directory.children(sessionOf(ctx), keys),
    );
    loaders.set(name, loader);
  }
  return loader;
}

const teamMembers = (ctx: Context) => groupLoader(ctx, 'members');
const teamChildren = (ctx: Context) => groupLoader(ctx, 'children');

const encode = (s: string) => Buffer.from(s).toString('base64url');

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
          const rows = await directoryFor(ctx.store)
            .pagePeople(sessionOf(ctx), { team: args.team }, page)
            .catch((error) => {
              // connections carry no error union: a bad cursor is a plain user-input error
              if (error instanceof InvalidRequestError)
                throw createGraphQLError(error.problems[0]?.message ?? error.message, {
                  extensions: { code: 'BAD_USER_INPUT' },
                });
              throw error;
            });
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
    resolve: (_root, args, ctx) => directoryFor(ctx.store).person(sessionOf(ctx), args.id),
  }),
  teams: t.connection({
    type: TeamRef,
    authScopes: { readDirectory: true },
    description: 'Teams, in id order.',
    args: { parent: t.arg.string({ required: false, description: 'Only children of this team.' }) },
    resolve: (_root, args, ctx) =>
      resolveCursorConnection<Promise<TeamRow[]>>(
        { args, toCursor: (team: TeamRow) => encode(team.id), defaultSize: 50, maxSize: 500 },
        (page) => directoryFor(ctx.store).pageTeams(sessionOf(ctx), { parent: args.parent }, page),
      ),
  }),
  team: t.field({
    type: TeamRef,
    authScopes: { readDirectory: true },
    args: { id: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError] },
    resolve: (_root, args, ctx) => directoryFor(ctx.store).team(sessionOf(ctx), args.id),
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
      "Create or update teams and people (at most 5,000 rows in all). Each row is a patch: a field left out keeps its stored value. Changing an existing person's team or opt-in, or a team's sensitivity, needs a governance key and is audited. Results list teams first, then people, in input order.",
    args: {
      teams: t.arg({ type: [TeamInput], required: false }),
      people: t.arg({ type: [PersonInput], required: false }),
    },
    errors: { types: [BatchTooLargeError], directResult: true },
    extensions: ROWS_CHECK_TEXT,
    resolve: async (_root, args, ctx) =>
      toIngestSummary(
        ctx,
        await directoryFor(ctx.store).upsert(sessionOf(ctx), {
          teams: args.teams ?? [],
          people: args.people ?? [],
        }),
      ),
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
    resolve: (_root, args, ctx) =>
      directoryFor(ctx.store).setOptIn(sessionOf(ctx), args.person ?? null, args.optedIn),
  }),
}));
