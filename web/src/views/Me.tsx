// Me: where I stand and what to do next.
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Chart, loadChartCode } from '../components/Chart.tsx';
import { Band, Card, Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql } from '../graphql.ts';
import { burnDown } from '../lib/burndown.ts';
import { formatPercent, formatTokens, plainError } from '../lib/format.ts';
import { ladderSteps, placeLadder } from '../lib/ladder.ts';
import { type BoardInfo, boardsOf } from '../lib/policy-text.ts';
import { whyNotRanked } from '../lib/ranking.ts';
import { seesNames } from '../lib/views.ts';
import { usePrefetchedQuery } from '../prefetch.ts';
import { MeQuery, meVariables } from './first-queries.ts';
import type { ViewProps } from './props.ts';

// this view draws a chart at once: fetch the chart code alongside the data
void loadChartCode();

const Acknowledge = graphql(`
  mutation Acknowledge($id: ID!, $justification: String) {
    acknowledgeEscalation(id: $id, justification: $justification) {
      __typename
      ... on Escalation { id status }
      ... on Problem { message }
    }
  }
`);

const RequestException = graphql(`
  mutation RequestException($extraTokens: Float, $expiresAt: DateTime!, $justification: String!, $subject: String) {
    requestException(extraTokens: $extraTokens, expiresAt: $expiresAt, justification: $justification, subject: $subject) {
      __typename
      ... on QuotaException { id status approver }
      ... on Problem { message }
    }
  }
`);

const StandingQuery = graphql(`
  query MyStanding($board: String!) {
    myStanding(board: $board) {
      __typename
      ... on Standing { ranked rank score cohort reason }
      ... on Problem { message }
    }
  }
`);

export default function Me({ session }: ViewProps) {
  const person = session.person!;
  const named = seesNames(session.role!);
  const [{ data, fetching, error }, refetch] = usePrefetchedQuery({
    query: MeQuery,
    variables: meVariables(session),
  });
  if (fetching && !data) return <Loading what="your quota" />;
  if (error) return <ErrorBox error={error} />;
  const quota = data?.quota;
  if (!quota) return null;
  if (quota.__typename !== 'Quota') {
    return (
      <Empty>
        <p>{'message' in quota ? quota.message : 'No quota applies to you.'}</p>
      </Empty>
    );
  }
  const ir = data?.activePolicy?.ir;
  const ladder = placeLadder(ladderSteps(ir, 'quota'), quota.effectiveLimit, quota.percent);
  const boards = boardsOf(ir);
  const escalations = data?.escalations.edges.map((e) => e.node) ?? [];
  const exceptions = data?.exceptions.edges.map((e) => e.node) ?? [];
  const refresh = () => refetch({ requestPolicy: 'network-only' });

  return (
    <div className="view me">
      <h1>Where you stand</h1>
      <div className="grid">
        <Card title="Your tier" id="tier">
          <p className="big" data-testid="tier">
            {quota.tierLabel ?? quota.tier}
          </p>
          <p>
            {formatTokens(quota.limit)} tokens per {quota.period}; models:{' '}
            {quota.allowedClasses.join(', ')}.
          </p>
          <p className="muted">Assigned by rule: {quota.assignedBy}</p>
        </Card>
        <Card title="Quota used" id="quota">
          <p className="big">
            <span data-testid="quota-percent">{formatPercent(quota.percent)}</span>{' '}
            <Band band={quota.band} />
          </p>
          <p>
            {formatTokens(quota.used)} of {formatTokens(quota.effectiveLimit)} tokens (
            {formatTokens(Math.max(0, quota.remaining))} left until {quota.periodEnd.slice(0, 10)}
            ).
          </p>
          <p className="muted" data-testid="band-reason">
            Why {quota.band}: {quota.bandReason}
          </p>
          <Ladder steps={ladder} percent={quota.percent} />
        </Card>
      </div>
      <Card title="Burn-down and forecast" id="burndown">
        <p>
          At this pace you will use {formatPercent(quota.forecast.percent)} of your quota by the
          period end ({quota.forecast.formula}).
          {quota.nextThreshold &&
            ` Next step at ${quota.nextThreshold.percent}%: ${quota.nextThreshold.action}.`}
        </p>
        <BurnDownChart
          daily={quota.daily}
          periodStart={quota.periodStart}
          periodEnd={quota.periodEnd}
          limit={quota.effectiveLimit}
          forecast={quota.forecast.value}
          ladder={ladder}
        />
      </Card>
      <Card title="What to do next" id="steps">
        {escalations.length === 0 ? (
          <p className="empty">
            Nothing is waiting for you. Open steps appear here when usage crosses a threshold.
          </p>
        ) : (
          <ul className="steps">
            {escalations.map((e) => (
              <OpenStep key={e.id} step={e} onDone={refresh} />
            ))}
          </ul>
        )}
        <ExceptionForm subject={named ? person : null} onDone={refresh} />
        {exceptions.length > 0 && (
          <table>
            <caption>Your exception requests</caption>
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">Extra tokens</th>
                <th scope="col">Until</th>
                <th scope="col">Status</th>
                <th scope="col">Approver</th>
              </tr>
            </thead>
            <tbody>
              {exceptions.map((x) => (
                <tr key={x.id}>
                  <td>{x.createdAt.slice(0, 10)}</td>
                  <td>{x.extraTokens ? formatTokens(x.extraTokens) : '—'}</td>
                  <td>{x.expiresAt.slice(0, 10)}</td>
                  <td>{x.status}</td>
                  <td>{x.approver}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Your rank" id="ranks">
        {boards.length === 0 ? (
          <p className="empty">The active policy has no leaderboards.</p>
        ) : (
          <ul className="ranks">
            {boards.map((b) => (
              <MyRank
                key={b.name}
                board={b}
                optedIn={quota.person.optedIn ?? false}
                restricted={quota.person.team?.sensitivity === 'restricted'}
              />
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}

function Ladder({ steps, percent }: { steps: ReturnType<typeof placeLadder>; percent: number }) {
  if (steps.length === 0) return null;
  const max = Math.max(120, ...steps.map((s) => s.percent), percent);
  return (
    <figure className="ladder" aria-label="Escalation ladder">
      <div className="ladder-bar">
        <div
          className="ladder-fill"
          style={{ width: `${Math.min(100, (percent / max) * 100)}%` }}
        />
        {steps.map((s) => (
          <div
            key={s.percent}
            className={`ladder-mark${s.reached ? ' reached' : ''}`}
            style={{ left: `${(s.percent / max) * 100}%` }}
            title={`${s.percent}%: ${s.label}`}
          />
        ))}
      </div>
      <ol className="ladder-steps">
        {steps.map((s) => (
          <li key={s.percent} className={s.reached ? 'reached' : ''}>
            <strong>{s.percent}%</strong> ({formatTokens(s.amount)}): {s.label}
            {s.reached ? ' — reached' : ''}
          </li>
        ))}
      </ol>
    </figure>
  );
}

function BurnDownChart(props: {
  daily: readonly { day: string; tokens: number }[];
  periodStart: string;
  periodEnd: string;
  limit: number;
  forecast: number;
  ladder: ReturnType<typeof placeLadder>;
}) {
  const series = useMemo(() => {
    const rows = props.daily.map((d) => ({ day: d.day, amount: d.tokens }));
    const today = new Date().toISOString().slice(0, 10);
    return burnDown(rows, props.periodStart, props.periodEnd, today, props.limit, props.forecast);
  }, [props.daily, props.periodStart, props.periodEnd, props.limit, props.forecast]);
  return (
    <Chart
      label={`Cumulative tokens this period against the limit of ${formatTokens(props.limit)}`}
      option={{
        tooltip: { trigger: 'axis' },
        legend: { data: ['used', 'forecast'], top: 0 },
        grid: { left: 60, right: 90, top: 40, bottom: 30 },
        xAxis: { type: 'category', data: series.days },
        yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatTokens(v) } },
        series: [
          {
            name: 'used',
            type: 'line',
            data: series.used,
            showSymbol: false,
            markLine: {
              symbol: 'none',
              label: { formatter: '{b}' },
              data: [
                { name: 'limit', yAxis: props.limit },
                ...props.ladder
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
  );
}

type Step = {
  id: string;
  ladder: string | null;
  rule: string | null;
  actionKind: string;
  threshold: number | null;
  createdAt: string;
};

function OpenStep({ step, onDone }: { step: Step; onDone: () => void }) {
  const [text, setText] = useState('');
  const [result, ack] = useMutation(Acknowledge);
  const [message, setMessage] = useState<string | null>(null);
  const what = step.ladder
    ? `${step.ladder} reached ${step.threshold}%`
    : `rule ${step.rule ?? ''} fired`;
  const submit = async (justification: string | null) => {
    const r = await ack({ id: step.id, justification });
    const out = r.data?.acknowledgeEscalation;
    if (r.error) setMessage(plainError(r.error));
    else if (out && out.__typename !== 'Escalation') setMessage(out.message);
    else onDone();
  };
  return (
    <li className="step">
      <p>
        <strong>{what}</strong> on {step.createdAt.slice(0, 10)}:{' '}
        {step.actionKind.replaceAll('_', ' ')}.
      </p>
      {step.actionKind === 'require_justification' ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit(text);
          }}
        >
          <label htmlFor={`justify-${step.id}`}>Why do you need this usage?</label>
          <textarea
            id={`justify-${step.id}`}
            value={text}
            onChange={(e) => setText(e.target.value)}
            required
            minLength={5}
          />
          <button type="submit" disabled={result.fetching}>
            Send justification
          </button>
        </form>
      ) : step.actionKind === 'require_approval' ? (
        <p>Ask for approval with the exception form below: your approver decides in their inbox.</p>
      ) : (
        <button type="button" onClick={() => void submit(null)} disabled={result.fetching}>
          Acknowledge
        </button>
      )}
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
    </li>
  );
}

function ExceptionForm({ subject, onDone }: { subject: string | null; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [tokens, setTokens] = useState('1000000');
  const [days, setDays] = useState('7');
  const [why, setWhy] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [state, request] = useMutation(RequestException);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Request approval or an exception…
      </button>
    );
  }
  return (
    <form
      className="exception-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const expiresAt = new Date(Date.now() + Number(days) * 86_400_000).toISOString();
        const r = await request({
          extraTokens: Number(tokens),
          expiresAt,
          justification: why,
          subject,
        });
        const out = r.data?.requestException;
        if (r.error) setMessage(plainError(r.error));
        else if (out && out.__typename !== 'QuotaException') setMessage(out.message);
        else {
          setMessage(`Sent: ${out?.approver ?? 'your approver'} decides.`);
          setOpen(false);
          onDone();
        }
      }}
    >
      <fieldset>
        <legend>Request extra tokens</legend>
        <label htmlFor="x-tokens">Extra tokens</label>
        <input
          id="x-tokens"
          inputMode="numeric"
          value={tokens}
          onChange={(e) => setTokens(e.target.value)}
          pattern="[0-9]+"
          required
        />
        <label htmlFor="x-days">For how many days</label>
        <input
          id="x-days"
          inputMode="numeric"
          value={days}
          onChange={(e) => setDays(e.target.value)}
          pattern="[0-9]+"
          required
        />
        <label htmlFor="x-why">Justification</label>
        <textarea id="x-why" value={why} onChange={(e) => setWhy(e.target.value)} required />
        <button type="submit" disabled={state.fetching}>
          Send request
        </button>{' '}
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </fieldset>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

/** My standing on one board: my rank, or why I am not ranked (the server's reason). */
function MyRank(props: { board: BoardInfo; optedIn: boolean; restricted: boolean }) {
  const [{ data, error }] = useQuery({
    query: StandingQuery,
    variables: { board: props.board.name },
  });
  const standing = data?.myStanding;
  let body: React.ReactNode = <Loading what="the board" />;
  if (error) body = <ErrorBox error={error} />;
  else if (standing && standing.__typename !== 'Standing')
    body = <ErrorBox error={standing.message} />;
  else if (standing?.ranked && standing.rank !== null && standing.score !== null) {
    body = (
      <span data-testid={`rank-${props.board.name}`}>
        Rank <strong>{standing.rank}</strong>
        {standing.cohort ? ` in cohort ${standing.cohort}` : ''} with score{' '}
        {standing.score.toFixed(1)} <span className="muted">(score = {props.board.scoreText})</span>
        .
      </span>
    );
  } else if (standing) {
    body = (
      <span data-testid={`not-ranked-${props.board.name}`}>
        Not ranked.{' '}
        {standing.reason ??
          whyNotRanked(props.board, { optedIn: props.optedIn, restrictedTeam: props.restricted })}
        {props.board.requiresOptIn && !props.optedIn && ' Opt in on the Leaderboards view.'}
      </span>
    );
  }
  return (
    <li>
      <strong>{props.board.label}</strong> ({props.board.window}): {body}
    </li>
  );
}
