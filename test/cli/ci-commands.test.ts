// The policy commands as CI runs them: standard input, machine formats (SARIF, GitHub
// annotations, JUnit, JSON), fmt --diff, test --run, diff --exit-code and --version.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const Q3 = join(root, 'policies', '2026-q3.policy');
const Q4 = join(root, 'policies', '2026-q4.policy');

function quotient(args: string[], input?: string) {
  const run = spawnSync(process.execPath, [join(root, 'src', 'cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

const BROKEN = 'policy "x" version "1"\nmetric a = accepted / max(taks, 1)\n';

const TESTED = `policy "t" version "1"
tier baseline { limit 2M tokens per month  models any }
tier power { limit 10M tokens per month  models any }
assign power when role == "engineer"
assign baseline otherwise
test "baseline for everyone" {
  given person "ana"
  expect tier baseline
}
test "a wrong expectation" {
  given person "bo"
  expect tier power
}
`;

describe('policy check in CI', () => {
  it('reads standard input for -', () => {
    const r = quotient(['policy', 'check', '-'], BROKEN);
    expect(r.code).toBe(1);
    expect(r.out).toContain('<stdin>:2:27: error Q3001: unknown name `taks`');
  });

  it('writes SARIF 2.1.0 with the rule from the catalog and the exact region', () => {
    const r = quotient(['policy', 'check', '--format', 'sarif', '-'], BROKEN);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.out);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('quotient');
    expect(run.tool.driver.rules.map((rule: { id: string }) => rule.id)).toEqual(['Q3001']);
    expect(run.tool.driver.rules[0].shortDescription.text).toBe('Unknown name');
    expect(run.results).toHaveLength(1);
    expect(run.results[0]).toMatchObject({
      ruleId: 'Q3001',
      ruleIndex: 0,
      level: 'error',
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: '<stdin>' },
            region: { startLine: 2, startColumn: 27, endLine: 2, endColumn: 31 },
          },
        },
      ],
    });
  });

  it('writes GitHub annotations, escaping line breaks and property separators', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quotient-ci-'));
    const file = join(dir, 'a,b.policy');
    writeFileSync(file, BROKEN);
    const r = quotient(['policy', 'check', '--format', 'github', file]);
    expect(r.code).toBe(1);
    const [annotation] = r.out.split('\n');
    expect(annotation).toBe(
      `::error file=${file.replace(/,/g, '%2C')},line=2,col=27,endLine=2,endColumn=31,title=Q3001 Unknown name::unknown name \`taks\`; did you mean \`tasks\`?%0Ahint: replace with \`tasks\``,
    );
  });

  it('passes the shipped policies in every format', () => {
    for (const format of ['text', 'json', 'sarif', 'github']) {
      expect(
        quotient(['policy', 'check', '--format', format, 'policies/default.policy']).code,
      ).toBe(0);
    }
    expect(quotient(['policy', 'check', '--format', 'xml', Q3]).code).toBe(2);
  });
});

describe('policy fmt in CI', () => {
  it('formats standard input to standard output', () => {
    const r = quotient(['policy', 'fmt', '-'], 'metric   a =tasks\n');
    expect(r.out).toBe('metric a = tasks\n');
    expect(r.code).toBe(0);
  });

  it('--diff prints a unified diff and exits 1 only when the layout is not canonical', () => {
    const r = quotient(['policy', 'fmt', '--diff', '-'], 'metric   a =tasks\nclass x\n');
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      [
        '--- <stdin>\tas written',
        '+++ <stdin>\tformatted',
        '@@ -1,2 +1,2 @@',
        '-metric   a =tasks',
        '+metric a = tasks',
        ' class x',
        '',
      ].join('\n'),
    );
    const clean = quotient(['policy', 'fmt', '--diff', 'policies/default.policy']);
    expect(clean).toMatchObject({ code: 0, out: '' });
  });

  it('refuses --write on standard input and two modes at once', () => {
    expect(quotient(['policy', 'fmt', '--write', '-'], 'class x\n').code).toBe(2);
    expect(quotient(['policy', 'fmt', '--diff', '--check', Q3]).code).toBe(2);
  });
});

describe('policy test in CI', () => {
  it('writes JUnit XML with a case per test and the failure text', () => {
    const r = quotient(['policy', 'test', '--format', 'junit', '-'], TESTED);
    expect(r.code).toBe(1);
    expect(r.out).toContain('<testsuites name="quotient policy test" tests="2" failures="1">');
    expect(r.out).toContain('<testsuite name="&lt;stdin&gt;" tests="2" failures="1">');
    expect(r.out).toContain('<testcase name="baseline for everyone" classname="&lt;stdin&gt;"/>');
    expect(r.out).toMatch(
      /<testcase name="a wrong expectation" classname="&lt;stdin&gt;">\n\s+<failure message="&lt;stdin&gt;:\d+:\d+/,
    );
  });

  it('writes JSON, and --run picks tests by name', () => {
    const all = JSON.parse(quotient(['policy', 'test', '--format', 'json', '-'], TESTED).out);
    expect(all).toMatchObject({ passed: 1, failed: 1 });
    expect(all.files[0].tests.map((t: { name: string }) => t.name)).toEqual([
      'baseline for everyone',
      'a wrong expectation',
    ]);
    const one = quotient(['policy', 'test', '--run', '^baseline', '-'], TESTED);
    expect(one.code).toBe(0);
    expect(one.out).toBe('ok   <stdin>: baseline for everyone\n1 passed, 0 failed\n');
    const none = quotient(['policy', 'test', '--run', 'nothing like this', '-'], TESTED);
    expect(none.code).toBe(1);
    expect(none.err).toContain('no test matches --run nothing like this');
    expect(quotient(['policy', 'test', '--run', '(', '-'], TESTED).code).toBe(2);
  });
});

describe('one --format everywhere, diff --exit-code, --version', () => {
  it('compile takes --format json (and still --json)', () => {
    const a = quotient(['policy', 'compile', '--format', 'json', 'policies/default.policy']);
    const b = quotient(['policy', 'compile', '--json', 'policies/default.policy']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.out).toBe(b.out);
  });

  it('diff reads a side from standard input and exits 1 for changes only when asked', () => {
    const q4 = readFileSync(Q4, 'utf8');
    const plain = quotient(['policy', 'diff', Q3, '-'], q4);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('~ tier power changed');
    expect(quotient(['policy', 'diff', '--exit-code', Q3, '-'], q4).code).toBe(1);
    expect(quotient(['policy', 'diff', '--exit-code', '-', Q4], q4).code).toBe(0);
  });

  it('prints its version', () => {
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    expect(quotient(['--version'])).toMatchObject({ code: 0, out: `${version}\n` });
  });
});
