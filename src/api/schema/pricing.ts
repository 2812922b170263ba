// Pricing: the unpriced provider names (with the declaration that would price each), and
// repricing stored usage under the active policy. Rules live in src/app/pricing.ts.
import {
  ForbiddenError,
  InvalidArgumentError,
  InvalidRequestError,
  NoActivePolicyError,
} from '../../app/errors.ts';
import { listUnpricedModels, type RepriceResult, repriceUsage } from '../../app/pricing.ts';
import { builder } from '../builder.ts';
import { ModelCountRef } from './ingest-result.ts';

const RepriceResultRef = builder.objectRef<RepriceResult>('RepriceResult').implement({
  description: 'What repricing changed. Money is exact, as a decimal string.',
  fields: (t) => ({
    days: t.exposeInt('days', { description: 'Local days repriced (one transaction each).' }),
    events: t.exposeInt('events'),
    changed: t.exposeInt('changed', { description: 'Events whose model or cost changed.' }),
    unpriced: t.exposeInt('unpriced', { description: 'Events still without a price.' }),
    costBefore: t.exposeString('costBefore'),
    costAfter: t.exposeString('costAfter'),
    currency: t.exposeString('currency'),
  }),
});

builder.queryFields((t) => ({
  unpricedModels: t.field({
    type: [ModelCountRef],
    authScopes: { readDirectory: true },
    description:
      'Provider model names with unpriced usage (organisation-wide counts), most events first, each with the declaration that would price it. Viewers see only names used by at least min_group_size people; members none.',
    args: {
      since: t.arg.string({ required: false, description: 'First local day (YYYY-MM-DD).' }),
    },
    errors: { types: [ForbiddenError, InvalidArgumentError] },
    resolve: (_root, args, ctx) =>
      listUnpricedModels(ctx.store, ctx.caller, { since: args.since ?? null }),
  }),
}));

builder.mutationFields((t) => ({
  repriceUsage: t.field({
    type: RepriceResultRef,
    authScopes: { governance: true },
    description:
      'Price stored usage again under the active policy and rebuild its rollups, one local day per transaction; budgets, quotas and boards follow. Running it twice changes nothing the second time.',
    args: {
      since: t.arg.string({ required: false, description: 'First local day (inclusive).' }),
      until: t.arg.string({ required: false, description: 'Local day to stop at (exclusive).' }),
    },
    errors: {
      types: [ForbiddenError, InvalidArgumentError, InvalidRequestError, NoActivePolicyError],
    },
    resolve: (_root, args, ctx) =>
      repriceUsage(ctx.store, ctx.caller, { since: args.since, until: args.until }),
  }),
}));
