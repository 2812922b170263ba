// Exact pricing. Policy prices are per 1M tokens; stored as integer micro-units of the
// currency per 1M tokens, which is exactly pico-units (1e-12) per token. So
// tokens × price is an exact integer count of pico-units: no floats, no drift.

/** Integer micro-units of the policy currency per 1M tokens. */
export type ModelPrice = {
  class: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
};

export type PriceTable = { currency: string; models: Record<string, ModelPrice> };

export type TokenCounts = {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
};

export const PICO_PER_UNIT = 1_000_000_000_000n;

/** Cost in pico-units of the currency, or null when the model has no price. */
export function costPico(prices: PriceTable, model: string, tokens: TokenCounts): bigint | null {
  const price = prices.models[model];
  if (!price) return null;
  return (
    BigInt(tokens.inputTokens) * BigInt(price.input) +
    BigInt(tokens.outputTokens) * BigInt(price.output) +
    BigInt(tokens.cacheReadTokens) * BigInt(price.cacheRead) +
    BigInt(tokens.cacheWriteTokens) * BigInt(price.cacheWrite)
  );
}

/** "15.00" → 15000000 micro-units. Rejects more than 6 decimals (not representable exactly). */
export function decimalToMicros(text: string): number {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text.replaceAll(',', ''));
  if (!match) throw new RangeError(`not a price with at most 6 decimals: ${text}`);
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

/** Pico-units → exact decimal string with 12 places, e.g. "0.000045000000". */
export function picoToDecimal(pico: bigint): string {
  const negative = pico < 0n;
  const abs = negative ? -pico : pico;
  const whole = abs / PICO_PER_UNIT;
  const frac = (abs % PICO_PER_UNIT).toString().padStart(12, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Decimal string (as PostgreSQL numeric returns it) → pico-units. */
export function decimalToPico(text: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{0,12})\d*)?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a decimal: ${text}`);
  const value = BigInt(match[2]) * PICO_PER_UNIT + BigInt((match[3] ?? '').padEnd(12, '0'));
  return match[1] ? -value : value;
}
