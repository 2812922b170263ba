// The impact replay's cost port: every window's cost under every price table, per person,
// plus the review window per team and model.
//
// Two parts, exact together. First, one statement over daily_rollups prices each rollup
// row's token sums at the base rates of the model its name resolves to under each table
// (exact names and `matches` patterns, resolved here with the same function ingest uses).
// Prices join in as a VALUES list of integer micro-units per 1M tokens, so tokens × price
// is an exact count of pico-units, summed as numeric. Base rates are all a rollup can
// carry: it keeps neither the provider's name nor the price-bearing parts of its events.
// Second, the events the base rates may misprice under some table (a provider name kept
// apart from the stored model, 1-hour cache writes, audio, web search calls, a service
// tier, a long-context flag, or a prompt above the smallest long-context threshold either
// table declares) are read from usage_events and priced one by one with the version's full
// price model (src/policy/price.ts, as ingest and reprice do); each adds its exact cost and
// takes back its base-rate cost. Rollups and events use the ingest timezone's days.

import type { CostReader, CostRequest, CostSums } from '../engine/impact-costs.ts';
import {
  costOfPrice,
  costPico,
  type PriceTable,
  priceOf,
  type TokenCounts,
} from '../policy/price.ts';
import type { Store } from './db.ts';
import { activeIngestSettings } from './prices.ts';
import { PRICE_COLUMNS, type PriceColumns, tokenCountsOf } from './pricing.ts';

const KINDS = [
  ['input_tokens', 'input'],
  ['output_tokens', 'output'],
  ['cache_read_tokens', 'cacheRead'],
  ['cache_write_tokens', 'cacheWrite'],
] as const;

export function storeCostReader(store: Store): CostReader {
  return {
    async costSums(request: CostRequest): Promise<CostSums> {
      const { windows, tables, review } = request;
      const params: unknown[] = [];
      const add = (v: unknown, cast = '') => {
        params.push(v);
        return `$${params.length}${cast}`;
      };
      const from = [...windows.map((w) => w.from), review.from].sort()[0];
      const to = [...windows.map((w) => w.to), review.to].sort().at(-1) as string;
      const names = await rollupNames(store, from, to);
      // one VALUES row per stored name: the base rates it resolves to under each table
      // (null = unpriced there)
      const priceRows = names.map((m) => {
        const cells = tables.flatMap((t) =>
          KINDS.map(([, k]) => {
            const price = priceOf(t, m);
            return price ? `${Math.trunc(price[k])}::numeric` : 'null::numeric';
          }),
        );
        return `(${add(m)}, ${cells.join(', ')})`;
      });
      const priceColumns = tables.flatMap((_, ti) => KINDS.map((_k, ki) => `p${ti}_${ki}`));
      // equal windows (the review quarter and a `quarter` budget, say) share one column set
      const condIndex = new Map<string, number>();
      const conds: string[] = [];
      const slot = (from: string, to: string, environment: string | null) => {
        const id = `${from}/${to}/${environment ?? ''}`;
        let i = condIndex.get(id);
        if (i === undefined) {
          let cond = `x.day >= ${add(from, '::date')} and x.day < ${add(to, '::date')}`;
          if (environment) cond += ` and x.environment = ${add(environment)}`;
          i = conds.push(cond) - 1;
          condIndex.set(id, i);
        }
        return i;
      };
      const windowSlots = windows.map((w) => slot(w.from, w.to, w.environment));
      const reviewIndex = slot(review.from, review.to, null);
      // first: token sums per person, team and model for each window (integer sums, cheap);
      // then: price those few rows under every table and roll them up by grouping sets
      const tokenSums: string[] = [];
      conds.forEach((cond, wi) => {
        KINDS.forEach(([column], ki) => {
          tokenSums.push(`coalesce(sum(x.${column}) filter (where ${cond}), 0) as t${wi}_${ki}`);
        });
      });
      const selects = [
        `sum(${KINDS.map((_k, ki) => `t.t${reviewIndex}_${ki}`).join(' + ')})::text as review_tokens`,
      ];
      conds.forEach((_c, wi) => {
        tables.forEach((_t, ti) => {
          const cost = KINDS.map((_k, ki) => `t.t${wi}_${ki} * coalesce(pr.p${ti}_${ki}, 0)`).join(
            ' + ',
          );
          selects.push(`sum(${cost})::text as c${wi}_${ti}`);
        });
      });
      const values = priceRows.length
        ? `(values ${priceRows.join(', ')}) as pr(model, ${priceColumns.join(', ')})`
        : `(select null::text as model, ${priceColumns.map((c) => `null::numeric as ${c}`).join(', ')}) pr`;
      const sql = `
        with t as (
          select x.person_id, x.model, ${tokenSums.join(', ')}
            from daily_rollups x
           where x.day >= ${add(from, '::date')} and x.day < ${add(to, '::date')}
           group by x.person_id, x.model
        )
        select grouping(t.person_id) as gp, t.person_id, p.team_id, t.model,
               ${selects.join(',\n               ')}
          from t
          join people p on p.id = t.person_id
          left join ${values} on pr.model = t.model
         group by grouping sets ((t.person_id, p.team_id), (p.team_id, t.model))`;
      const rows = await store.query<Record<string, string | number | null>>(sql, params);
      const person = new Map<string, Map<string, bigint[]>>(windows.map((w) => [w.key, new Map()]));
      const teamModel: CostSums['teamModel'] = [];
      for (const row of rows) {
        const pico = (wi: number) => tables.map((_, ti) => BigInt(String(row[`c${wi}_${ti}`])));
        if (Number(row.gp) === 0) {
          windows.forEach((w, wi) => {
            person.get(w.key)?.set(String(row.person_id), pico(windowSlots[wi]));
          });
        } else {
          // models used only outside the review window's days: not part of the cost section
          if (String(row.review_tokens) === '0') continue;
          const costs = pico(reviewIndex);
          teamModel.push({
            team: row.team_id === null ? null : String(row.team_id),
            model: String(row.model),
            pico: costs,
          });
        }
      }
      const sums = { person, teamModel };
      await correctFromEvents(store, request, from, to, sums);
      return sums;
    },
  };
}

async function rollupNames(store: Store, from: string, to: string): Promise<string[]> {
  const rows = await store.query<{ model: string }>(
    `select distinct model from daily_rollups
      where day >= $1::date and day < $2::date and model <> '' order by 1`,
    [from, to],
  );
  return rows.map((r) => r.model);
}

type SpecialEvent = PriceColumns & {
  person_id: string;
  team_id: string | null;
  day: string;
  environment: string;
  model: string;
  provider_model: string | null;
};

/** The smallest long-context threshold any table declares, or null when none has tiers. */
function smallestThreshold(tables: readonly PriceTable[]): number | null {
  let least: number | null = null;
  for (const t of tables)
    for (const price of Object.values(t.models))
      for (const tier of price.longContext ?? []) least = Math.min(least ?? tier.above, tier.above);
  return least;
}

/** Adds each special event's exact cost and takes back its base-rate cost (see the head). */
async function correctFromEvents(
  store: Store,
  { windows, tables, review }: CostRequest,
  from: string,
  to: string,
  sums: CostSums,
): Promise<void> {
  const { timezone } = await activeIngestSettings(store);
  const threshold = smallestThreshold(tables);
  const events = await store.query<SpecialEvent>(
    `select e.person_id, p.team_id, to_char((e.ts at time zone $3)::date, 'YYYY-MM-DD') as day,
            e.environment, e.model, e.provider_model, ${PRICE_COLUMNS}
       from usage_events e
       join people p on p.id = e.person_id
      where e.ts >= ($1::date)::timestamp at time zone $3
        and e.ts < ($2::date)::timestamp at time zone $3
        and (e.provider_model is not null or e.cache_write_1h_tokens > 0
             or e.audio_input_tokens > 0 or e.audio_output_tokens > 0
             or e.web_search_requests > 0 or e.service_tier is not null
             or e.long_context is not null
             or ($4::int8 is not null and e.input_tokens + e.cache_read_tokens
                 + e.cache_write_tokens > $4::int8 * greatest(e.requests, 1)))`,
    [from, to, timezone, threshold],
  );
  const teamModel = new Map(sums.teamModel.map((r) => [JSON.stringify([r.team, r.model]), r]));
  for (const e of events) {
    const full = tokenCountsOf(e);
    // the four counts a rollup keeps, at list rates
    const tokens: TokenCounts = {
      inputTokens: full.inputTokens,
      outputTokens: full.outputTokens,
      cacheReadTokens: full.cacheReadTokens,
      cacheWriteTokens: full.cacheWriteTokens,
    };
    const name = e.provider_model ?? e.model;
    const delta = tables.map((t) => {
      const exact = costPico(t, name, full) ?? 0n;
      // what the rollup part charged: the stored name's base rates, nothing else
      const price = priceOf(t, e.model);
      const base = price ? costOfPrice(price, { ...tokens, longContext: false }) : 0n;
      return exact - base;
    });
    if (delta.every((d) => d === 0n)) continue;
    const add = (into: bigint[]) => {
      delta.forEach((d, i) => {
        into[i] += d;
      });
    };
    windows.forEach((w) => {
      if (e.day < w.from || e.day >= w.to) return;
      if (w.environment && e.environment !== w.environment) return;
      const byPerson = sums.person.get(w.key);
      if (!byPerson) return;
      let costs = byPerson.get(e.person_id);
      if (!costs) {
        costs = tables.map(() => 0n);
        byPerson.set(e.person_id, costs);
      }
      add(costs);
    });
    if (e.day < review.from || e.day >= review.to) continue;
    const key = JSON.stringify([e.team_id, e.model]);
    let row = teamModel.get(key);
    if (!row) {
      row = { team: e.team_id, model: e.model, pico: tables.map(() => 0n) };
      teamModel.set(key, row);
      sums.teamModel.push(row);
    }
    add(row.pico);
  }
}
