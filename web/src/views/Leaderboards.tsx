// Leaderboards: each board by cohort and window, movement, an explanation per entry.
// Below governance the server masks people (pseudonyms) and leaves restricted teams out.
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Pager, useCursorPages } from '../components/paging.tsx';
import { Card, Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql, type ResultOf } from '../graphql.ts';
import { dayEndingAt, plainError } from '../lib/format.ts';
import { boardsOf } from '../lib/policy-text.ts';
import { usePrefetchedQuery } from '../prefetch.ts';
import { BoardsQuery } from './first-queries.ts';
import type { ViewProps } from './props.ts';

const BoardQuery = graphql(`
  query Board($name: String!, $cohort: String, $window: String, $after: String) {
    leaderboard(name: $name, cohort: $cohort, window: $window, first: 50, after: $after) {
      __typename
      ... on LeaderboardConnection {
        pageInfo { hasNextPage endCursor }
        board { name label window periodStart periodEnd asOf cohorts cohort total subjectKind stale }
        edges {
          node {
            rank score subjectId masked cohort subjectKind
            person { id name }
            team { id name }
            movement { status change previousRank }
            explanation {
              formula
              facts { name window value }
              metrics { name formula value unit }
              flags { kind note where }
            }
          }
        }
      }
      ... on Problem { code message }
    }
  }
`);

const OptInQuery = graphql(`
  query MyOptIn($id: String!) {
    person(id: $id) { __typename ... on QueryPersonSuccess { data { id optedIn } } }
  }
`);

const SetOptIn = graphql(`
  mutation SetOptIn($optedIn: Boolean!) {
    setLeaderboardOptIn(optedIn: $optedIn) {
      __typename
      ... on MutationSetLeaderboardOptInSuccess { data { id optedIn } }
      ... on Problem { message }
    }
  }
`);

type Entry = Extract<
  NonNullable<ResultOf<typeof BoardQuery>['leaderboard']>,
  { __typename: 'LeaderboardConnection' }
>['edges'][number]['node'];

const WINDOWS = [
  { value: '', label: 'Current period' },
  { value: 'last-month', label: 'Last month' },
  { value: 'last-quarter', label: 'Last quarter' },
  { value: 'this-quarter', label: 'This quarter' },
];

export default function Leaderboards({ session }: ViewProps) {
  const [{ data, fetching, error }] = usePrefetchedQuery({ query: BoardsQuery, variables: {} });
  const boards = boardsOf(data?.activePolicy?.ir);
  const timeZone = (data?.activePolicy?.ir as { timezone?: string } | null)?.timezone ?? 'UTC';
  const [name, setName] = useState<string | null>(null);
  const [cohort, setCohort] = useState('');
  const [window, setWindow] = useState('');
  if (fetching && !data) return <Loading what="the leaderboards" />;
  if (error) return <ErrorBox error={error} />;
  if (boards.length === 0) {
    return (
      <Empty>
        The active policy defines no leaderboards. Governance adds them in a policy version.
      </Empty>
    );
  }
  const current = boards.find((b) => b.name === name) ?? boards[0];
  return (
    <div className="view">
      <h1>Leaderboards</h1>
      <div className="filters">
        <label htmlFor="board-select">Board</label>
        <select
          id="board-select"
          value={current.name}
          onChange={(e) => {
            setName(e.target.value);
            setCohort('');
          }}
        >
          {boards.map((b) => (
            <option key={b.name} value={b.name}>
              {b.label}
            </option>
          ))}
        </select>
        <label htmlFor="window-select">Window</label>
        <select id="window-select" value={window} onChange={(e) => setWindow(e.target.value)}>
          {WINDOWS.map((w) => (
            <option key={w.value} value={w.value}>
              {w.label}
            </option>
          ))}
        </select>
        <BoardCohorts name={current.name} window={window} cohort={cohort} setCohort={setCohort} />
        {session.person && <OptInToggle person={session.person} />}
      </div>
      <p className="muted">
        Score: <code>{current.scoreText}</code>
        {current.eligibleText && (
          <>
            {' '}
            · eligible when <code>{current.eligibleText}</code>
          </>
        )}
        {current.excludeText && (
          <>
            {' '}
            · excluded when <code>{current.excludeText}</code>
          </>
        )}
      </p>
      <BoardTable
        key={`${current.name}|${cohort}|${window}`}
        name={current.name}
        cohort={cohort}
        window={window}
        me={session.person ?? null}
        timeZone={timeZone}
      />
    </div>
  );
}

function BoardCohorts(props: {
  name: string;
  window: string;
  cohort: string;
  setCohort: (c: string) => void;
}) {
  // the same variables as the table's first page with all cohorts: one request for both
  const [{ data }] = useQuery({
    query: BoardQuery,
    variables: { name: props.name, cohort: null, window: props.window || null, after: null },
  });
  const result = data?.leaderboard;
  const cohorts = result?.__typename === 'LeaderboardConnection' ? result.board.cohorts : [];
  if (cohorts.length === 0) return null;
  return (
    <>
      <label htmlFor="cohort-select">Cohort</label>
      <select
        id="cohort-select"
        value={props.cohort}
        onChange={(e) => props.setCohort(e.target.value)}
      >
        <option value="">All cohorts</option>
        {cohorts.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </>
  );
}

function BoardTable(props: {
  name: string;
  cohort: string;
  window: string;
  me: string | null;
  timeZone: string;
}) {
  const pages = useCursorPages();
  const after = pages.after;
  const [{ data, fetching, error }] = useQuery({
    query: BoardQuery,
    variables: {
      name: props.name,
      cohort: props.cohort || null,
      window: props.window || null,
      after,
    },
  });
  const [open, setOpen] = useState<Entry | null>(null);
  if (fetching && !data) return <Loading what="the board" />;
  if (error) return <ErrorBox error={error} />;
  const result = data?.leaderboard;
  if (!result) return null;
  if (result.__typename !== 'LeaderboardConnection') return <ErrorBox error={result.message} />;
  const entries = result.edges.map((e) => e.node);
  const masked = entries.some((e) => e.masked);
  // a past window, or a team board below governance (closed days only): not live
  const closedDay = dayEndingAt(result.board.asOf, props.timeZone);
  return (
    <div className="board-layout">
      <div>
        <p className="muted" data-testid="board-window" data-board={result.board.name}>
          {result.board.window} from {result.board.periodStart.slice(0, 10)} to{' '}
          {result.board.periodEnd.slice(0, 10)} · {result.board.total} entries
          {closedDay && ` · as of the end of ${closedDay}`}
          {masked && ' · identities masked for your role'}
          {result.board.stale && ' · newer data is being evaluated'}
        </p>
        {entries.length === 0 ? (
          <Empty>
            Nobody is ranked on this board for this window and cohort. Boards fill as people with
            enough activity opt in.
          </Empty>
        ) : (
          <table className="board" data-testid="board" data-board={result.board.name}>
            <caption className="sr-only">Ranked entries</caption>
            <thead>
              <tr>
                <th scope="col">Rank</th>
                <th scope="col">Who</th>
                <th scope="col">Cohort</th>
                <th scope="col" className="num">
                  Score
                </th>
                <th scope="col">Movement</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => {
                const who = e.person?.name ?? e.team?.name ?? e.subjectId;
                const mine = props.me !== null && e.subjectId === props.me;
                return (
                  <tr key={`${e.cohort}-${e.subjectId}`} className={mine ? 'mine' : undefined}>
                    <td>{e.rank}</td>
                    <td data-masked={e.masked ? 'true' : 'false'}>
                      {who}
                      {mine && ' (you)'}
                    </td>
                    <td>{e.cohort ?? '—'}</td>
                    <td className="num">{e.score.toFixed(1)}</td>
                    <td>{movementText(e.movement)}</td>
                    <td>
                      <button
                        type="button"
                        aria-expanded={open === e}
                        onClick={() => setOpen(open === e ? null : e)}
                      >
                        Explain<span className="sr-only"> rank {e.rank}</span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        <Pager
          pages={pages}
          pageInfo={result.pageInfo}
          labels={{ back: 'Previous page', forward: 'Next page' }}
        />
      </div>
      {open && <Explanation entry={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

function movementText(m: Entry['movement']): string {
  if (m.status === 'new') return 'new';
  if (m.status === 'same') return '—';
  return `${m.status === 'up' ? '▲' : '▼'} ${Math.abs(m.change ?? 0)}`;
}

function Explanation({ entry, onClose }: { entry: Entry; onClose: () => void }) {
  return (
    <aside className="explanation" aria-label={`Explanation of rank ${entry.rank}`}>
      <Card title={`Rank ${entry.rank}: score ${entry.score.toFixed(2)}`}>
        <p>
          <code>{entry.explanation.formula}</code>
        </p>
        <h3>Metrics</h3>
        <ul>
          {entry.explanation.metrics.map((m) => (
            <li key={m.name}>
              {m.name} = {m.value.toFixed(3)} ({m.formula})
            </li>
          ))}
        </ul>
        <h3>Facts</h3>
        <ul>
          {entry.explanation.facts.map((f) => (
            <li key={`${f.name}-${f.window}`}>
              {f.name} over {f.window}: {f.value}
            </li>
          ))}
        </ul>
        {entry.explanation.flags.length > 0 && (
          <>
            <h3>Notes</h3>
            <ul>
              {entry.explanation.flags.map((f) => (
                <li key={`${f.kind}-${f.where}`}>{f.note}</li>
              ))}
            </ul>
          </>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </Card>
    </aside>
  );
}

function OptInToggle({ person }: { person: string }) {
  const [{ data }, refetch] = useQuery({ query: OptInQuery, variables: { id: person } });
  const [state, setOptIn] = useMutation(SetOptIn);
  const [message, setMessage] = useState<string | null>(null);
  const me = data?.person.__typename === 'QueryPersonSuccess' ? data.person.data : null;
  if (!me) return null;
  return (
    <label className="toggle">
      <input
        type="checkbox"
        checked={me.optedIn ?? false}
        disabled={state.fetching}
        onChange={async (e) => {
          const r = await setOptIn({ optedIn: e.target.checked });
          const out = r.data?.setLeaderboardOptIn;
          if (r.error) setMessage(plainError(r.error));
          else if (out && out.__typename !== 'MutationSetLeaderboardOptInSuccess')
            setMessage(out.message);
          else {
            setMessage(null);
            refetch({ requestPolicy: 'network-only' });
          }
        }}
      />{' '}
      Show me on boards that need opt-in
      {message && (
        <span className="error" role="alert">
          {' '}
          {message}
        </span>
      )}
    </label>
  );
}
