// Exact pricing. Policy prices are per 1M tokens; stored as integer micro-units of the
// currency per 1M tokens, which is exactly pico-units (1e-12) per token. So
// tokens × price is an exact integer count of pico-units: no floats, no drift. The only
// division is by a service-tier percentage or a per-N-calls price, rounded half up to a
// whole pico-unit (a millionth of a millionth of the currency) once per event.

/** Integer micro-units of the policy currency per 1M tokens. */
export type TokenRates = {
  input: number;
  output: number;
  cacheRead: number;
  /** cache writes with the 5-minute (default) lifetime */
  cacheWrite: number;
  /** cache writes with the 1-hour lifetime; absent: priced as `cacheWrite` */
  cacheWrite1h?: number;
  /** audio input tokens; absent: priced as `input` */
  audioInput?: number;
  /** audio output tokens; absent: priced as `output` */
  audioOutput?: number;
};

export type ModelPrice = TokenRates & {
  class: string;
  /** glob patterns (`*` = any text) of provider names priced as this model */
  matches?: string[];
  /** web search calls: `micros` of the currency per `per` calls */
  webSearch?: { micros: number; per: number };
  /** share of the token price a service tier pays, in basis points (50% → 5000) */
  batch?: number;
  priority?: number;
  /** rates for requests whose prompt exceeds `above` input tokens; ascending by `above` */
  longContext?: ({ above: number } & TokenRates)[];
};

export type PriceTable = { currency: string; models: Record<string, ModelPrice> };

/**
 * Token counts of one usage event. The optional fields are parts of the main counts
 * (1-hour writes are part of `cacheWriteTokens`, audio input part of `inputTokens`, audio
 * output part of `outputTokens`), so token totals never double count.
 */
export type TokenCounts = {
  /** uncached input */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens?: number;
  audioInputTokens?: number;
  audioOutputTokens?: number;
  webSearchRequests?: number;
  /** "batch", "priority", "subscription" (no API cost), or anything else for the list price */
  serviceTier?: string | null;
  /** the provider says the request ran on the long-context rate; null: decide by size */
  longContext?: boolean | null;
  /** requests the event covers; prompt size is judged per request */
  requests?: number;
};

export const PICO_PER_UNIT = 1_000_000_000_000n;

// ---------- model names ----------

/** Whether a glob pattern (`*` = any text, possibly empty) matches a name. */
export function globMatches(pattern: string, name: string): boolean {
  return globRegExp(pattern).test(name);
}

const globs = new Map<string, RegExp>();
function globRegExp(pattern: string): RegExp {
  let re = globs.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    if (globs.size > 10_000) globs.clear();
    globs.set(pattern, re);
  }
  return re;
}

/** How much of a name a pattern fixes: its literal characters (more wins). */
export function patternSpecificity(pattern: string): number {
  return pattern.replaceAll('*', '').length;
}

const resolved = new WeakMap<PriceTable, Map<string, string | null>>();

/**
 * The declared model a provider name is priced as: the model of that exact name, else the
 * model with the most specific `matches` pattern covering it (most literal characters), else
 * null (unpriced). Answers are kept per table: ingest asks for the same few names.
 */
export function resolveModel(prices: PriceTable, name: string): string | null {
  if (Object.hasOwn(prices.models, name)) return name;
  let cache = resolved.get(prices);
  if (!cache) {
    cache = new Map();
    resolved.set(prices, cache);
  }
  const known = cache.get(name);
  if (known !== undefined) return known;
  // the most specific matching pattern wins; ties go to the model first by name
  let found: string | null = null;
  let best = -1;
  for (const model of Object.keys(prices.models).sort()) {
    for (const pattern of prices.models[model].matches ?? []) {
      const specificity = patternSpecificity(pattern);
      if (specificity > best && globMatches(pattern, name)) {
        found = model;
        best = specificity;
      }
    }
  }
  if (cache.size > 100_000) cache.clear();
  cache.set(name, found);
  return found;
}

/** The price a provider name is billed at, or undefined when unpriced. */
export function priceOf(prices: PriceTable, name: string): ModelPrice | undefined {
  const model = resolveModel(prices, name);
  return model === null ? undefined : prices.models[model];
}

// ---------- cost ----------

const big = (n: number | undefined) => BigInt(n ?? 0);
const part = (whole: number, share: number | undefined) => Math.min(Math.max(share ?? 0, 0), whole);

/** The rates that apply to an event: the long-context tier its prompt size reaches, if any. */
export function ratesFor(price: ModelPrice, tokens: TokenCounts): TokenRates {
  const tiers = price.longContext;
  if (!tiers || tiers.length === 0 || tokens.longContext === false) return price;
  if (tokens.longContext === true) return tiers[0];
  // the prompt is everything sent: uncached input, cache reads and cache writes
  const prompt = tokens.inputTokens + tokens.cacheReadTokens + tokens.cacheWriteTokens;
  const perRequest = prompt / Math.max(tokens.requests ?? 1, 1);
  let rates: TokenRates = price;
  for (const tier of tiers) if (perRequest > tier.above) rates = tier;
  return rates;
}

function halfUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}

/** Cost of one event under a model's price, in pico-units of the currency. */
export function costOfPrice(price: ModelPrice, tokens: TokenCounts): bigint {
  // a subscription seat (Claude Code on a Pro/Max/Team plan) is paid for by the seat, not
  // per token: its usage counts, at no API cost
  if (tokens.serviceTier === 'subscription') return 0n;
  const rates = ratesFor(price, tokens);
  const audioIn = part(tokens.inputTokens, tokens.audioInputTokens);
  const audioOut = part(tokens.outputTokens, tokens.audioOutputTokens);
  const write1h = part(tokens.cacheWriteTokens, tokens.cacheWrite1hTokens);
  let pico =
    big(tokens.inputTokens - audioIn) * big(rates.input) +
    big(audioIn) * big(rates.audioInput ?? rates.input) +
    big(tokens.outputTokens - audioOut) * big(rates.output) +
    big(audioOut) * big(rates.audioOutput ?? rates.output) +
    big(tokens.cacheReadTokens) * big(rates.cacheRead) +
    big(tokens.cacheWriteTokens - write1h) * big(rates.cacheWrite) +
    big(write1h) * big(rates.cacheWrite1h ?? rates.cacheWrite);
  const tier = tokens.serviceTier;
  const share = tier === 'batch' ? price.batch : tier === 'priority' ? price.priority : undefined;
  if (share !== undefined) pico = halfUp(pico * BigInt(share), 10_000n);
  if (price.webSearch && tokens.webSearchRequests) {
    // micro-units per `per` calls → pico-units: × 10^6 / per
    pico += halfUp(
      big(tokens.webSearchRequests) * big(price.webSearch.micros) * 1_000_000n,
      BigInt(price.webSearch.per),
    );
  }
  return pico;
}

/** Cost in pico-units of the currency, or null when the model has no price. */
export function costPico(prices: PriceTable, model: string, tokens: TokenCounts): bigint | null {
  const price = priceOf(prices, model);
  return price ? costOfPrice(price, tokens) : null;
}

/** "15.00" → 15000000 micro-units. Rejects more than 6 decimals (not representable exactly). */
export function decimalToMicros(text: string): number {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text.replaceAll(',', ''));
  if (!match) throw new RangeError(`not a price with at most 6 decimals: ${text}`);
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

/** "50%" or "87.5%" → basis points (5000, 8750). Rejects more than 2 decimals. */
export function percentToBasisPoints(text: string): number {
  const match = /^(\d+)(?:\.(\d{1,2}))?%?$/.exec(text.replaceAll(',', ''));
  if (!match) throw new RangeError(`not a percentage with at most 2 decimals: ${text}`);
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
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
