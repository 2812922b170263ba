// The real `quotient policy compile | eval | test` commands, spawned as a user would run them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'src', 'cli.ts');
const defaultPolicy = join(root, 'policies', 'default.policy');
const facts = join(root, 'test', 'fixtures', 'facts.json');

function quotient(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'quotient-eval-'));
function brokenCopy(name: string, edit: (text: string) => string): string {
  const file = join(scratch, name);
  writeFileSync(file, edit(readFileSync(defaultPolicy, 'utf8')));
  return file;
}

/** 1-based line:col of the first occurrence of `needle` in a file. */
function lineCol(file: string, needle: string): string {
  const text = readFileSync(file, 'utf8');
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

describe('quotient policy compile', () => {
  it('prints the IR and its hash', () => {
    const json = quotient('policy', 'compile', defaultPolicy, '--json');
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(out.ir.irVersion).toBe(1);
    expect(out.ir.models['claude-opus-4-1'].input).toBe(15_000_000);
    const text = quotient('policy', 'compile', defaultPolicy);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(`hash ${out.hash}`);
  });

  it('reports unit errors, cycles and unreachable assigns in broken copies at line:col', () => {
    const units = brokenCopy('units.policy', (t) =>
      t.replace(
        'metric safety "Safety factor"                     =',
        'metric blend = cost + tokens\nmetric safety "Safety factor" =',
      ),
    );
    const u = quotient('policy', 'compile', units);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain(
      `${units}:${lineCol(units, 'cost + tokens')}: error Q4001: cannot add tokens to money`,
    );

    const cycle = brokenCopy('cycle.policy', (t) =>
      t
        .replace('= tokens / max(tasks, 1)', '= tokens / max(tasks, 1) * cost_per_accepted')
        .replace('= cost / max(accepted, 1)', '= cost / max(accepted, 1) + tokens_per_task'),
    );
    const c = quotient('policy', 'check', cycle);
    expect(c.code).toBe(1);
    expect(c.stdout + c.stderr).toContain(
      `${cycle}:${lineCol(cycle, 'tokens_per_task')}: error Q5001: metric cycle: tokens_per_task → cost_per_accepted → tokens_per_task`,
    );

    const unreachable = brokenCopy('unreachable.policy', (t) =>
      t.replace(
        'assign baseline otherwise',
        'assign baseline otherwise\nassign lab      when role == "researcher"',
      ),
    );
    const r = quotient('policy', 'compile', unreachable);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${unreachable}:${lineCol(unreachable, 'assign lab      when role')}: error Q5003: unreachable`,
    );
  });
});

describe('quotient policy eval', () => {
  it('prints explained results and names rejected subjects and fields', () => {
    const r = quotient('policy', 'eval', defaultPolicy, '--facts', facts);
    expect(r.code).toBe(1); // two subjects in the fixture are deliberately bad
    const out = JSON.parse(r.stdout);
    expect(out.subjects.map((s: { id: string }) => s.id)).toContain('ana@halcyon.test');
    const ana = out.subjects.find((s: { id: string }) => s.id === 'ana@halcyon.test');
    expect(ana.tier.tier).toBe('power');
    expect(ana.quota).toMatchObject({ percent: 76, band: 'yellow' });
    expect(
      ana.leaderboards.value_per_token.explanation.metrics.map((m: { name: string }) => m.name),
    ).toEqual(['acceptance', 'safety', 'tokens_per_task']);
    expect(out.leaderboards.value_per_token.cohorts.engineer[0].id).toBe('ana@halcyon.test');
    expect(r.stderr).toContain(
      'subject bad-negative@halcyon.test: facts.month.tokens: must not be negative',
    );
    expect(r.stderr).toContain('subject bad-missing@halcyon.test: facts.quarter.tasks: missing');
    expect(out.org.budgets[0]).toMatchObject({ key: 'org', spent: 21_000, percent: 35 });
  });

  it('renders each subject as sentences with --format text', () => {
    const r = quotient('policy', 'eval', defaultPolicy, '--facts', facts, '--format', 'text');
    expect(r.code).toBe(1);
    const ana = r.stdout.slice(r.stdout.indexOf('person ana@halcyon.test'));
    const block = ana.slice(0, ana.indexOf('\n\n'));
    expect(block).toContain('Tier: power ("Builders")');
    expect(block).toContain('because assign rule 2: when role in ["engineer", "data-scientist"]');
    expect(block).toContain('with role = "engineer", team = "platform"');
    // period dates in the policy's timezone (Europe/London), not UTC
    expect(block).toContain(
      '7,600,000 of 10,000,000 tokens used this month (2026-10-01 up to 2026-11-01): 76%',
    );
    expect(block).toContain('band yellow: 70% ≤ 76% < 90%');
    expect(block).toContain('next step: at 90% (9,000,000 tokens): require a justification');
    expect(block).toContain('quota power: at 70% (observed 76%): notify person');
    expect(block).toContain(
      'Leaderboard value_per_token: rank 1 of 2 in cohort engineer (in the published top)',
    );
    expect(block).toContain('accepted (quarter) = 9');
    expect(block).toContain('acceptance = accepted / max(accepted + rejected + reworked, 1) = 0.9');
    expect(r.stdout).toContain('subject bad-negative@halcyon.test: not evaluated');
    expect(() => JSON.parse(r.stdout)).toThrow();
  });

  it('reads facts from stdin with --facts -', () => {
    const r = spawnSync(process.execPath, [cli, 'policy', 'eval', defaultPolicy, '--facts', '-'], {
      cwd: root,
      encoding: 'utf8',
      input: readFileSync(facts, 'utf8'),
    });
    expect(JSON.parse(r.stdout).policy.name).toBe('halcyon-ai-governance');
  });

  it('takes the clock from --now', () => {
    const r = quotient(
      'policy',
      'eval',
      defaultPolicy,
      '--facts',
      facts,
      '--now',
      '2026-10-31T12:00:00Z',
    );
    expect(JSON.parse(r.stdout).now).toBe('2026-10-31T12:00:00.000Z');
  });

  it('exits 2 on usage errors', () => {
    expect(quotient('policy', 'eval', defaultPolicy).code).toBe(2);
    const notJson = join(scratch, 'bad.json');
    writeFileSync(notJson, '{ nope');
    const bad = quotient('policy', 'eval', defaultPolicy, '--facts', notJson);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not valid JSON');
    expect(
      quotient('policy', 'eval', defaultPolicy, '--facts', join(scratch, 'missing.json')).code,
    ).toBe(2);
    expect(
      quotient('policy', 'eval', defaultPolicy, '--facts', facts, '--now', 'yesterday').code,
    ).toBe(2);
  });
});

describe('quotient policy test', () => {
  it('runs every test block under policies/ and reports full coverage of default.policy', () => {
    const r = quotient('policy', 'test', 'policies', '--coverage');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {3}policies\/default\.policy: a careful engineer/m);
    expect(r.stdout).toContain('policies/default.policy: every construct exercised');
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed$/);
  });

  it('fails with the expectation that did not hold, and lists what is not covered', () => {
    const file = brokenCopy('failing.policy', (t) =>
      t.replace(
        'expect tier power\n  expect metric acceptance',
        'expect tier baseline\n  expect metric acceptance',
      ),
    );
    const r = quotient('policy', 'test', file, '--coverage');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `FAIL ${file}: a careful engineer ranks well and stays in the power tier`,
    );
    expect(r.stdout).toContain('expected tier baseline, got power');
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 1 failed$/);
  });

  it('lists constructs no test exercised', () => {
    const file = join(scratch, 'untested.policy');
    writeFileSync(
      file,
      [
        'policy "p" version "1"',
        'class economy "Routine"',
        'metric acceptance = accepted / max(tasks, 1)',
        'tier base "Everyone" { limit 1M tokens per month models economy }',
        'assign base otherwise',
        'test "tier only" {',
        '  given person "a" role "x"',
        '  expect tier base',
        '}',
        '',
      ].join('\n'),
    );
    const r = quotient('policy', 'test', file, '--coverage');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('metrics: acceptance');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 passed, 0 failed');
  });
});
