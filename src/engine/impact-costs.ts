// Exact cost under several price tables, from token sums: what impact replay needs when two
// versions price models differently. The port is answered by one set-based statement in the
// store (src/store/impact-costs.ts), which prices with each version's full price model (it
// reads the events whose price-bearing parts the rollups do not keep). `usageCostReader`
// answers it through any UsageReader's `usage` aggregation, one query per window, for
// readers without the store: it sees token sums per model only, so it prices names
// (patterns included) at the list rates, without tiers, long context, audio or web search.
import { costPico, type PriceTable } from '../policy/price.ts';
import type { FactWindow, UsageReader } from './ports.ts';
import type { UsageQuery, UsageRow } from './usage.ts';

export type CostRequest = {
  /** day-based windows whose `cost` fact is recomputed (key → person → cost per table) */
  windows: readonly Extract<FactWindow, { kind: 'days' }>[];
  tables: readonly PriceTable[];
  /** the review window's days, for the per-team and per-model cost section */
  review: { from: string; to: string };
};

export type CostSums = {
  /** window key → person id → pico-units under each table (index-aligned with `tables`) */
  person: Map<string, Map<string, bigint[]>>;
  /** the review window per team (a person's current team) and model */
  teamModel: { team: string | null; model: string; pico: bigint[] }[];
};

export interface CostReader {
  costSums(request: CostRequest): Promise<CostSums>;
}

function usageQuery(
  from: string,
  to: string,
  groupBy: UsageQuery['groupBy'],
  env: string | null,
): UsageQuery {
  return {
    from,
    to,
    people: null,
    teams: null,
    models: null,
    classes: null,
    costCenters: null,
    projects: null,
    environments: env === null ? null : [env],
    groupBy,
    bucket: null,
    classOf: {},
  };
}

const tokensOf = (r: UsageRow) => ({
  inputTokens: r.inputTokens,
  outputTokens: r.outputTokens,
  cacheReadTokens: r.cacheReadTokens,
  cacheWriteTokens: r.cacheWriteTokens,
});

const priced = (tables: readonly PriceTable[], r: UsageRow) =>
  tables.map((t) => costPico(t, r.group.model ?? '', tokensOf(r)) ?? 0n);

/** The port over UsageReader.usage: a person × model query per window. */
export function usageCostReader(reader: UsageReader): CostReader {
  return {
    async costSums({ windows, tables, review }) {
      const person = new Map<string, Map<string, bigint[]>>();
      for (const w of windows) {
        const rows = await reader.usage(
          usageQuery(w.from, w.to, ['person', 'model'], w.environment),
        );
        const byPerson = new Map<string, bigint[]>();
        for (const r of rows) {
          const id = r.group.person ?? '';
          const add = priced(tables, r);
          const cur = byPerson.get(id) ?? tables.map(() => 0n);
          byPerson.set(
            id,
            cur.map((v, i) => v + add[i]),
          );
        }
        person.set(w.key, byPerson);
      }
      const rows = await reader.usage(usageQuery(review.from, review.to, ['team', 'model'], null));
      const teamModel = rows.map((r) => ({
        team: r.group.team ?? null,
        model: r.group.model ?? '',
        pico: priced(tables, r),
      }));
      return { person, teamModel };
    },
  };
}
