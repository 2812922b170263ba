// Prices come from the active policy version's compiled IR. With no active policy every
// usage event lands unpriced (and is reported as such).
import { priceTable, type RuleSetIR } from '../policy/ir.ts';
import type { PriceTable } from '../policy/price.ts';
import type { Store } from './db.ts';

export const NO_PRICES: PriceTable = { currency: 'USD', models: {} };

/** The active policy's IR, or null when no version is active. */
export async function activePolicyIr(store: Store): Promise<RuleSetIR | null> {
  const rows = await store.query<{ ir: RuleSetIR }>(
    "select ir from policy_versions where status = 'active' limit 1",
  );
  return rows[0]?.ir ?? null;
}

/** The price table of the active policy; an empty table (all unpriced) when none is active. */
export async function activePriceTable(store: Store): Promise<PriceTable> {
  const ir = await activePolicyIr(store);
  return ir ? priceTable(ir) : NO_PRICES;
}

export type IngestSettings = { prices: PriceTable; timezone: string };

/**
 * What ingest needs from the active policy: its prices, and its timezone, which decides
 * the calendar day a rollup row belongs to. No active policy: nothing priced, UTC days.
 */
export async function activeIngestSettings(store: Store): Promise<IngestSettings> {
  const ir = await activePolicyIr(store);
  return ir
    ? { prices: priceTable(ir), timezone: ir.timezone || 'UTC' }
    : { prices: NO_PRICES, timezone: 'UTC' };
}
