// Inbox: exception requests and `require approval` steps waiting for my decision (a manager's
// reports; everything for governance), approve or deny with a reason, and what has been
// decided, with who and when.
import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Pager, useCursorPages } from '../components/paging.tsx';
import { Card, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql, type ResultOf } from '../graphql.ts';
import { formatTokens, plainError } from '../lib/format.ts';
import { seesNames } from '../lib/views.ts';
import type { ViewProps } from './props.ts';

const InboxQuery = graphql(`
  query Inbox($onlyMine: Boolean!) {
    waiting: exceptions(awaitingMe: true, status: [requested], first: 50) {
      edges { node { id subject subjectKind extraTokens extraMoney { amount currency } justification requestedBy createdAt expiresAt approver } }
    }
    steps: escalations(awaitingMe: true, first: 50) {
      edges { node { id subject subjectKind ladder rule threshold createdAt action justification } }
    }
    decided: exceptions(status: [approved, denied], decidedByMe: $onlyMine, first: 20) {
      edges { node { id subject extraTokens extraMoney { amount currency } status decidedBy decidedAt note createdAt requestedBy } }
    }
    decidedSteps: escalations(status: [approved, denied], decidedByMe: $onlyMine, first: 20) {
      edges { node { id subject ladder rule threshold createdAt status decidedBy decidedAt decisionNote } }
    }
  }
`);

const OpenEscalations = graphql(`
  query OpenEscalations($after: String) {
    escalations(status: [open], first: 20, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id subject subjectKind ladder rule actionKind threshold createdAt severity action } }
    }
  }
`);

const DecideEscalation = graphql(`
  mutation DecideEscalation($id: ID!, $approve: Boolean!, $note: String) {
    decideEscalation(id: $id, approve: $approve, note: $note) {
      __typename
      ... on Escalation { id status }
      ... on Problem { message }
    }
  }
`);

const Decide = graphql(`
  mutation Decide($id: ID!, $approve: Boolean!, $note: String) {
    decideException(id: $id, approve: $approve, note: $note) {
      __typename
      ... on QuotaException { id subject extraTokens extraMoney { amount currency } status decidedBy decidedAt note createdAt requestedBy }
      ... on Problem { message }
    }
  }
`);

export default function Inbox({ session }: ViewProps) {
  // governance sees every decision; anyone else the steps they decided themselves
  const onlyMine = !(session.role && seesNames(session.role));
  const [{ data, fetching, error }, refetch] = useQuery({
    query: InboxQuery,
    variables: { onlyMine },
  });
  // decisions made here, shown before the list is fetched again
  const [justDecided, setJustDecided] = useState<Decision[]>([]);
  if (fetching && !data) return <Loading what="your inbox" />;
  if (error) return <ErrorBox error={error} />;
  const waiting = data?.waiting.edges.map((e) => e.node) ?? [];
  const steps = data?.steps.edges.map((e) => e.node) ?? [];
  const listed = data?.decided.edges.map((e) => e.node) ?? [];
  const exceptionRows = [
    ...justDecided,
    ...listed.filter((x) => !justDecided.some((d) => d.id === x.id)),
  ].map(exceptionDecision);
  const stepRows = (data?.decidedSteps.edges.map((e) => e.node) ?? []).map(stepDecision);
  const decided = [...exceptionRows, ...stepRows].sort((a, b) =>
    (b.decidedAt ?? '').localeCompare(a.decidedAt ?? ''),
  );
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  return (
    <div className="view">
      <h1>Inbox</h1>
      <Card title={`Waiting for your decision (${waiting.length + steps.length})`} id="waiting">
        {waiting.length === 0 && steps.length === 0 && (
          <p className="empty">
            Nothing waits for you. Requests and approval steps of the people you approve for appear
            here.
          </p>
        )}
        {waiting.length > 0 && (
          <ul className="requests" data-testid="waiting">
            {waiting.map((x) => (
              <Request
                key={x.id}
                request={x}
                onDone={(decision) => {
                  setJustDecided((list) => [decision, ...list]);
                  refresh();
                }}
              />
            ))}
          </ul>
        )}
        {steps.length > 0 && (
          <ul className="requests" data-testid="waiting-steps">
            {steps.map((step) => {
              const what = step.ladder
                ? `${step.ladder} reached ${step.threshold}%`
                : `rule ${step.rule ?? ''} fired`;
              return (
                <li key={step.id} className="request" data-id={step.id}>
                  <p>
                    <strong>{step.subject}</strong>: {what} on {step.createdAt.slice(0, 10)}; the
                    step asks for approval by {approverOf(step.action) ?? 'an approver'}.
                    {step.justification && ` Their justification: “${step.justification}”`}
                  </p>
                  <DecideStep id={step.id} label={`${step.subject}: ${what}`} onDone={refresh} />
                </li>
              );
            })}
          </ul>
        )}
      </Card>
      <Card title="Open escalations you can see" id="escalations">
        {/* the subject never decides their own step; governance decides any */}
        <Escalations canDecide={session.role ? seesNames(session.role) : false} />
      </Card>
      <Card title="Decided recently (audit trail)" id="decided">
        {decided.length === 0 ? (
          <p className="empty">No decisions yet.</p>
        ) : (
          <table data-testid="decided">
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">For</th>
                <th scope="col">What</th>
                <th scope="col">Decision</th>
                <th scope="col">By</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {decided.map((x) => (
                <tr key={x.key}>
                  <td>
                    {x.createdAt.slice(0, 10)} by {x.requestedBy}
                  </td>
                  <td>{x.subject}</td>
                  <td>{x.what}</td>
                  <td>{x.status}</td>
                  <td>
                    {x.decidedBy ?? '—'} {x.decidedAt ? `on ${x.decidedAt.slice(0, 10)}` : ''}
                  </td>
                  <td>{x.note ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

/** One row of "Decided recently": an exception decision or an approval step's. */
type DecidedRow = {
  key: string;
  createdAt: string;
  requestedBy: string;
  subject: string;
  what: string;
  status: string;
  decidedBy: string | null;
  decidedAt: string | null;
  note: string | null;
};

function exceptionDecision(x: Omit<Decision, '__typename'>): DecidedRow {
  const amount = x.extraTokens
    ? `${formatTokens(x.extraTokens)} tokens`
    : x.extraMoney
      ? `${x.extraMoney.amount} ${x.extraMoney.currency}`
      : '—';
  return {
    key: `exception-${x.id}`,
    createdAt: x.createdAt,
    requestedBy: x.requestedBy ?? '—',
    subject: x.subject,
    what: `exception: ${amount}`,
    status: x.status,
    decidedBy: x.decidedBy ?? null,
    decidedAt: x.decidedAt ?? null,
    note: x.note ?? null,
  };
}

type DecidedStep = ResultOf<typeof InboxQuery>['decidedSteps']['edges'][number]['node'];

function stepDecision(x: DecidedStep): DecidedRow {
  return {
    key: `step-${x.id}`,
    createdAt: x.createdAt,
    requestedBy: 'the policy',
    subject: x.subject,
    what: x.ladder
      ? `approval step: ${x.ladder} reached ${x.threshold}%`
      : `approval step: rule ${x.rule ?? ''}`,
    status: x.status,
    decidedBy: x.decidedBy ?? null,
    decidedAt: x.decidedAt ?? null,
    note: x.decisionNote ?? null,
  };
}

type Decision = Extract<
  NonNullable<ResultOf<typeof Decide>['decideException']>,
  { __typename: 'QuotaException' }
>;

type Waiting = {
  id: string;
  subject: string;
  extraTokens: number | null;
  extraMoney: { amount: string; currency: string } | null;
  justification: string | null;
  requestedBy: string | null;
  createdAt: string;
  expiresAt: string;
};

function Request({ request, onDone }: { request: Waiting; onDone: (decision: Decision) => void }) {
  const [note, setNote] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [state, decide] = useMutation(Decide);
  const act = async (approve: boolean) => {
    const r = await decide({ id: request.id, approve, note: note || null });
    const out = r.data?.decideException;
    if (r.error) setMessage(plainError(r.error));
    else if (!out) setMessage('No answer from the server; try again.');
    else if (out.__typename !== 'QuotaException') setMessage(out.message);
    else onDone(out);
  };
  return (
    <li className="request">
      <p>
        <strong>{request.subject}</strong> asks for{' '}
        {request.extraTokens
          ? `${formatTokens(request.extraTokens)} extra tokens`
          : `${request.extraMoney?.amount} ${request.extraMoney?.currency} extra`}{' '}
        until {request.expiresAt.slice(0, 10)}: “{request.justification}”
      </p>
      <label htmlFor={`note-${request.id}`}>Reason for your decision</label>
      <input id={`note-${request.id}`} value={note} onChange={(e) => setNote(e.target.value)} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={state.fetching}
          onClick={() => act(true)}
        >
          Approve
        </button>
        <button type="button" disabled={state.fetching} onClick={() => act(false)}>
          Deny
        </button>
      </div>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
    </li>
  );
}

/** Open escalations, 20 a page, newest first; `require approval` steps can be decided here. */
function Escalations({ canDecide }: { canDecide: boolean }) {
  const pages = useCursorPages();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: OpenEscalations,
    variables: { after: pages.after },
  });
  if (fetching && !data) return <Loading what="open escalations" />;
  if (error) return <ErrorBox error={error} />;
  const page = data?.escalations;
  const escalations = page?.edges.map((e) => e.node) ?? [];
  if (escalations.length === 0 && pages.page === 1)
    return <p className="empty">No open escalations.</p>;
  return (
    <>
      <table data-testid="escalations">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {escalations.map((e) => (
            <tr key={e.id} data-id={e.id}>
              <td>{e.createdAt.slice(0, 10)}</td>
              <td>
                {e.subjectKind} {e.subject}
              </td>
              <td>{e.ladder ? `${e.ladder} at ${e.threshold}%` : `rule ${e.rule}`}</td>
              <td>
                {e.actionKind.replaceAll('_', ' ')}
                {approverOf(e.action) && ` by ${approverOf(e.action)}`}
                {canDecide && e.actionKind === 'require_approval' && (
                  <DecideStep
                    id={e.id}
                    label={`${e.subject} at ${e.threshold ?? e.rule}`}
                    onDone={() => refetch({ requestPolicy: 'network-only' })}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager
        pages={pages}
        pageInfo={page?.pageInfo}
        labels={{ back: 'Newer escalations', forward: 'Older escalations' }}
      />
    </>
  );
}

function approverOf(action: unknown): string | null {
  const approver = (action as { approver?: unknown } | null)?.approver;
  return typeof approver === 'string' ? approver.replaceAll('_', ' ') : null;
}

function DecideStep({ id, label, onDone }: { id: string; label: string; onDone: () => void }) {
  const [note, setNote] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [state, decide] = useMutation(DecideEscalation);
  // a step may be shown twice (waiting for me, and among the open escalations)
  const noteId = useId();
  const act = async (approve: boolean) => {
    const r = await decide({ id, approve, note: note || null });
    const out = r.data?.decideEscalation;
    if (r.error) setMessage(plainError(r.error));
    else if (!out) setMessage('No answer from the server; try again.');
    else if (out.__typename !== 'Escalation') setMessage(out.message);
    else onDone();
  };
  return (
    <div className="decide-step">
      <label htmlFor={noteId}>
        Reason<span className="sr-only"> for the decision on {label}</span>
      </label>
      <input id={noteId} value={note} onChange={(e) => setNote(e.target.value)} />
      <button type="button" className="primary" disabled={state.fetching} onClick={() => act(true)}>
        Approve<span className="sr-only"> {label}</span>
      </button>
      <button type="button" disabled={state.fetching} onClick={() => act(false)}>
        Deny<span className="sr-only"> {label}</span>
      </button>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}
