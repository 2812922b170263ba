// After syntax errors the checker still runs on what parsed: one round shows every
// problem. What it would say only because of the syntax errors is left out, and an
// unknown name causes no follow-on warnings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { codes } from '../../src/policy/diagnostics.ts';
import { lexPolicy } from '../../src/policy/parse.ts';
import { defaultPolicy } from './syntax-helpers.ts';

function report(text: string): string[] {
  return analyzePolicy(text).diagnostics.map(
    (d) => `${d.range.start.line}:${d.range.start.column} ${d.code}`,
  );
}

const HEADER = 'policy "p" version "1"\ncurrency USD\n';

describe('checking after syntax errors', () => {
  it('reports syntax errors and the checker’s findings together, in source order', () => {
    const text = `${HEADER}class economy "Routine"
tier baseline { limit 2M tokens per month models economy
tier power { limit 10M tokens per month models economy, premum }
assign power when role == "engineer"
assign baseline otherwise
rule spend { when cost + tokens > 1 then notify security }
escalaton budget {
  at 80% notify finance
}
`;
    expect(report(text)).toEqual([
      `5:1 ${codes.expectedToken}`,
      `5:57 ${codes.unknownClass}`,
      `8:19 ${codes.mixedUnitsSum}`,
      `9:1 ${codes.unknownDeclaration}`,
    ]);
  });

  it('says nothing about a declaration that holds a syntax error', () => {
    const text = `${HEADER}metric odd = cost + tokens +\nmetric fine = accepted / max(tasks, 1)\n`;
    const found = analyzePolicy(text).diagnostics;
    expect(found.some((d) => d.code === codes.mixedUnitsSum)).toBe(false);
    expect(found.filter((d) => d.severity === 'error').length).toBeGreaterThan(0);
  });

  it('does not call a name unknown when its declaration was lost to a syntax error', () => {
    const text = `${HEADER}tier power "Builders" { limit 10M tokens per month models any
assign power when role == "engineer"
assign powr otherwise
metric acceptance = accepted / max(tasks,, 1)
metric score = acceptance * 100
`;
    const found = analyzePolicy(text).diagnostics.map((d) => [d.code, d.range.start.line]);
    expect(found).toContainEqual([codes.unknownTier, 5]); // `powr` is declared nowhere
    expect(found).not.toContainEqual([codes.unknownTier, 4]);
    expect(found).not.toContainEqual([codes.unknownName, 7]);
    expect(found.some(([code]) => code === codes.noFallbackTier)).toBe(false);
  });

  it('never calls a name unknown that the text declares, whatever token is deleted', () => {
    const text = defaultPolicy();
    const tokens = lexPolicy(text).tokens;
    const unknownReference = new Set<string>([
      codes.unknownName,
      codes.unknownClass,
      codes.unknownTier,
      codes.unknownLeaderboard,
      codes.unknownMetric,
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: tokens.length - 1 }), (i) => {
        const t = tokens[i];
        const mutated = text.slice(0, t.startOffset) + text.slice(t.startOffset + t.image.length);
        const words = lexPolicy(mutated).tokens.map((token) => token.image);
        const declared = new Set(
          words.filter((_, j) =>
            ['class', 'tier', 'leaderboard', 'metric', 'rule'].includes(words[j - 1] ?? ''),
          ),
        );
        for (const d of analyzePolicy(mutated).diagnostics) {
          if (!unknownReference.has(d.code)) continue;
          const name = mutated.slice(d.range.start.offset, d.range.end.offset);
          expect(declared.has(name), `${d.code} ${d.message} after deleting ${t.image}`).toBe(
            false,
          );
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('an unknown name', () => {
  it('causes no follow-on "may be zero" warnings', () => {
    const text = `${HEADER}metric a = acceptence
leaderboard b {
  subject person
  score = 1000 * a / log10(10 + tokens_per_task)
}
metric c = tokens / log10(taks)
`;
    expect(report(text)).toEqual([
      `3:12 ${codes.unknownName}`,
      `6:33 ${codes.unknownName}`,
      `8:27 ${codes.unknownName}`,
    ]);
  });
});
