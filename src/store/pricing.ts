// Pricing over stored usage: the unpriced provider names, and repricing a day of usage
// under a price table (`quotient reprice`). A day is repriced in one transaction: each
// event's model is resolved again from the provider's name, its cost computed again with
// the same function ingest uses, changed events updated, and the usage part of that day's
// rollups rebuilt from the events, so the rollups equal the events exactly and a second
// run changes nothing. Rollup updates fire the dirty-person trigger, so quotas, budgets
// and boards are re-evaluated for everyone whose cost moved.

import type pg from 'pg';
import {
  costOfPrice,
  decimalToPico,
  type PriceTable,
  priceOf,
  resolveModel,
  type TokenCounts,
} from '../policy/price.ts';
import type { Store } from './db.ts';
import { numberArray, textArray } from './pg-array.ts';
import { picoNumeric } from './usage-writer.ts';

export type UnpricedModelRow = {
  model: string;
  /** unpriced usage events */
  events: number;
  /** distinct people with such events */
  people: number;
};

/** Provider names with unpriced usage since a local day (all time when null), most events first. */
export async function unpricedModelCounts(
  store: Store,
  since: string | null,
): Promise<UnpricedModelRow[]> {
  const rows = await store.query<{ model: string; events: string; people: string }>(
    `select model, sum(unpriced_requests)::text as events, count(distinct person_id)::text as people
       from daily_rollups
      where unpriced_requests > 0 and model <> '' and ($1::date is null or day >= $1::date)
      group by model
      order by sum(unpriced_requests) desc, model`,
    [since],
  );
  return rows.map((r) => ({ model: r.model, events: Number(r.events), people: Number(r.people) }));
}

/** Local days (YYYY-MM-DD) in [since, until) that hold usage, oldest first. */
export async function usageDays(
  store: Store,
  since: string | null,
  until: string | null,
): Promise<string[]> {
  const rows = await store.query<{ day: string }>(
    `select distinct to_char(day, 'YYYY-MM-DD') as day from daily_rollups
      where model <> '' and ($1::date is null or day >= $1::date)
        and ($2::date is null or day < $2::date)
      order by 1`,
    [since, until],
  );
  return rows.map((r) => r.day);
}

export type RepriceDayResult = {
  day: string;
  events: number;
  /** events whose model or cost changed */
  changed: number;
  /** cost of the day's events before and after, in pico-units */
  costBefore: bigint;
  costAfter: bigint;
  /** events that stay unpriced */
  unpriced: number;
};

/** The price-bearing columns of a usage event, as read back (bigints as text). */
export type PriceColumns = {
  input_tokens: string;
  output_tokens: string;
  cache_read_tokens: string;
  cache_write_tokens: string;
  cache_write_1h_tokens: string;
  audio_input_tokens: string;
  audio_output_tokens: string;
  web_search_requests: string;
  service_tier: string | null;
  long_context: boolean | null;
  requests: number;
};

/** The same columns in SQL, for a select over usage_events aliased `e`. */
export const PRICE_COLUMNS = `e.input_tokens, e.output_tokens, e.cache_read_tokens,
  e.cache_write_tokens, e.cache_write_1h_tokens, e.audio_input_tokens, e.audio_output_tokens,
  e.web_search_requests, e.service_tier, e.long_context, e.requests`;

/** What costOfPrice needs of a stored event. */
export function tokenCountsOf(e: PriceColumns): TokenCounts {
  return {
    inputTokens: Number(e.input_tokens),
    outputTokens: Number(e.output_tokens),
    cacheReadTokens: Number(e.cache_read_tokens),
    cacheWriteTokens: Number(e.cache_write_tokens),
    cacheWrite1hTokens: Number(e.cache_write_1h_tokens),
    audioInputTokens: Number(e.audio_input_tokens),
    audioOutputTokens: Number(e.audio_output_tokens),
    webSearchRequests: Number(e.web_search_requests),
    serviceTier: e.service_tier,
    longContext: e.long_context,
    requests: e.requests,
  };
}

type EventRow = PriceColumns & {
  id: string;
  ts: string;
  model: string;
  provider_model: string | null;
  cost: string | null;
};

const DAY_BOUNDS = `ts >= ($1::date)::timestamp at time zone $2 and ts < ($1::date + 1)::timestamp at time zone $2`;

/** Reprices one local day of usage (see the head of this file). */
export async function repriceDay(
  store: Store,
  day: string,
  prices: PriceTable,
  timezone: string,
): Promise<RepriceDayResult> {
  return store.transaction(async (client) => {
    const { rows } = await client.query<EventRow>(
      `select e.id, e.ts::text as ts, e.model, e.provider_model, ${PRICE_COLUMNS},
              e.cost::text as cost
         from usage_events e where ${DAY_BOUNDS}
        order by id
          for update`,
      [day, timezone],
    );
    const result: RepriceDayResult = {
      day,
      events: rows.length,
      changed: 0,
      costBefore: 0n,
      costAfter: 0n,
      unpriced: 0,
    };
    const changed = { ids: [] as string[], ts: [] as string[], models: [] as string[] };
    const providerModels: (string | null)[] = [];
    const costs: (string | null)[] = [];
    for (const e of rows) {
      const name = e.provider_model ?? e.model;
      const declared = resolveModel(prices, name);
      const model = declared ?? name;
      const providerModel = declared !== null && declared !== name ? name : null;
      const price = priceOf(prices, name);
      const cost = price ? costOfPrice(price, tokenCountsOf(e)) : null;
      const before = e.cost === null ? null : decimalToPico(e.cost);
      result.costBefore += before ?? 0n;
      result.costAfter += cost ?? 0n;
      if (cost === null) result.unpriced++;
      if (before === cost && model === e.model && providerModel === e.provider_model) continue;
      result.changed++;
      changed.ids.push(e.id);
      changed.ts.push(e.ts);
      changed.models.push(model);
      providerModels.push(providerModel);
      costs.push(cost === null ? null : picoNumeric(cost));
    }
    if (result.changed === 0) return result;
    await client.query(
      `update usage_events e
          set model = t.model, provider_model = t.provider_model, cost = t.cost
         from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::numeric[])
           as t(id, ts, model, provider_model, cost)
        where e.id = t.id and e.ts = t.ts`,
      [
        textArray(changed.ids),
        textArray(changed.ts),
        textArray(changed.models),
        textArray(providerModels),
        numberArray(costs),
      ],
    );
    await rebuildUsageRollups(client, day, timezone);
    return result;
  });
}

/**
 * The usage columns of one day's rollups, summed again from its events. Outcome and
 * compliance facts live in the rows with model '' and are left alone.
 */
async function rebuildUsageRollups(
  client: pg.PoolClient,
  day: string,
  timezone: string,
): Promise<void> {
  const q = (text: string, values: unknown[]) => client.query(text, values);
  await q(
    `update daily_rollups
        set input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_write_tokens = 0,
            cost = 0, requests = 0, unpriced_requests = 0
      where day = $1::date and model <> ''`,
    [day],
  );
  await q(
    `insert into daily_rollups as r (day, person_id, model, project, environment, input_tokens,
                                     output_tokens, cache_read_tokens, cache_write_tokens, cost,
                                     requests, unpriced_requests)
     select $1::date, person_id, model, project, environment, sum(input_tokens), sum(output_tokens),
            sum(cache_read_tokens), sum(cache_write_tokens), coalesce(sum(cost), 0), sum(requests),
            count(*) filter (where cost is null)
       from usage_events where ${DAY_BOUNDS}
      group by person_id, model, project, environment
      order by 2, 3, 4, 5
     on conflict (person_id, day, model, project, environment) do update set
       input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
       cache_read_tokens = excluded.cache_read_tokens,
       cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost,
       requests = excluded.requests, unpriced_requests = excluded.unpriced_requests`,
    [day, timezone],
  );
  // a model that no longer has events that day (renamed to its declared model) leaves no row
  await q(
    `delete from daily_rollups
      where day = $1::date and model <> '' and requests = 0 and unpriced_requests = 0
        and input_tokens = 0 and output_tokens = 0 and cache_read_tokens = 0
        and cache_write_tokens = 0 and cost = 0`,
    [day],
  );
}
