// Budgets: every budget the role may see, spend against the limit with the forecast and
// the ladder's thresholds; choose a team to drill down (the server suppresses small teams
// and other people's personal budgets below governance).
import { useMemo, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { Chart, loadChartCode } from '../components/Chart.tsx';
import { Band, Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql, type ResultOf } from '../graphql.ts';
import { burnDown } from '../lib/burndown.ts';
import { formatMoney, formatPercent, plainError } from '../lib/format.ts';
import { ladderSteps, placeLadder } from '../lib/ladder.ts';
import type { ViewProps } from './props.ts';

// this view draws a chart at once: fetch the chart code alongside the data
void loadChartCode();

const BudgetsQuery = graphql(`
  query Budgets($team: String, $after: String) {
    activePolicy { id ir }
    budgets(team: $team, first: 50, after: $after) { # 100 would pass the server's query cost limit
      __typename
      ... on BudgetConnection {
        suppressed
        minGroupSize
        stale
        pageInfo { hasNextPage endCursor }
        edges {
          node {
            key subjectKind subjectId currency percent
            limit { amount } effectiveLimit { amount } spent { amount } remaining { amount }
            band bandReason period periodStart periodEnd environment
            forecast { percent value formula }
            nextThreshold { percent action }
          }
        }
      }
      ... on Problem { message }
    }
  }
`);

const SpendQuery = graphql(`
  query BudgetSpend($filter: UsageFilter) {
    usage(filter: $filter, bucket: day, first: 100) {
      __typename
      ... on UsageConnection { edges { node { bucket cost { amount } } } }
      ... on Problem { message }
    }
  }
`);

type BudgetNode = Extract<
  NonNullable<ResultOf<typeof BudgetsQuery>['budgets']>,
  { __typename: 'BudgetConnection' }
>['edges'][number]['node'];

/** Money arrives as exact decimals with a currency; the charts work in numbers. */
type Budget = Omit<BudgetNode, 'limit' | 'effectiveLimit' | 'spent' | 'remaining'> & {
  limit: number;
  effectiveLimit: number;
  spent: number;
  remaining: number;
};

const asBudget = (node: BudgetNode): Budget => ({
  ...node,
  limit: Number(node.limit.amount),
  effectiveLimit: Number(node.effectiveLimit.amount),
  spent: Number(node.spent.amount),
  remaining: Number(node.remaining.amount),
});

export default function Budgets({ session }: ViewProps) {
  // a member's usage query returns only their own usage: it cannot draw a team's days
  const daily = session.role !== 'member';
  const [team, setTeam] = useState<string | null>(null);
  return (
    <div className="view">
      <h1>Budgets</h1>
      <nav aria-label="Budget level" className="crumbs">
        <button
          type="button"
          onClick={() => setTeam(null)}
          aria-current={team ? undefined : 'page'}
        >
          Organisation
        </button>
        {team && <span> › team {team}</span>}
      </nav>
      <BudgetList key={team ?? ''} team={team} daily={daily} onTeam={setTeam} />
    </div>
  );
}

/** One level's budgets, 50 a page (the query cost limit); "Show more" appends the next. */
function BudgetList({
  team,
  daily,
  onTeam,
}: {
  team: string | null;
  daily: boolean;
  onTeam: (team: string) => void;
}) {
  const client = useClient();
  const [selected, setSelected] = useState<string | null>(null);
  const [more, setMore] = useState<{ nodes: BudgetNode[]; next: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  const [{ data, fetching, error }] = useQuery({
    query: BudgetsQuery,
    variables: { team, after: null },
  });
  if (fetching && !data) return <Loading what="budgets" />;
  if (error) return <ErrorBox error={error} />;
  const result = data?.budgets;
  if (!result) return null;
  if (result.__typename !== 'BudgetConnection') return <ErrorBox error={result.message} />;
  const nodes = [...result.edges.map((e) => e.node), ...(more?.nodes ?? [])];
  const budgets = nodes.map(asBudget);
  const next = more ? more.next : result.pageInfo.hasNextPage ? result.pageInfo.endCursor : null;
  const showMore = async () => {
    if (!next) return;
    setLoadingMore(true);
    setMoreError(null);
    const r = await client.query(BudgetsQuery, { team, after: next }).toPromise();
    setLoadingMore(false);
    const page = r.data?.budgets;
    if (r.error) setMoreError(plainError(r.error));
    else if (page?.__typename !== 'BudgetConnection')
      setMoreError(page?.message ?? 'No answer from the server; try again.');
    else
      setMore({
        nodes: [...(more?.nodes ?? []), ...page.edges.map((e) => e.node)],
        next: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
      });
  };
  const steps = ladderSteps(data?.activePolicy?.ir, 'budget');
  const chosen = budgets.find((b) => keyOf(b) === selected) ?? budgets[0];
  return (
    <>
      {result.suppressed > 0 && (
        <p className="muted" data-testid="suppressed">
          {result.suppressed} budget(s) hidden for privacy (groups under {result.minGroupSize}{' '}
          people, or other people’s personal budgets).
        </p>
      )}
      {budgets.length === 0 ? (
        <Empty>No budgets to show. The active policy’s `budget` lines define them.</Empty>
      ) : (
        <>
          {chosen && <BudgetChart budget={chosen} steps={steps} daily={daily} />}
          <table data-testid="budgets">
            <caption className="sr-only">
              {budgets.length} budgets{next ? ', more to show' : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Budget</th>
                <th scope="col">For</th>
                <th scope="col" className="num">
                  Spent
                </th>
                <th scope="col" className="num">
                  Limit
                </th>
                <th scope="col" className="num">
                  Used
                </th>
                <th scope="col" className="num">
                  Forecast
                </th>
                <th scope="col">Band</th>
                <th scope="col">Show</th>
              </tr>
            </thead>
            <tbody>
              {budgets.map((b) => (
                <tr
                  key={keyOf(b)}
                  data-budget={keyOf(b)}
                  className={b === chosen ? 'mine' : undefined}
                >
                  <td>{b.key}</td>
                  <td>
                    {b.subjectKind === 'team' && b.subjectId && !team ? (
                      <button
                        type="button"
                        className="link"
                        onClick={() => b.subjectId && onTeam(b.subjectId)}
                      >
                        team {b.subjectId}
                      </button>
                    ) : (
                      `${b.subjectKind}${b.subjectId ? ` ${b.subjectId}` : ''}`
                    )}
                  </td>
                  <td className="num">{formatMoney(b.spent, b.currency)}</td>
                  <td className="num">{formatMoney(b.effectiveLimit, b.currency)}</td>
                  <td className="num">{formatPercent(b.percent)}</td>
                  <td className="num">{formatPercent(b.forecast.percent)}</td>
                  <td>
                    <Band band={b.band} />
                  </td>
                  <td>
                    <button
                      type="button"
                      aria-pressed={b === chosen}
                      onClick={() => setSelected(keyOf(b))}
                    >
                      Chart<span className="sr-only"> {b.key}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted" data-testid="budget-count">
            {budgets.length} budget(s) shown{next ? '; more below' : ''}.
          </p>
          {next && (
            <div className="actions">
              <button type="button" disabled={loadingMore} onClick={showMore}>
                {loadingMore ? 'Loading more budgets…' : 'Show more budgets'}
              </button>
            </div>
          )}
          {moreError && <ErrorBox error={moreError} />}
        </>
      )}
    </>
  );
}

function keyOf(b: Budget): string {
  return `${b.key}|${b.subjectId ?? ''}`;
}

function BudgetChart({
  budget,
  steps,
  daily,
}: {
  budget: Budget;
  steps: ReturnType<typeof ladderSteps>;
  daily: boolean;
}) {
  const filter = {
    from: budget.periodStart.slice(0, 10),
    ...(budget.subjectKind === 'team' && budget.subjectId ? { teams: [budget.subjectId] } : {}),
    ...(budget.environment ? { environments: [budget.environment] } : {}),
  };
  const [{ data, error }] = useQuery({ query: SpendQuery, variables: { filter }, pause: !daily });
  const usage = data?.usage;
  const ladder = placeLadder(steps, budget.effectiveLimit, budget.percent);
  const series = useMemo(() => {
    const today = new Date().toISOString().slice(0, 10);
    if (!daily) {
      // period to date as one step: the server's spend, without a daily history
      const rows = [{ day: today, amount: budget.spent }];
      return burnDown(
        rows,
        budget.periodStart,
        budget.periodEnd,
        today,
        budget.effectiveLimit,
        budget.forecast.value,
      );
    }
    if (usage?.__typename !== 'UsageConnection') return null;
    const rows = usage.edges.map((e) => ({
      day: e.node.bucket ?? '',
      amount: Number(e.node.cost.amount),
    }));
    return burnDown(
      rows,
      budget.periodStart,
      budget.periodEnd,
      today,
      budget.effectiveLimit,
      budget.forecast.value,
    );
  }, [usage, budget, daily]);
  if (error) return <ErrorBox error={error} />;
  if (usage && usage.__typename !== 'UsageConnection') return <ErrorBox error={usage.message} />;
  if (!series) return <Loading what="spend by day" />;
  return (
    <section className="card" aria-labelledby="budget-chart-title">
      <h2 id="budget-chart-title">
        {budget.key}
        {budget.subjectId ? ` (${budget.subjectId})` : ''}: {formatPercent(budget.percent)} spent
      </h2>
      <p className="muted">
        {budget.bandReason}. Forecast {formatPercent(budget.forecast.percent)} by{' '}
        {budget.periodEnd.slice(0, 10)} ({budget.forecast.formula}).
      </p>
      <Chart
        label={`Cumulative spend against the limit of ${formatMoney(budget.effectiveLimit, budget.currency)}`}
        option={{
          tooltip: { trigger: 'axis' },
          legend: { data: ['spent', 'forecast'], top: 0 },
          grid: { left: 70, right: 90, top: 40, bottom: 30 },
          xAxis: { type: 'category', data: series.days },
          yAxis: { type: 'value' },
          series: [
            {
              name: 'spent',
              type: 'line',
              data: series.used,
              showSymbol: false,
              markLine: {
                symbol: 'none',
                label: { formatter: '{b}' },
                data: [
                  { name: 'limit', yAxis: budget.effectiveLimit },
                  ...ladder
                    .filter((s) => s.percent !== 100)
                    .map((s) => ({ name: `${s.percent}%`, yAxis: s.amount })),
                ],
              },
            },
            {
              name: 'forecast',
              type: 'line',
              data: series.forecast,
              showSymbol: false,
              lineStyle: { type: 'dashed' },
            },
          ],
        }}
      />
    </section>
  );
}
