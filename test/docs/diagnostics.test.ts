// The diagnostics catalog is complete and its pages are fresh: every code the front end
// reports is in src/policy/diagnostics.ts, no other source file spells a code, each
// example reports its code with a severity the catalog lists, and docs/diagnostics/
// holds exactly the generated pages.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnosticsPages } from '../../src/cli/diagnostics-docs.ts';
import { diagnosticsDir } from '../../src/cli/reference.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { DIAGNOSTICS, type DiagnosticInfo, diagnosticInfo } from '../../src/policy/diagnostics.ts';

const root = join(import.meta.dirname, '..', '..');
const catalog = Object.values(DIAGNOSTICS) as DiagnosticInfo[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Codes that no short policy text can report, and why. */
const WITHOUT_EXAMPLE: Record<string, string> = {
  Q0001: 'an API argument error, not about policy text',
  Q2008: 'needs more than 100 nested brackets',
  Q2999: 'a bug in the parser',
  Q3008: 'the parser rejects another ladder name first (Q2002)',
  Q5010: 'the parser rejects a malformed currency code first (Q2001)',
  Q5012: 'needs an expression more than 400 operators deep',
};

describe('diagnostics catalog', () => {
  it('gives every code once, with a title, summary and help', () => {
    const seen = new Set<string>();
    for (const info of catalog) {
      expect(info.code).toMatch(/^Q\d{4}$/);
      expect(seen.has(info.code), info.code).toBe(false);
      seen.add(info.code);
      expect(info.title.length, info.code).toBeGreaterThan(3);
      expect(info.summary.length, info.code).toBeGreaterThan(10);
      expect(info.help.length, info.code).toBeGreaterThan(10);
      expect(info.severities.length, info.code).toBeGreaterThan(0);
    }
  });

  it('is the only source file that spells a code', () => {
    const offenders = sourceFiles(join(root, 'src'))
      .filter((file) => !file.endsWith(join('policy', 'diagnostics.ts')))
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/\bQ\d{4}\b/g)].map(
          (m) => `${relative(root, file)}: ${m[0]}`,
        ),
      );
    expect(offenders).toEqual([]);
  });

  it.each(catalog.map((info) => [info.code, info] as const))(
    '%s: its example reports it, with a severity the catalog lists',
    (code, info) => {
      if (info.example === undefined) {
        expect(WITHOUT_EXAMPLE[code], `${code} needs an example`).toBeDefined();
        return;
      }
      const found = analyzePolicy(info.example).diagnostics.filter((d) => d.code === code);
      expect(found.length).toBeGreaterThan(0);
      for (const d of found) expect(info.severities).toContain(d.severity);
    },
  );

  it('knows every code the shipped policies and the docs examples produce', () => {
    const texts = ['policies/default.policy', 'policies/2026-q3.policy', 'policies/2026-q4.policy'];
    for (const file of texts) {
      for (const d of analyzePolicy(readFileSync(join(root, file), 'utf8')).diagnostics) {
        expect(diagnosticInfo(d.code), d.code).toBeDefined();
      }
    }
  });
});

describe('docs/diagnostics/', () => {
  it('holds exactly the generated pages (run `npm run docs` after changing the catalog)', () => {
    const pages = diagnosticsPages();
    expect(readdirSync(diagnosticsDir).sort()).toEqual([...pages.keys()].sort());
    for (const [name, text] of pages) {
      expect(readFileSync(join(diagnosticsDir, name), 'utf8'), name).toBe(text);
    }
  });
});
