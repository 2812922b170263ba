// Policy versions: read, check, publish, activate. Versions are immutable; activation (and
// rollback, which is activating an older version) is one transaction, recorded in the audit
// log in the same transaction. The language itself lives in src/policy; storage in
// src/store/policies.ts.
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { NotFoundError, PolicyInvalidError, PolicyUnchangedError } from '../../app/errors.ts';
import { policiesFor } from '../../app/policies.ts';
import { analyzePolicy } from '../../policy/analyze.ts';
import { hasErrors } from '../../policy/diagnostics.ts';
import { PolicyVersion } from '../../store/entities/index.ts';
import type { IPolicyVersion } from '../../store/entities/policy-version.ts';
import { builder } from '../builder.ts';
import { type Context, sessionOf } from '../context.ts';
import { DiagnosticRef } from './errors.ts';
import { DateTimeResolver, JSONResolver } from './scalars.ts';

const PolicyStatus = builder.enumType('PolicyStatus', {
  values: ['draft', 'active', 'retired'] as const,
});

export const PolicyVersionRef = builder.objectRef<IPolicyVersion>('PolicyVersion');

PolicyVersionRef.implement({
  description: 'An immutable published policy version.',
  fields: (t) => ({
    id: t.exposeInt('id', { description: 'Sequence number of the version (unique).' }),
    version: t.exposeString('version', {
      description: 'The version label from the policy header.',
    }),
    name: t.string({ nullable: true, resolve: (p) => p.name ?? null }),
    hash: t.exposeString('hash', {
      description: 'SHA-256 of the canonical rule set: equal hashes mean equal meaning.',
    }),
    status: t.field({ type: PolicyStatus, resolve: (p) => p.status }),
    author: t.string({ nullable: true, resolve: (p) => p.author ?? null }),
    message: t.string({ nullable: true, resolve: (p) => p.message ?? null }),
    source: t.exposeString('source'),
    ir: t.field({
      type: JSONResolver,
      description: 'The compiled rule-set IR.',
      resolve: (p) => p.ir,
    }),
    parent: t.field({
      type: PolicyVersionRef,
      nullable: true,
      description: 'The version that was active when this one was published.',
      resolve: async (p, _args, ctx) => {
        const parentId = p.parent?.id;
        if (!parentId) return null;
        return (await ctx.em.findOne(PolicyVersion, { id: parentId })) as IPolicyVersion | null;
      },
    }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (p) => p.createdAt }),
    activatedAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (p) => p.activatedAt ?? null,
    }),
    activatedBy: t.string({
      nullable: true,
      description:
        'Who activated it last (key name and id, or "command line"); null if never activated, or activated before this was recorded.',
      resolve: (p) => p.activatedBy ?? null,
    }),
  }),
});

type CheckShape = {
  ok: boolean;
  hash: string | null;
  diagnostics: ReturnType<typeof analyzePolicy>['diagnostics'];
};

const PolicyCheckRef = builder.objectRef<CheckShape>('PolicyCheck').implement({
  description: 'The result of checking policy text without saving it.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok', { description: 'True when there are no errors (warnings allowed).' }),
    hash: t.exposeString('hash', { nullable: true, description: 'The meaning hash, when ok.' }),
    diagnostics: t.field({ type: [DiagnosticRef], resolve: (c) => c.diagnostics }),
  }),
});

/** Finds a version by sequence id, or by label (the latest with that label). */
async function findVersion(ctx: Context, args: { id?: number | null; version?: string | null }) {
  if (args.id != null) {
    const found = await ctx.em.findOne(PolicyVersion, { id: args.id });
    if (!found) throw new NotFoundError('policy version', `#${args.id}`);
    return found;
  }
  if (args.version != null) {
    const found = await ctx.em.findOne(
      PolicyVersion,
      { version: args.version },
      { orderBy: { id: 'desc' } },
    );
    if (!found) throw new NotFoundError('policy version', args.version);
    return found;
  }
  throw new NotFoundError('policy version', '(pass id or version)');
}

/** The caller, as recorded in the audit entry the store writes with the change. */

builder.queryFields((t) => ({
  policies: t.connection({
    type: PolicyVersionRef,
    authScopes: { readPolicies: true },
    description: 'Published policy versions, newest first.',
    resolve: (_root, args, ctx) =>
      resolveCursorConnection<Promise<IPolicyVersion[]>>(
        { args, toCursor: (p: IPolicyVersion) => String(p.id), defaultSize: 20, maxSize: 100 },
        ({ before, after, limit, inverted }) => {
          const id: Record<string, number> = {};
          // newest first: "after" a cursor means older (smaller id)
          if (after) id.$lt = Number(after);
          if (before) id.$gt = Number(before);
          return ctx.em.find(PolicyVersion, Object.keys(id).length ? { id } : {}, {
            orderBy: { id: inverted ? 'asc' : 'desc' },
            limit,
          });
        },
      ),
  }),
  policy: t.field({
    type: PolicyVersionRef,
    authScopes: { readPolicies: true },
    description: 'One version, by `id` or by `version` label (the latest with that label).',
    args: { id: t.arg.int({ required: false }), version: t.arg.string({ required: false }) },
    errors: { types: [NotFoundError] },
    resolve: (_root, args, ctx) => findVersion(ctx, args),
  }),
  activePolicy: t.field({
    type: PolicyVersionRef,
    nullable: true,
    authScopes: { readPolicies: true },
    description: 'The active version, or null before any is activated.',
    resolve: (_root, _args, ctx) => ctx.em.findOne(PolicyVersion, { status: 'active' }),
  }),
  checkPolicy: t.field({
    type: PolicyCheckRef,
    authScopes: { readPolicies: true },
    description: 'Check policy text (syntax, names, units, structure) without saving it.',
    args: { source: t.arg.string({ required: true }) },
    resolve: (_root, args) => {
      const analysis = analyzePolicy(args.source);
      return {
        ok: !hasErrors(analysis.diagnostics),
        hash: analysis.hash,
        diagnostics: analysis.diagnostics,
      };
    },
  }),
}));

builder.mutationFields((t) => ({
  publishPolicy: t.field({
    type: PolicyVersionRef,
    authScopes: { governance: true },
    description:
      'Store a new immutable version; with `activate`, make it active in the same transaction.',
    args: {
      source: t.arg.string({ required: true }),
      activate: t.arg.boolean({ required: false, defaultValue: false }),
      message: t.arg.string({ required: false }),
    },
    errors: { types: [PolicyInvalidError, PolicyUnchangedError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const outcome = await policiesFor(ctx.store).publish(sessionOf(ctx), {
        source: args.source,
        message: args.message ?? null,
        activate: args.activate ?? false,
      });
      if (outcome.kind === 'invalid') throw new PolicyInvalidError(outcome.diagnostics);
      // the same meaning is already stored: reported rather than stored again
      if (outcome.kind === 'unchanged' && !outcome.activated)
        throw new PolicyUnchangedError(outcome.existing);
      const id = outcome.kind === 'unchanged' ? outcome.existing.id : outcome.version.id;
      return ctx.em.fork().findOneOrFail(PolicyVersion, { id });
    },
  }),
  activatePolicy: t.field({
    type: PolicyVersionRef,
    authScopes: { governance: true },
    description:
      'Make a version active in one transaction (the previous one is retired). Activating an older version is a rollback.',
    args: { id: t.arg.int({ required: false }), version: t.arg.string({ required: false }) },
    errors: { types: [NotFoundError] },
    resolve: async (_root, args, ctx) => {
      const target = await findVersion(ctx, args);
      const { version } = await policiesFor(ctx.store).activate(sessionOf(ctx), `v${target.id}`);
      return ctx.em.fork().findOneOrFail(PolicyVersion, { id: version.id });
    },
  }),
}));
