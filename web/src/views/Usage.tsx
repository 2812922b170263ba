// Usage: group and filter by team, model, class, project, environment and cost centre (of
// people's current teams; viewers: team and cost centre only), over time, as a chart and a
// table, with a CSV download for chargeback.
import { useEffect, useMemo, useState } from 'react';
import { type CombinedError, type OperationResult, useClient } from 'urql';
import { Chart } from '../components/Chart.tsx';
import { Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { toCsv } from '../lib/csv.ts';
import { formatMoney, formatTokens } from '../lib/format.ts';
import { seesNames } from '../lib/views.ts';
import type { ViewProps } from './props.ts';

const UsageQuery = graphql(`
  query UsageView($groupBy: [UsageDimension!], $bucket: UsageBucket, $filter: UsageFilter, $after: String) {
    usage(groupBy: $groupBy, bucket: $bucket, filter: $filter, first: 100, after: $after) {
      __typename
      ... on UsageConnection {
        currency from to timezone suppressedGroups minGroupSize
        pageInfo { hasNextPage endCursor }
        edges {
          node {
            bucket team model class project environment costCenter person
            inputTokens outputTokens cacheReadTokens cacheWriteTokens tokens requests people
            cost { amount }
          }
        }
      }
      ... on Problem { message }
    }
  }
`);

type Vars = VariablesOf<typeof UsageQuery>;
type Dimension = 'team' | 'model' | 'class' | 'project' | 'environment' | 'costCenter';
const DIMENSION_LABELS: Record<Dimension, { one: string; many: string; csv: string }> = {
  team: { one: 'team', many: 'teams', csv: 'team' },
  model: { one: 'model', many: 'models', csv: 'model' },
  class: { one: 'class', many: 'classes', csv: 'class' },
  project: { one: 'project', many: 'projects', csv: 'project' },
  environment: { one: 'environment', many: 'environments', csv: 'environment' },
  costCenter: { one: 'cost centre', many: 'cost centres', csv: 'cost_center' },
};
const DIMENSIONS = Object.keys(DIMENSION_LABELS) as Dimension[];

function monthStart(offset: number): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1))
    .toISOString()
    .slice(0, 10);
}

export default function Usage({ session }: ViewProps) {
  // viewers read usage by team (or cost centre, a sum of teams) and time only
  // (docs/privacy.md, R2); a member's is their own
  const dimensions: readonly Dimension[] =
    seesNames(session.role!) || session.role === 'member' ? DIMENSIONS : ['team', 'costCenter'];
  const [groupBy, setGroupBy] = useState<Dimension>('team');
  const [bucket, setBucket] = useState<'day' | 'week' | 'month' | ''>('month');
  const [from, setFrom] = useState(monthStart(-2));
  const [to, setTo] = useState(monthStart(1));
  const [filterValue, setFilterValue] = useState('');
  const variables: Vars = useMemo(() => {
    const filter: NonNullable<Vars['filter']> = { from, to };
    if (filterValue.trim()) {
      const values = filterValue
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      const field = (
        {
          team: 'teams',
          model: 'models',
          class: 'classes',
          project: 'projects',
          environment: 'environments',
          costCenter: 'costCenters',
        } as const
      )[groupBy];
      filter[field] = values;
    }
    return { groupBy: [groupBy], bucket: bucket || null, filter };
  }, [groupBy, bucket, from, to, filterValue]);
  const { usage, rows, fetching, error } = useAllUsage(variables);
  const data = usage;
  const currency = usage?.__typename === 'UsageConnection' ? usage.currency : '';
  const csv = () =>
    toCsv(
      [
        { key: 'bucket', header: 'bucket' },
        { key: groupBy, header: DIMENSION_LABELS[groupBy].csv },
        { key: 'inputTokens', header: 'input_tokens' },
        { key: 'outputTokens', header: 'output_tokens' },
        { key: 'cacheReadTokens', header: 'cache_read_tokens' },
        { key: 'cacheWriteTokens', header: 'cache_write_tokens' },
        { key: 'tokens', header: 'tokens' },
        { key: 'requests', header: 'requests' },
        { key: 'cost', header: `cost_${currency}` },
      ],
      rows as unknown as Record<string, unknown>[],
    );
  return (
    <div className="view">
      <h1>Usage</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Group by{' '}
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value as Dimension)}>
            {dimensions.map((d) => (
              <option key={d} value={d}>
                {DIMENSION_LABELS[d].one}
              </option>
            ))}
          </select>
        </label>
        <label>
          Over time{' '}
          <select value={bucket} onChange={(e) => setBucket(e.target.value as typeof bucket)}>
            <option value="">whole range</option>
            <option value="day">by day</option>
            <option value="week">by week</option>
            <option value="month">by month</option>
          </select>
        </label>
        <label>
          From <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To (exclusive) <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Only {DIMENSION_LABELS[groupBy].many}{' '}
          <input
            value={filterValue}
            placeholder="comma-separated, empty for all"
            onChange={(e) => setFilterValue(e.target.value)}
          />
        </label>
        <a
          className="button"
          download={`quotient-usage-${groupBy}-${from}-${to}.csv`}
          href={
            rows.length ? `data:text/csv;charset=utf-8,${encodeURIComponent(csv())}` : undefined
          }
          aria-disabled={rows.length === 0}
          data-testid="csv"
        >
          Download CSV
        </a>
      </form>
      {error && <ErrorBox error={error} />}
      {usage && usage.__typename !== 'UsageConnection' && <ErrorBox error={usage.message} />}
      {fetching && !data && <Loading what="usage" />}
      {usage?.__typename === 'UsageConnection' && (
        <>
          {usage.suppressedGroups > 0 && (
            <p className="muted" data-testid="suppressed-groups">
              {usage.suppressedGroups} group(s) hidden: fewer than {usage.minGroupSize} people.
            </p>
          )}
          {rows.length === 0 ? (
            <Empty>No usage in this range. Widen the dates or clear the filter.</Empty>
          ) : (
            <>
              <UsageChart rows={rows} groupBy={groupBy} />
              <table data-testid="usage-table">
                <thead>
                  <tr>
                    {bucket && <th scope="col">Bucket</th>}
                    <th scope="col">{DIMENSION_LABELS[groupBy].one}</th>
                    <th scope="col" className="num">
                      Tokens
                    </th>
                    <th scope="col" className="num">
                      Requests
                    </th>
                    <th scope="col" className="num">
                      Cost
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={`${r.bucket}-${r[groupBy]}`}>
                      {bucket && <td>{r.bucket}</td>}
                      <td>{r[groupBy] ?? '—'}</td>
                      <td className="num">{formatTokens(r.tokens)}</td>
                      <td className="num">{r.requests}</td>
                      <td className="num">{formatMoney(r.cost, currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </div>
  );
}

type UsageResult = NonNullable<ResultOf<typeof UsageQuery>['usage']>;
type UsageNode = Extract<UsageResult, { __typename: 'UsageConnection' }>['edges'][number]['node'];
/** A row with its cost as the exact decimal string (the currency is the connection's). */
type UsageRow = Omit<UsageNode, 'cost'> & { cost: string };

/** Every page of the grouping (pages of 100 keep each query under the server's cost limit). */
function useAllUsage(variables: Vars) {
  const client = useClient();
  const [state, setState] = useState<{
    usage: UsageResult | null;
    rows: UsageRow[];
    fetching: boolean;
    error: CombinedError | null;
  }>({ usage: null, rows: [], fetching: true, error: null });
  useEffect(() => {
    let cancelled = false;
    // drop the previous grouping's rows: a table or CSV must never mix two groupings
    setState({ usage: null, rows: [], fetching: true, error: null });
    (async () => {
      const rows: UsageRow[] = [];
      let after: string | null = null;
      for (let page = 0; page < 50; page++) {
        const r: OperationResult<ResultOf<typeof UsageQuery>> = await client
          .query(UsageQuery, { ...variables, after })
          .toPromise();
        if (cancelled) return;
        const usage: UsageResult | null = r.data?.usage ?? null;
        if (r.error || !usage || usage.__typename !== 'UsageConnection') {
          setState({ usage, rows: [], fetching: false, error: r.error ?? null });
          return;
        }
        rows.push(...usage.edges.map((e) => ({ ...e.node, cost: e.node.cost.amount })));
        if (!usage.pageInfo.hasNextPage) {
          setState({ usage, rows, fetching: false, error: null });
          return;
        }
        after = usage.pageInfo.endCursor ?? null;
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [client, variables]);
  return state;
}

type Row = { bucket: string | null; cost: string } & Partial<Record<Dimension, string | null>>;

function UsageChart({ rows, groupBy }: { rows: Row[]; groupBy: Dimension }) {
  const option = useMemo(() => {
    const buckets = [...new Set(rows.map((r) => r.bucket ?? 'all'))].sort();
    const groups = [...new Set(rows.map((r) => r[groupBy] ?? '—'))];
    return {
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: buckets },
      yAxis: { type: 'value', name: 'cost' },
      series: groups.map((g) => ({
        name: g,
        type: 'bar',
        stack: 'cost',
        data: buckets.map((b) =>
          rows
            .filter((r) => (r.bucket ?? 'all') === b && (r[groupBy] ?? '—') === g)
            .reduce((sum, r) => sum + Number(r.cost), 0),
        ),
      })),
    };
  }, [rows, groupBy]);
  return <Chart label={`Cost by ${DIMENSION_LABELS[groupBy].one}`} option={option} height={300} />;
}
