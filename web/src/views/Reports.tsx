// My reports: a manager's view of the people who name them as manager (myReports): band
// and quota use, this month's metrics, and a weekly trend of one metric. Every read is
// audited on the server; nobody else is shown.
import { type ReactNode, useState } from 'react';
import { useQuery } from 'urql';
import { Band, Card, Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql } from '../graphql.ts';
import { formatPercent, formatTokens, problemText } from '../lib/format.ts';
import type { ViewProps } from './props.ts';

const ReportsQuery = graphql(`
  query MyReports($weeks: Int) {
    myReports(weeks: $weeks) {
      __typename
      ... on QueryMyReportsSuccess {
        data {
          metrics
          trendFrom
          reports {
            id
            name
            team
            role
            band
            quotaPercent
            quotaUsed
            quotaLimit
            month { values { metric value } }
            trend { bucket values { metric value } }
          }
        }
      }
      ... on Problem { code message }
    }
  }
`);

/** A metric value for a table cell: ratios below 10 with two decimals, others as counts. */
function metricText(value: number | undefined): string {
  if (value === undefined) return '—';
  return Math.abs(value) < 10 ? value.toFixed(2) : formatTokens(value);
}

export default function Reports(_props: ViewProps) {
  const [result] = useQuery({ query: ReportsQuery, variables: { weeks: 8 } });
  const [metric, setMetric] = useState<string | null>(null);
  const page = (body: ReactNode) => (
    <>
      <h1>My reports</h1>
      {body}
    </>
  );
  if (result.fetching) return page(<Loading what="your reports" />);
  if (result.error) return page(<ErrorBox error={result.error} />);
  const answer = result.data?.myReports;
  if (!answer) return page(<ErrorBox error="no answer" />);
  if (answer.__typename !== 'QueryMyReportsSuccess')
    return page(<ErrorBox error={'code' in answer ? problemText(answer) : 'refused'} />);
  const { metrics, reports, trendFrom } = answer.data;
  if (reports.length === 0)
    return page(<Empty>Nobody names you as their manager in the directory.</Empty>);
  const shown = metric ?? metrics[0] ?? null;
  const value = (values: readonly { metric: string; value: number }[] | undefined, m: string) =>
    values?.find((v) => v.metric === m)?.value;
  return page(
    <>
      <Card title="This month">
        <table>
          <caption className="sr-only">
            Your reports: quota band and use, metrics this month
          </caption>
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Team</th>
              <th scope="col">Band</th>
              <th scope="col">Quota used</th>
              {metrics.map((m) => (
                <th scope="col" key={m}>
                  {m}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {reports.map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.name ?? r.id}</th>
                <td>{r.team ?? '—'}</td>
                <td>{r.band ? <Band band={r.band} /> : '—'}</td>
                <td>
                  {r.quotaPercent === null || r.quotaPercent === undefined
                    ? '—'
                    : `${formatPercent(r.quotaPercent)} of ${formatTokens(r.quotaLimit ?? 0)}`}
                </td>
                {metrics.map((m) => (
                  <td key={m}>{metricText(value(r.month?.values, m))}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {shown && (
        <Card title="Weekly trend">
          <label>
            Metric{' '}
            <select value={shown} onChange={(e) => setMetric(e.target.value)}>
              {metrics.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <table>
            <caption className="sr-only">
              {shown} by ISO week from {trendFrom}
            </caption>
            <thead>
              <tr>
                <th scope="col">Person</th>
                {(reports[0]?.trend ?? []).map((p) => (
                  <th scope="col" key={p.bucket}>
                    {p.bucket}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {reports.map((r) => (
                <tr key={r.id}>
                  <th scope="row">{r.name ?? r.id}</th>
                  {r.trend.map((p) => (
                    <td key={p.bucket}>{metricText(value(p.values, shown))}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </>,
  );
}
