// Audit log (governance and admin): who did what, to whom, when. Filters by action (exact,
// or a prefix ending in `*`), actor (API key id), subject and time; pages newest first by
// cursor. The server refuses lower roles; the shell does not offer them the view.
import { type FormEvent, useState } from 'react';
import { useQuery } from 'urql';
import { type CursorPages, Pager, useCursorPages } from '../components/paging.tsx';
import { Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql, type VariablesOf } from '../graphql.ts';
import { type AuditFilterForm, auditFilterVariables, EMPTY_AUDIT_FILTER } from '../lib/audit.ts';
import type { ViewProps } from './props.ts';

const AUDIT_PAGE_SIZE = 25;

const AuditQuery = graphql(`
  query AuditLog($action: String, $actor: String, $subject: String, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
    auditLog(action: $action, actor: $actor, subject: $subject, from: $from, to: $to, first: $first, after: $after) {
      __typename
      ... on QueryAuditLogConnection {
        pageInfo { hasNextPage endCursor }
        edges { node { id at actor role action subject detail } }
      }
      ... on InvalidRequest { message problems { field message } }
      ... on Forbidden { message }
    }
  }
`);

/** Common actions, offered as suggestions; any action or prefix may be typed. */
const KNOWN_ACTIONS = [
  'read.*',
  'key.*',
  'policy.*',
  'directory.*',
  'exception.*',
  'escalation.*',
  'policy.publish',
  'policy.activate',
  'policy.rollback',
  'exception.request',
  'exception.approve',
  'exception.deny',
  'key.create',
  'key.revoke',
  'person.opt_in',
];

export default function Audit(_: ViewProps) {
  const [form, setForm] = useState<AuditFilterForm>(EMPTY_AUDIT_FILTER);
  const [applied, setApplied] = useState<AuditFilterForm>(EMPTY_AUDIT_FILTER);
  const pages = useCursorPages();
  const field = (name: keyof AuditFilterForm) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value }),
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setApplied(form);
    pages.reset();
  };
  const clear = () => {
    setForm(EMPTY_AUDIT_FILTER);
    setApplied(EMPTY_AUDIT_FILTER);
    pages.reset();
  };
  return (
    <div className="view">
      <h1>Audit log</h1>
      <p className="muted">
        Every audited action, newest first: governance reads of a person, policy changes, key
        changes, directory changes, exception and escalation decisions. Times are UTC.
      </p>
      <form className="filters" onSubmit={apply} aria-label="Audit log filters">
        <label>
          Action{' '}
          <input
            {...field('action')}
            list="audit-actions"
            placeholder="e.g. policy.* or key.create"
          />
        </label>
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <label>
          Actor (key id) <input {...field('actor')} placeholder="any" />
        </label>
        <label>
          Subject <input {...field('subject')} placeholder="a person, team or version" />
        </label>
        <label>
          From <input type="date" {...field('from')} />
        </label>
        <label>
          To (exclusive) <input type="date" {...field('to')} />
        </label>
        <button type="submit" className="primary">
          Apply filters
        </button>
        <button type="button" onClick={clear}>
          Clear
        </button>
      </form>
      <AuditPage
        variables={{
          ...auditFilterVariables(applied),
          first: AUDIT_PAGE_SIZE,
          after: pages.after,
        }}
        pages={pages}
        filtered={Object.values(applied).some((v) => v.trim() !== '')}
      />
    </div>
  );
}

function AuditPage(props: {
  variables: VariablesOf<typeof AuditQuery>;
  pages: CursorPages;
  filtered: boolean;
}) {
  const [{ data, fetching, error }] = useQuery({ query: AuditQuery, variables: props.variables });
  if (fetching && !data) return <Loading what="the audit log" />;
  if (error) return <ErrorBox error={error} />;
  const result = data?.auditLog;
  if (!result) return null;
  if (result.__typename === 'InvalidRequest')
    return (
      <ErrorBox
        error={`These filters cannot be used: ${result.problems.map((p) => `${p.field}: ${p.message}`).join('; ') || result.message}`}
      />
    );
  if (result.__typename === 'Forbidden') return <ErrorBox error={result.message} />;
  const entries = result.edges.map((e) => e.node);
  return (
    <>
      {entries.length === 0 ? (
        <Empty>
          {props.filtered
            ? 'No audit entries match these filters. Widen the dates, use a prefix such as policy.*, or clear the filters.'
            : 'The audit log is empty: nothing audited has happened yet.'}
        </Empty>
      ) : (
        <table data-testid="audit">
          <caption className="sr-only">
            Audit entries, page {props.pages.page}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Actor</th>
              <th scope="col">Role</th>
              <th scope="col">Action</th>
              <th scope="col">Subject</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-id={e.id}>
                <td>{e.at.slice(0, 19).replace('T', ' ')}</td>
                <td>{e.actor ?? 'command line'}</td>
                <td>{e.role}</td>
                <td>{e.action}</td>
                <td>{e.subject ?? '—'}</td>
                <td>
                  <code className="detail">{JSON.stringify(e.detail)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        pages={props.pages}
        pageInfo={result.pageInfo}
        labels={{ back: 'Newer entries', forward: 'Older entries' }}
      />
    </>
  );
}
