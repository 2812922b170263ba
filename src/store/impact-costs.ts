// The impact replay's cost port in one statement: every window's cost under every price
// table, per person, plus the review window per team and model, from a single scan of
// daily_rollups. Prices join in as a VALUES list of integer micro-units per 1M tokens, so
// tokens × price is an exact count of pico-units, summed as numeric.
import type { CostReader, CostRequest, CostSums } from '../engine/impact-costs.ts';
import type { Store } from './db.ts';

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
      const models = [...new Set(tables.flatMap((t) => Object.keys(t.models)))].sort();
      // one VALUES row per model: its prices under each table (null = unpriced there)
      const priceRows = models.map((m) => {
        const cells = tables.flatMap((t) =>
          KINDS.map(([, k]) => {
            const price = t.models[m];
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
      const from = [...windows.map((w) => w.from), review.from].sort()[0];
      const to = [...windows.map((w) => w.to), review.to].sort().at(-1) as string;
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
      return { person, teamModel };
    },
  };
}
