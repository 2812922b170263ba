// Policies: versions with who published and activated them, the semantic diff of any two
// side by side, the impact replay with charts, and activate / roll back with a confirmation.
import { useMemo, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Chart } from '../components/Chart.tsx';
import { Card, Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql, type ResultOf } from '../graphql.ts';
import { plainError } from '../lib/format.ts';
import { type QuotaDistribution, quotaHistogram } from '../lib/quota-histogram.ts';
import { seesNames } from '../lib/views.ts';
import type { ViewProps } from './props.ts';

const PoliciesQuery = graphql(`
  query Policies {
    policies(first: 50) {
      edges {
        node { id version name status author message createdAt activatedAt activatedBy hash parent { id version } }
      }
    }
  }
`);

const DiffQuery = graphql(`
  query Diff($from: PolicySideInput!, $to: PolicySideInput!) {
    policyDiff(from: $from, to: $to) {
      __typename
      ... on QueryPolicyDiffSuccess {
        data {
          equivalent semanticChanges counts
          from { label hash } to { label hash }
          changes { construct subject kind semantic before after affects fields { field before after } }
        }
      }
      ... on Problem { message }
    }
  }
`);

export const ImpactQuery = graphql(`
  query Impact($from: PolicySideInput!, $to: PolicySideInput!, $window: String!) {
    policyImpact(from: $from, to: $to, window: $window) {
      __typename
      ... on QueryPolicyImpactSuccess {
        data {
          hasData message window windowFrom windowTo people teams identities notes
          tierChanges tierTransitions { from to count }
          quotaDistribution
          escalations { ladder trigger threshold before after delta }
          rules { rule before after delta }
          budgetFlipCount
          budgetFlips { budget kind subject { id masked } before { band percent } after { band percent } }
          leaderboards {
            name rankedBefore rankedAfter movedCount enteringCount leavingCount kendallTau
            largestMoves { subject { id masked } rankBefore rankAfter move }
          }
          cost
        }
      }
      ... on Problem { message }
    }
  }
`);

const Activate = graphql(`
  mutation Activate($id: Int!) {
    activatePolicy(id: $id) {
      __typename
      ... on MutationActivatePolicySuccess { data { id version status activatedAt } }
      ... on Problem { message }
    }
  }
`);

type Version = ResultOf<typeof PoliciesQuery>['policies']['edges'][number]['node'];

export default function Policies({ session }: ViewProps) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: PoliciesQuery });
  const versions = data?.policies.edges.map((e) => e.node) ?? [];
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  if (fetching && !data) return <Loading what="policy versions" />;
  if (error) return <ErrorBox error={error} />;
  if (versions.length === 0) {
    return <Empty>No policy is published yet. Publish one with `quotient policy publish`.</Empty>;
  }
  const active = versions.find((v) => v.status === 'active');
  const toId = to ?? versions[0].id;
  const fromId = from ?? (versions.find((v) => v.id !== toId) ?? versions[0]).id;
  const governs = seesNames(session.role!);
  return (
    <div className="view">
      <h1>Policies</h1>
      <table data-testid="versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Published</th>
            <th scope="col">Activated</th>
            <th scope="col">Message</th>
            {governs && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.id}>
              <td>
                v{v.id} {v.version}
              </td>
              <td>{v.status}</td>
              <td>
                {v.createdAt.slice(0, 16).replace('T', ' ')} by {v.author ?? 'unknown'}
              </td>
              <td>
                {v.activatedAt
                  ? `${v.activatedAt.slice(0, 16).replace('T', ' ')}${v.activatedBy ? ` by ${v.activatedBy}` : ''}`
                  : '—'}
              </td>
              <td>{v.message ?? ''}</td>
              {governs && (
                <td>
                  {v.status !== 'active' && (
                    <ActivateButton
                      version={v}
                      rollback={active ? v.id < active.id : false}
                      onDone={() => refetch({ requestPolicy: 'network-only' })}
                    />
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {versions.length < 2 ? (
        <Empty>Only one version exists: publish another to compare them.</Empty>
      ) : (
        <>
          <div className="filters">
            <VersionSelect label="Compare" value={fromId} versions={versions} onChange={setFrom} />
            <VersionSelect label="with" value={toId} versions={versions} onChange={setTo} />
          </div>
          <PolicyDiff from={String(fromId)} to={String(toId)} />
          <Impact from={{ version: String(fromId) }} to={{ version: String(toId) }} />
        </>
      )}
    </div>
  );
}

function VersionSelect(props: {
  label: string;
  value: number;
  versions: Version[];
  onChange: (id: number) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select value={props.value} onChange={(e) => props.onChange(Number(e.target.value))}>
        {props.versions.map((v) => (
          <option key={v.id} value={v.id}>
            v{v.id} {v.version} ({v.status})
          </option>
        ))}
      </select>
    </label>
  );
}

function ActivateButton(props: { version: Version; rollback: boolean; onDone: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [state, activate] = useMutation(Activate);
  const [message, setMessage] = useState<string | null>(null);
  const verb = props.rollback ? 'Roll back to' : 'Activate';
  return (
    <>
      <button type="button" onClick={() => dialog.current?.showModal()}>
        {verb} v{props.version.id}
      </button>
      <dialog ref={dialog} aria-labelledby={`confirm-${props.version.id}`}>
        <h2 id={`confirm-${props.version.id}`}>
          {verb} v{props.version.id} ({props.version.version})?
        </h2>
        <p>
          It becomes the active policy for everyone at once: tiers, budgets, boards and escalations
          follow it from the next evaluation. The current version is retired, and you can activate
          it again later.
        </p>
        {message && (
          <p className="error" role="alert">
            {message}
          </p>
        )}
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={state.fetching}
            onClick={async () => {
              const r = await activate({ id: props.version.id });
              const out = r.data?.activatePolicy;
              if (r.error) setMessage(plainError(r.error));
              else if (out && out.__typename !== 'MutationActivatePolicySuccess')
                setMessage(out.message);
              else {
                dialog.current?.close();
                props.onDone();
              }
            }}
          >
            Yes, {verb.toLowerCase()} v{props.version.id}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}

function PolicyDiff({ from, to }: { from: string; to: string }) {
  const [{ data, fetching, error }] = useQuery({
    query: DiffQuery,
    variables: { from: { version: from }, to: { version: to } },
  });
  if (fetching && !data) return <Loading what="the diff" />;
  if (error) return <ErrorBox error={error} />;
  const result = data?.policyDiff;
  if (!result) return null;
  if (result.__typename !== 'QueryPolicyDiffSuccess') return <ErrorBox error={result.message} />;
  const diff = result.data;
  return (
    <Card title={`What changed in meaning: ${diff.from.label} → ${diff.to.label}`} id="diff">
      {diff.equivalent ? (
        <p>The two versions mean the same (equal meaning hashes).</p>
      ) : (
        <p>{diff.semanticChanges} change(s) in meaning.</p>
      )}
      <ul className="changes" data-testid="diff">
        {diff.changes.map((c) => (
          <li key={`${c.construct}-${c.subject}-${c.kind}`}>
            <h3>
              {c.kind} {c.construct.replace(/s$/, '')} {c.subject}
              {!c.semantic && ' (label only)'}
            </h3>
            <div className="side-by-side">
              <div className="diff-before">
                <span className="sr-only">before</span>
                <pre>{c.before ?? '(none)'}</pre>
              </div>
              <div className="diff-after">
                <span className="sr-only">after</span>
                <pre>{c.after ?? '(none)'}</pre>
              </div>
            </div>
            {c.affects.length > 0 && <p className="muted">Affects: {c.affects.join(', ')}</p>}
          </li>
        ))}
      </ul>
    </Card>
  );
}

const WINDOWS = ['last-month', 'this-month', 'last-quarter', 'this-quarter'];

type CostLine = { key: string; before: string; after: string; delta: string };

export function Impact({
  from,
  to,
}: {
  from: { version?: string; source?: string };
  to: { version?: string; source?: string };
}) {
  const [window, setWindow] = useState('last-month');
  const [run, setRun] = useState(false);
  const [{ data, fetching, error }] = useQuery({
    query: ImpactQuery,
    variables: { from, to, window },
    pause: !run,
  });
  const result = data?.policyImpact;
  const impact = result?.__typename === 'QueryPolicyImpactSuccess' ? result.data : null;
  const sankey = useMemo(() => {
    if (!impact) return null;
    const moves = impact.tierTransitions.filter((t) => t.count > 0);
    const nodes = new Set<string>();
    const links = moves.map((t) => {
      const source = `before: ${t.from ?? 'none'}`;
      const target = `after: ${t.to ?? 'none'}`;
      nodes.add(source);
      nodes.add(target);
      return { source, target, value: t.count };
    });
    return {
      tooltip: {},
      series: [
        { type: 'sankey', data: [...nodes].map((name) => ({ name })), links, left: 20, right: 120 },
      ],
    };
  }, [impact]);
  return (
    <Card title="Impact on real usage" id="impact">
      <div className="filters">
        <label>
          Window{' '}
          <select value={window} onChange={(e) => setWindow(e.target.value)}>
            {WINDOWS.map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
        <button type="button" className="primary" onClick={() => setRun(true)}>
          Replay
        </button>
      </div>
      {!run && <p className="muted">Replays the window’s stored usage under both versions.</p>}
      {fetching && <Loading what="the replay (this evaluates the whole organisation twice)" />}
      {error && <ErrorBox error={error} />}
      {result && result.__typename !== 'QueryPolicyImpactSuccess' && (
        <ErrorBox error={result.message} />
      )}
      {impact && (
        <div data-testid="impact">
          <p>
            {impact.window} ({impact.windowFrom} to {impact.windowTo}): {impact.people} people,{' '}
            {impact.teams} teams, identities {impact.identities}. {impact.message ?? ''}{' '}
            {impact.tierChanges} tier change(s), {impact.budgetFlipCount} budget band change(s).
          </p>
          {impact.notes.map((n) => (
            <p key={n} className="muted">
              {n}
            </p>
          ))}
          <h3>Tier moves</h3>
          {sankey && impact.tierTransitions.length > 0 ? (
            <Chart
              label="Tier moves from the old to the new version"
              option={sankey}
              height={280}
            />
          ) : (
            <p className="empty">No tier moves.</p>
          )}
          {impact.tierTransitions.length > 0 && (
            <table>
              <caption>Tier transitions</caption>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col" className="num">
                    People
                  </th>
                </tr>
              </thead>
              <tbody>
                {impact.tierTransitions.map((t) => (
                  <tr key={`${t.from}-${t.to}`}>
                    <td>{t.from ?? '—'}</td>
                    <td>{t.to ?? '—'}</td>
                    <td className="num">{t.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <QuotaUse distribution={impact.quotaDistribution as QuotaDistribution} />
          <h3>Escalation steps fired</h3>
          <Chart
            label="Subjects each escalation step fires at, before and after"
            height={240}
            option={{
              tooltip: { trigger: 'axis' },
              legend: { data: ['before', 'after'] },
              grid: { left: 50, right: 20, top: 40, bottom: 40 },
              xAxis: {
                type: 'category',
                data: impact.escalations.map((e) => `${e.ladder} ${e.trigger} ${e.threshold}%`),
              },
              yAxis: { type: 'value' },
              series: [
                { name: 'before', type: 'bar', data: impact.escalations.map((e) => e.before) },
                { name: 'after', type: 'bar', data: impact.escalations.map((e) => e.after) },
              ],
            }}
          />
          <h3>Leaderboards</h3>
          {impact.leaderboards.map((b) => (
            <div key={b.name}>
              <p>
                <strong>{b.name}</strong>: ranked {b.rankedBefore} → {b.rankedAfter}, {b.movedCount}{' '}
                moved, {b.enteringCount} entering, {b.leavingCount} leaving
                {b.kendallTau !== null && `, Kendall τ ${b.kendallTau.toFixed(2)}`}.
              </p>
              {b.largestMoves.length > 0 && (
                <Chart
                  label={`Rank before and after on ${b.name}`}
                  height={220}
                  option={{
                    tooltip: { trigger: 'axis' },
                    legend: { data: ['rank before', 'rank after'] },
                    grid: { left: 120, right: 20, top: 40, bottom: 30 },
                    yAxis: { type: 'category', data: b.largestMoves.map((m) => m.subject.id) },
                    xAxis: { type: 'value', inverse: true },
                    series: [
                      {
                        name: 'rank before',
                        type: 'bar',
                        data: b.largestMoves.map((m) => m.rankBefore),
                      },
                      {
                        name: 'rank after',
                        type: 'bar',
                        data: b.largestMoves.map((m) => m.rankAfter),
                      },
                    ],
                  }}
                />
              )}
            </div>
          ))}
          <CostTable
            cost={impact.cost as { currency: string; total: CostLine; byTeam: CostLine[] } | null}
          />
        </div>
      )}
    </Card>
  );
}

function CostTable({
  cost,
}: {
  cost: { currency: string; total: CostLine; byTeam: CostLine[] } | null;
}) {
  if (!cost) return <p className="muted">Prices did not change: cost is the same under both.</p>;
  return (
    <table>
      <caption>Cost by team ({cost.currency})</caption>
      <thead>
        <tr>
          <th scope="col">Team</th>
          <th scope="col" className="num">
            Before
          </th>
          <th scope="col" className="num">
            After
          </th>
          <th scope="col" className="num">
            Change
          </th>
        </tr>
      </thead>
      <tbody>
        {[...cost.byTeam, { ...cost.total, key: 'total' }].map((line) => (
          <tr key={line.key}>
            <td>{line.key}</td>
            <td className="num">{Number(line.before).toFixed(2)}</td>
            <td className="num">{Number(line.after).toFixed(2)}</td>
            <td className="num">{Number(line.delta).toFixed(2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function QuotaUse({ distribution }: { distribution: QuotaDistribution | null }) {
  const h = useMemo(() => (distribution ? quotaHistogram(distribution) : null), [distribution]);
  if (!h || h.labels.length === 0) return null;
  return (
    <section data-testid="quota-histogram" aria-labelledby="quota-histogram-title">
      <h3 id="quota-histogram-title">Quota use, before and after</h3>
      <Chart
        label="People by quota use at the end of the window, before and after, with the new version's quota steps"
        height={260}
        option={{
          tooltip: { trigger: 'axis' },
          legend: { data: ['before', 'after'] },
          grid: { left: 50, right: 20, top: 40, bottom: 40 },
          xAxis: { type: 'category', data: h.labels },
          yAxis: { type: 'value', name: 'people' },
          series: [
            {
              name: 'before',
              type: 'bar',
              data: h.before,
              markLine: {
                symbol: 'none',
                label: { formatter: '{b}' },
                data: h.marks.map((m) => ({ name: m.name, xAxis: m.label })),
              },
            },
            { name: 'after', type: 'bar', data: h.after },
          ],
        }}
      />
      <p className="muted">
        Steps of the new version: {h.marks.map((m) => m.name).join(', ') || 'none'}.
        {h.withheld && ' Empty bars are counts under the minimum group size, withheld for privacy.'}
      </p>
    </section>
  );
}
