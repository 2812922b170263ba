// Bands on people and teams: batched per request, answered by src/app/quota.ts from the same
// decision as checkQuota (people) and the same band rule over exception-raised budgets (teams).
import DataLoader from 'dataloader';
import { privacyFor } from '../../app/privacy.ts';
import { type BandInfo, quotaFor } from '../../app/quota.ts';
import { builder } from '../builder.ts';
import { type Context, sessionOf } from '../context.ts';
import { BandEnum } from './band.ts';
import { PersonRef, TeamRef } from './directory.ts';

const loaders = new WeakMap<Context, Map<string, DataLoader<string, BandInfo | null>>>();

function loaderFor(ctx: Context, name: 'person' | 'team'): DataLoader<string, BandInfo | null> {
  let map = loaders.get(ctx);
  if (!map) {
    map = new Map();
    loaders.set(ctx, map);
  }
  let loader = map.get(name);
  if (!loader) {
    const quota = quotaFor(ctx.store);
    loader = new DataLoader(
      (ids: readonly string[]) =>
        name === 'person' ? quota.personBands(ids) : quota.teamBands(ids),
      { maxBatchSize: name === 'person' ? 64 : 1000 },
    );
    map.set(name, loader);
  }
  return loader;
}

/** A person's figures: their own, or governance's (privacy.ts: nobody else's, even masked). */
async function personFigures(ctx: Context, person: string): Promise<boolean> {
  const view = await privacyFor(ctx.store).view(sessionOf(ctx));
  return !view.identity(person).masked;
}

/** A team's figures: for teams visible to the caller (not restricted, not under k). */
async function teamFigures(ctx: Context, team: string): Promise<boolean> {
  const view = await privacyFor(ctx.store).view(sessionOf(ctx));
  return view.teamVisible(team);
}

builder.objectFields(PersonRef, (t) => ({
  band: t.field({
    type: BandEnum,
    nullable: true,
    description:
      "The person's quota band under the active policy, over the exception-raised limit (null without a quota, and null unless the caller is this person or governance): the band checkQuota and quota(person) give. Batched.",
    resolve: async (p, _a, ctx) =>
      (await personFigures(ctx, p.id))
        ? ((await loaderFor(ctx, 'person').load(p.id))?.band ?? null)
        : null,
  }),
  quotaPercent: t.float({
    nullable: true,
    description: 'Percent of the (exception-raised) quota used this period.',
    resolve: async (p, _a, ctx) =>
      (await personFigures(ctx, p.id))
        ? ((await loaderFor(ctx, 'person').load(p.id))?.percent ?? null)
        : null,
  }),
}));

builder.objectFields(TeamRef, (t) => ({
  band: t.field({
    type: BandEnum,
    nullable: true,
    description:
      "The team's worst budget band under the active policy, over exception-raised limits (null when no budget applies, and below governance for teams under min_group_size).",
    resolve: async (team, _a, ctx) =>
      (await teamFigures(ctx, team.id))
        ? ((await loaderFor(ctx, 'team').load(team.id))?.band ?? null)
        : null,
  }),
  budgetPercent: t.float({
    nullable: true,
    description: 'Percent spent of the budget that sets the band.',
    resolve: async (team, _a, ctx) =>
      (await teamFigures(ctx, team.id))
        ? ((await loaderFor(ctx, 'team').load(team.id))?.percent ?? null)
        : null,
  }),
}));
