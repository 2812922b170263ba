// Runs the real CLI (`node src/cli.ts policy check|fmt`) as a user would.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const shipped = [
  'policies/default.policy',
  'policies/examples/opt-in-cohorts.policy',
  'policies/examples/bands-and-sandbox-budgets.policy',
];

function quotient(...args: string[]) {
  const run = spawnSync(process.execPath, [join(root, 'src', 'cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'quotient-policy-'));
}

/** 1-based line and column of `offset` in `text`. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

describe('quotient policy check', () => {
  it('passes the shipped policies', () => {
    const run = quotient('policy', 'check', ...shipped);
    expect(run.stdout).toContain('3 files checked, no problems');
    expect(run.code).toBe(0);
  });

  it('reports a deleted `}` and a misspelled keyword with line:col, source and caret; exits 1', () => {
    const dir = scratch();
    const original = readFileSync(join(root, 'policies', 'default.policy'), 'utf8');
    // delete the `}` that closes the value_per_token leaderboard
    const closing = original.indexOf('  top 20\n}') + '  top 20\n'.length;
    let text = original.slice(0, closing) + original.slice(closing + 1);
    // misspell `escalation` in the budget ladder
    const ladder = text.indexOf('escalation budget');
    text = `${text.slice(0, ladder)}escalaton${text.slice(ladder + 'escalation'.length)}`;
    const file = join(dir, 'broken.policy');
    writeFileSync(file, text);

    // the missing brace is reported at the token that follows it: the next declaration
    const nextDecl = text.indexOf('leaderboard', closing);
    const run = quotient('policy', 'check', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `${file}:${lineCol(text, nextDecl)}: error Q2001: expected \`subject\`, \`window\`, \`cohort\`, \`eligible\`, \`exclude\`, \`score\`, \`top\` or \`}\` after \`20\`, found \`leaderboard\``,
    );
    expect(run.stdout).toMatch(/hint: add `}` to close the `{` opened at line \d+, column \d+/);
    expect(run.stdout).toContain(
      `${file}:${lineCol(text, ladder)}: error Q2005: expected a declaration, found \`escalaton\``,
    );
    expect(run.stdout).toContain('hint: did you mean `escalation`?');
    // the source line and a caret under the misspelled word
    expect(run.stdout).toContain('  escalaton budget {\n  ^^^^^^^^^\n');
    // the misspelling is read as meant, so nothing after it is reported twice
    expect(run.stdout).toMatch(/\n2 errors, 0 warnings\n$/);
  });

  it('prints JSON with --format json', () => {
    const dir = scratch();
    const file = join(dir, 'x.policy');
    writeFileSync(file, 'tier a "A" limit 2M tokens per month }\n');
    const run = quotient('policy', 'check', '--format', 'json', file);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.errors).toBe(1);
    expect(report.files[0].diagnostics[0]).toMatchObject({
      code: 'Q2001',
      severity: 'error',
      message: 'expected `{` after the tier label, found `limit`',
      range: { start: { line: 1, column: 12 } },
      file,
    });
  });

  it('exits 2 on usage errors', () => {
    expect(quotient('policy', 'check', 'no/such/file.policy').code).toBe(2);
    expect(quotient('policy', 'check').code).toBe(2);
    expect(quotient('policy', 'check', '--format', 'xml', shipped[0]).code).toBe(2);
    const missing = quotient('policy', 'check', 'no/such/file.policy');
    expect(missing.stderr).toContain('cannot read no/such/file.policy: no such file');
  });

  it('turns any bytes into diagnostics, never a stack trace', () => {
    const dir = scratch();
    const file = join(dir, 'noise.policy');
    writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0x0a, 0x7d, 0x40, 0xc3, 0x28]));
    const run = quotient('policy', 'check', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/error Q1\d{3}/);
  });
});

describe('quotient policy fmt', () => {
  it('--check passes the shipped policies', () => {
    const run = quotient('policy', 'fmt', '--check', ...shipped);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(0);
  });

  it('prints canonical text; --check lists files that would change; --write rewrites them', () => {
    const dir = scratch();
    const file = join(dir, 'messy.policy');
    writeFileSync(file, 'class   a   "A"   # note\ntier t {models any}\n');
    const printed = quotient('policy', 'fmt', file);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe('class a "A"  # note\ntier t { models any }\n');

    const check = quotient('policy', 'fmt', '--check', file);
    expect(check.code).toBe(1);
    expect(check.stdout.trim()).toBe(file);

    const write = quotient('policy', 'fmt', '--write', file);
    expect(write.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(printed.stdout);
    expect(quotient('policy', 'fmt', '--check', file).code).toBe(0);
  });

  it('never rewrites a file with syntax errors', () => {
    const dir = scratch();
    const file = join(dir, 'broken.policy');
    copyFileSync(join(root, 'policies', 'default.policy'), file);
    const text = `${readFileSync(file, 'utf8')}\ntier {\n`;
    writeFileSync(file, text);
    const run = quotient('policy', 'fmt', '--write', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('not formatted, fix the syntax errors first');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('rejects --check with --write, and missing files, with exit 2', () => {
    expect(quotient('policy', 'fmt', '--check', '--write', shipped[0]).code).toBe(2);
    expect(quotient('policy', 'fmt', 'nope.policy').code).toBe(2);
  });
});
