// Playground: edit a policy with live diagnostics, formatting and `test` results computed
// in this browser (no server round trip), then preview its impact on real usage (server
// side, governance only). CodeMirror loads with this view only.
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { type Diagnostic as CmDiagnostic, linter, lintGutter } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { Card, ErrorBox, Loading } from '../components/ui.tsx';
import { graphql } from '../graphql.ts';
import { checkPolicyText, formatPolicyText } from '../lib/playground.ts';
import { seesNames } from '../lib/views.ts';
import { Impact } from './Policies.tsx';
import type { ViewProps } from './props.ts';

const ActiveSource = graphql(`
  query ActiveSource { activePolicy { id version source } }
`);

export default function Playground({ session }: ViewProps) {
  const [{ data, fetching, error }] = useQuery({ query: ActiveSource });
  if (fetching && !data) return <Loading what="the active policy" />;
  if (error) return <ErrorBox error={error} />;
  return (
    <PlaygroundEditor
      initial={data?.activePolicy?.source ?? ''}
      activeId={data?.activePolicy?.id ?? null}
      governs={seesNames(session.role!)}
    />
  );
}

function PlaygroundEditor(props: { initial: string; activeId: number | null; governs: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const [text, setText] = useState(props.initial);
  const [message, setMessage] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const result = useMemo(() => checkPolicyText(text), [text]);

  useEffect(() => {
    if (!host.current) return;
    const policyLinter = linter(
      (v): CmDiagnostic[] => {
        const length = v.state.doc.length;
        return checkPolicyText(v.state.doc.toString()).diagnostics.map((d) => ({
          from: Math.min(d.range.start.offset, length),
          to: Math.min(Math.max(d.range.end.offset, d.range.start.offset), length),
          severity: d.severity,
          message: `${d.code}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`,
        }));
      },
      { delay: 250 },
    );
    view.current = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: props.initial,
        extensions: [
          lineNumbers(),
          history(),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          lintGutter(),
          policyLinter,
          // tabindex: axe counts the scroller as keyboard-reachable only through a focusable child
          EditorView.contentAttributes.of({ 'aria-label': 'Policy text', tabindex: '0' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) setText(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
  }, [props.initial]);

  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  return (
    <div className="view">
      <h1>Policy playground</h1>
      <p className="muted">
        Checked as you type, in your browser. Nothing is saved: publish with{' '}
        <code>quotient policy publish</code>. Tab indents; press Escape then Tab to leave the
        editor.
      </p>
      <div className="filters">
        <button
          type="button"
          onClick={() => {
            const formatted = formatPolicyText(text);
            if (formatted === null) {
              setMessage('Fix the syntax errors first: formatting would lose text.');
              return;
            }
            setMessage(formatted === text ? 'Already formatted.' : 'Formatted.');
            view.current?.dispatch({
              changes: { from: 0, to: view.current.state.doc.length, insert: formatted },
            });
          }}
        >
          Format
        </button>
        {props.governs && props.activeId !== null && (
          <button
            type="button"
            disabled={errors.length > 0}
            onClick={() => setPreview(text)}
            title={errors.length > 0 ? 'Fix the errors first' : undefined}
          >
            Preview impact against the active policy
          </button>
        )}
        {message && <span role="status">{message}</span>}
      </div>
      <div ref={host} className="editor" data-testid="editor" />
      <Card title={`Diagnostics (${result.diagnostics.length})`} id="diagnostics">
        {result.diagnostics.length === 0 ? (
          <p data-testid="no-diagnostics">
            No problems found. Meaning hash {result.hash?.slice(0, 12)}.
          </p>
        ) : (
          <ul className="diagnostics" data-testid="diagnostics" aria-live="polite">
            {result.diagnostics.map((d) => (
              <li
                key={`${d.code}-${d.range.start.offset}`}
                className={d.severity === 'error' ? 'error-diag' : undefined}
              >
                <button
                  type="button"
                  className="link"
                  onClick={() => {
                    view.current?.dispatch({ selection: { anchor: d.range.start.offset } });
                    view.current?.focus();
                  }}
                >
                  line {d.range.start.line}:{d.range.start.column}
                </button>{' '}
                {d.severity} {d.code}: {d.message}
                {d.hint && <span className="muted"> ({d.hint})</span>}
              </li>
            ))}
          </ul>
        )}
      </Card>
      <Card title="Tests" id="tests">
        {result.testsError && <ErrorBox error={result.testsError} />}
        {!result.tests ? (
          <p className="empty">Tests run once the policy has no errors.</p>
        ) : result.tests.results.length === 0 ? (
          <p className="empty">
            This policy has no `test` blocks. Add one to pin what it should do.
          </p>
        ) : (
          <>
            <p data-testid="test-summary">
              {result.tests.passed} passed, {result.tests.failed} failed
            </p>
            <ul>
              {result.tests.results.map((t) => (
                <li key={t.name}>
                  {t.passed ? '✓' : '✗'} {t.name}
                  {t.failures.length > 0 && (
                    <ul>
                      {t.failures.map((f) => (
                        <li key={f} className="error-diag">
                          {f}
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
            </ul>
          </>
        )}
      </Card>
      {preview !== null && props.activeId !== null && (
        <Impact from={{ version: String(props.activeId) }} to={{ source: preview }} />
      )}
    </div>
  );
}
