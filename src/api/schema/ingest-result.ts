// The per-row result of a batch write, shared by the record* mutations, upsertDirectory
// and the OTLP receiver's reply.
import { declarationToAdd } from '../../policy/suggest-model.ts';
import type { IngestRow } from '../../store/ingest/native.ts';
import type { IngestResult } from '../../store/loader.ts';
import { activePriceTable } from '../../store/prices.ts';
import { ping } from '../../store/secrets.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { isDatabaseUnavailable } from '../unavailable.ts';

export const IngestStatus = builder.enumType('IngestStatus', {
  values: ['accepted', 'duplicate', 'replaced', 'rejected'] as const,
});

type RowShape = {
  index: number;
  status: 'accepted' | 'duplicate' | 'replaced' | 'rejected';
  id: string | null;
  reason: string | null;
};
type SummaryShape = {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  unpriced: number;
  unpricedModels: UnpricedModelShape[];
  results: RowShape[];
};

const RowResultRef = builder.objectRef<RowShape>('IngestRowResult').implement({
  description: 'What happened to one input row. `index` is its 0-based position in the batch.',
  fields: (t) => ({
    index: t.exposeInt('index'),
    status: t.field({ type: IngestStatus, resolve: (r) => r.status }),
    id: t.exposeString('id', { nullable: true }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'Why the row was rejected, naming the field.',
    }),
  }),
});

export type UnpricedModelShape = {
  model: string;
  events: number;
  people?: number | null;
  declaration: string;
};

export const ModelCountRef = builder.objectRef<UnpricedModelShape>('UnpricedModel').implement({
  description:
    'A provider model name with no price in the active policy, and what to declare to price it.',
  fields: (t) => ({
    model: t.exposeString('model', { description: 'The name as the provider wrote it.' }),
    events: t.exposeInt('events', { description: 'Unpriced usage events with this name.' }),
    people: t.int({
      nullable: true,
      description: 'Distinct people with such events (governance only; null otherwise).',
      resolve: (m) => m.people ?? null,
    }),
    declaration: t.exposeString('declaration', {
      description:
        'The policy text that would price it: a `matches` pattern for a declared model, or a new model.',
    }),
  }),
});

export const IngestSummaryRef = builder.objectRef<SummaryShape>('IngestSummary').implement({
  description: 'Totals and per-row results of a batch write. A bad row never fails the others.',
  fields: (t) => ({
    rows: t.exposeInt('rows'),
    accepted: t.exposeInt('accepted'),
    duplicates: t.exposeInt('duplicates', { description: 'Rows whose id was already stored.' }),
    rejected: t.exposeInt('rejected'),
    unpriced: t.exposeInt('unpriced', {
      description: 'Accepted usage events whose model has no price in the active policy.',
    }),
    unpricedModels: t.field({ type: [ModelCountRef], resolve: (s) => s.unpricedModels }),
    results: t.field({ type: [RowResultRef], resolve: (s) => s.results }),
  }),
});

async function unpricedShapes(
  ctx: Context,
  counts: Record<string, number>,
): Promise<UnpricedModelShape[]> {
  const entries = Object.entries(counts);
  if (entries.length === 0) return [];
  const prices = await activePriceTable(ctx.store);
  return entries.map(([model, events]) => ({
    model,
    events,
    declaration: declarationToAdd(prices, model),
  }));
}

/**
 * Shapes the loader's result for GraphQL. A chunk the database rolled back because it was
 * unreachable becomes an UNAVAILABLE error (retry the whole batch), not per-row rejections.
 */
export async function toIngestSummary(ctx: Context, result: IngestResult): Promise<SummaryShape> {
  if (result.totals.failedChunks > 0) {
    try {
      await ping(ctx.store);
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
    }
  }
  return {
    rows: result.totals.rows,
    accepted: result.totals.accepted,
    duplicates: result.totals.duplicates,
    rejected: result.totals.rejected,
    unpriced: result.totals.unpriced,
    unpricedModels: await unpricedShapes(ctx, result.totals.unpricedModels),
    results: result.results.map((r) => ({
      index: r.line,
      status: r.status,
      id: r.id ?? null,
      reason: r.reason ?? null,
    })),
  };
}

/** Numbers a batch for the loader (rows with a NUL character are rejected there, alone). */
export function batchRows(rows: Record<string, unknown>[]): IngestRow[] {
  return rows.map((data, index) => ({ line: index, data }));
}

/** Drops null and undefined fields so the native schema's defaults apply. */
export function withoutNulls(fields: Record<string, unknown>): Record<string, unknown> {
  // a plain loop: this runs for every row of every batch
  const kept: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== null && value !== undefined) kept[key] = value;
  }
  return kept;
}
