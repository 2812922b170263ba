// The documentation is checked like code: every fenced `policy` example passes the
// checker, every relative link and anchor resolves, and the README stays short.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { runPolicyTests } from '../../src/policy/evaluate/tests.ts';

const root = join(import.meta.dirname, '..', '..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

const pages = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];

type Fence = { info: string; body: string; line: number };

/** Fenced code blocks of a markdown text, with the 1-based line of the opening fence. */
function fences(text: string): Fence[] {
  const out: Fence[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const marker = open[1];
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith(marker); i++) body.push(lines[i]);
    out.push({ info: open[2].trim(), body: body.join('\n'), line: start + 1 });
  }
  return out;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces become hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(text: string): Set<string> {
  const withoutCode = text.replace(/^```[\s\S]*?^```/gm, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of withoutCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(match[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe('docs', () => {
  it('has the pages the README points to', () => {
    for (const page of [
      'docs/README.md',
      'docs/language/README.md',
      'docs/diagnostics/README.md',
      'docs/cli.md',
      'docs/api.md',
      'docs/ingest.md',
      'docs/enforcement.md',
      'docs/review.md',
      'docs/architecture.md',
      'docs/operations.md',
      'docs/privacy.md',
    ]) {
      expect(existsSync(join(root, page)), page).toBe(true);
    }
  });

  it('keeps the README short', () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(250);
  });

  it('names benchmark results by date', () => {
    for (const name of readdirSync(join(root, 'docs', 'benchmarks'))) {
      expect(name).toMatch(/^\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md$/);
    }
  });

  const fencesOf = (page: string) =>
    fences(readFileSync(page, 'utf8')).map((fence) => ({
      ...fence,
      where: `${relative(root, page)}:${fence.line}`,
    }));
  const failing = pages.flatMap(fencesOf).filter((fence) => fence.info === 'policy fails');

  it.each(failing.map((e) => [e.where, e] as const))(
    'policy example %s, marked `fails`, reports an error or warning',
    (where, example) => {
      expect(analyzePolicy(example.body, where).diagnostics.length).toBeGreaterThan(0);
    },
  );

  const examples = pages.flatMap((page) =>
    fences(readFileSync(page, 'utf8'))
      .filter((fence) => fence.info === 'policy')
      .map((fence) => ({ ...fence, where: `${relative(root, page)}:${fence.line}` })),
  );

  it('has policy examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it.each(examples.map((e) => [e.where, e] as const))(
    'policy example %s passes the checker and its own tests',
    (where, example) => {
      const analysis = analyzePolicy(example.body, where);
      const errors = analysis.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => `${d.range.start.line}:${d.range.start.column} ${d.code} ${d.message}`);
      expect(errors).toEqual([]);
      if (analysis.ir === null) throw new Error('no IR although there are no errors');
      const report = runPolicyTests(analysis.ast, buildRuleSet(analysis.ir));
      expect(report.results.flatMap((r) => r.failures)).toEqual([]);
      expect(report.failed).toBe(0);
    },
  );

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8');
      const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
      for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1];
        if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
        const [path, anchor] = target.split('#');
        const file = path === '' ? page : resolve(dirname(page), path);
        if (!existsSync(file)) {
          broken.push(`${relative(root, page)}: ${target} (no such file)`);
          continue;
        }
        if (anchor && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
          broken.push(`${relative(root, page)}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
