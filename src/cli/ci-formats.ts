// Machine-readable reports for CI: SARIF 2.1.0 for code-scanning tools, GitHub Actions
// workflow commands (annotations on the pull request), and JUnit XML for test results.
import { type Diagnostic, diagnosticInfo } from '../policy/diagnostics.ts';

export type FileDiagnostics = { file: string; diagnostics: readonly Diagnostic[] };

const SARIF_LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/** SARIF 2.1.0 log of one run; columns are UTF-16 code units from 1, as SARIF's default. */
export function toSarif(files: readonly FileDiagnostics[], toolVersion: string): object {
  const used = [...new Set(files.flatMap((f) => f.diagnostics.map((d) => d.code)))].sort();
  const rules = used.map((code) => {
    const info = diagnosticInfo(code);
    return {
      id: code,
      name: info?.title ?? code,
      shortDescription: { text: info?.title ?? code },
      fullDescription: { text: info?.summary ?? code },
      help: { text: info?.help ?? '', markdown: info?.help ?? '' },
      defaultConfiguration: { level: SARIF_LEVEL[info?.severities[0] ?? 'error'] },
    };
  });
  const ruleIndex = new Map(used.map((code, i) => [code, i]));
  const results = files.flatMap(({ file, diagnostics }) =>
    diagnostics.map((d) => ({
      ruleId: d.code,
      ruleIndex: ruleIndex.get(d.code),
      level: SARIF_LEVEL[d.severity],
      message: { text: d.hint ? `${d.message} (hint: ${d.hint})` : d.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: file },
            region: {
              startLine: d.range.start.line,
              startColumn: d.range.start.column,
              endLine: d.range.end.line,
              endColumn: d.range.end.column,
            },
          },
        },
      ],
    })),
  );
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'quotient',
            version: toolVersion,
            rules,
          },
        },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
}

/** Workflow-command escaping: data loses `%`, CR and LF; properties also `:` and `,`. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One `::error file=…,line=…::message` line per diagnostic, for GitHub Actions. */
export function toGithubAnnotations(files: readonly FileDiagnostics[]): string[] {
  return files.flatMap(({ file, diagnostics }) =>
    diagnostics.map((d) => {
      const command =
        d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'notice';
      const { start, end } = d.range;
      const properties = [
        `file=${escapeProperty(file)}`,
        `line=${start.line}`,
        `col=${start.column}`,
        `endLine=${end.line}`,
        `endColumn=${end.column}`,
        `title=${escapeProperty(`${d.code} ${diagnosticInfo(d.code)?.title ?? ''}`.trim())}`,
      ];
      const message = d.hint ? `${d.message}\nhint: ${d.hint}` : d.message;
      return `::${command} ${properties.join(',')}::${escapeData(message)}`;
    }),
  );
}

export type JunitCase = { name: string; failures: readonly string[] };
export type JunitSuite = { name: string; cases: readonly JunitCase[]; error?: string };

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
}

/** JUnit XML as CI servers read it: a suite per policy file, a case per test block. */
export function toJunit(suites: readonly JunitSuite[]): string {
  const count = (s: JunitSuite) => s.cases.length + (s.error ? 1 : 0);
  const failed = (s: JunitSuite) =>
    s.cases.filter((c) => c.failures.length > 0).length + (s.error ? 1 : 0);
  const total = suites.reduce((n, s) => n + count(s), 0);
  const failures = suites.reduce((n, s) => n + failed(s), 0);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="quotient policy test" tests="${total}" failures="${failures}">`,
  ];
  for (const suite of suites) {
    out.push(
      `  <testsuite name="${xml(suite.name)}" tests="${count(suite)}" failures="${failed(suite)}">`,
    );
    if (suite.error) {
      out.push(`    <testcase name="compiles" classname="${xml(suite.name)}">`);
      out.push(`      <failure message="does not compile">${xml(suite.error)}</failure>`);
      out.push('    </testcase>');
    }
    for (const c of suite.cases) {
      if (c.failures.length === 0) {
        out.push(`    <testcase name="${xml(c.name)}" classname="${xml(suite.name)}"/>`);
        continue;
      }
      out.push(`    <testcase name="${xml(c.name)}" classname="${xml(suite.name)}">`);
      out.push(
        `      <failure message="${xml(c.failures[0])}">${xml(c.failures.join('\n'))}</failure>`,
      );
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
