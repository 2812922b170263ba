// Properties of the front end on bad input: random text and mutated valid policies.
// Whatever the input, parsing returns (never throws), every diagnostic range lies in the
// file, and whenever the result has no errors the formatter is stable and faithful.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasErrors } from '../../src/policy/diagnostics.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import { lexPolicy, parsePolicy } from '../../src/policy/parse.ts';
import { defaultPolicy, rangeProblems, shippedPolicies, withoutRanges } from './syntax-helpers.ts';

function checkInvariants(text: string): void {
  const result = parsePolicy(text);
  expect(rangeProblems(text, result.diagnostics)).toEqual([]);
  if (!hasErrors(result.diagnostics)) {
    const once = formatPolicy(result.ast);
    const reparsed = parsePolicy(once);
    expect(reparsed.diagnostics).toEqual([]);
    expect(formatPolicy(reparsed.ast)).toBe(once);
    expect(withoutRanges(reparsed.ast)).toEqual(withoutRanges(result.ast));
  }
}

/** Tokens of the shipped policies, as [start, end) spans of their text. */
function spans(text: string): [number, number][] {
  return lexPolicy(text).tokens.map((t) => [t.startOffset, t.startOffset + t.image.length]);
}

type Mutation =
  | { op: 'delete'; i: number }
  | { op: 'duplicate'; i: number }
  | { op: 'swap'; i: number; j: number };

function mutate(text: string, tokens: [number, number][], mutations: Mutation[]): string {
  let out = text;
  let toks = tokens;
  for (const m of mutations) {
    if (toks.length === 0) break;
    const a = toks[m.op === 'swap' ? Math.min(m.i, m.j) % toks.length : m.i % toks.length];
    if (m.op === 'delete') out = out.slice(0, a[0]) + out.slice(a[1]);
    else if (m.op === 'duplicate')
      out = `${out.slice(0, a[1])} ${out.slice(a[0], a[1])}${out.slice(a[1])}`;
    else {
      const b = toks[Math.max(m.i, m.j) % toks.length];
      if (a[0] >= b[0]) continue;
      out =
        out.slice(0, a[0]) +
        out.slice(b[0], b[1]) +
        out.slice(a[1], b[0]) +
        out.slice(a[0], a[1]) +
        out.slice(b[1]);
    }
    toks = spans(out);
  }
  return out;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
);

/** Text built from pieces of the language, so the parser gets deep before it fails. */
const policyish = fc
  .array(
    fc.constantFrom(
      'tier',
      'metric',
      'leaderboard',
      'test',
      'given',
      'expect',
      'escalation',
      'budget',
      'rule',
      'when',
      'then',
      'if',
      'else',
      'not',
      'in',
      'and',
      'or',
      'within',
      'at',
      'notify',
      '{',
      '}',
      '(',
      ')',
      '[',
      ']',
      ',',
      '.',
      '=',
      '==',
      '<',
      '+',
      '-',
      '*',
      '/',
      '"x"',
      '"',
      '2,000',
      'USD',
      '40k',
      '70%',
      '7d',
      'x',
      'team',
      'tokens',
      '#c\n',
      '\n',
      ' ',
      '\t',
      '\r\n',
      '@',
      '1.2.3',
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(' '));

describe('parsing bad input', () => {
  it('survives random text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), checkInvariants), {
      numRuns: 300,
    });
  });

  it('survives random binary-ish text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), checkInvariants), {
      numRuns: 200,
    });
  });

  it('survives sequences of language pieces', () => {
    fc.assert(fc.property(policyish, checkInvariants), { numRuns: 400 });
  });

  it('survives deleted, duplicated and swapped tokens in the shipped policies', () => {
    const sources = shippedPolicies().map((p) => ({ text: p.text, tokens: spans(p.text) }));
    fc.assert(
      fc.property(
        fc.nat({ max: sources.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (which, mutations) => {
          const { text, tokens } = sources[which];
          checkInvariants(mutate(text, tokens, mutations));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports a deleted closing brace at the next declaration', () => {
    const text = defaultPolicy();
    const at = text.indexOf('  top 20\n}') + '  top 20\n'.length;
    const broken = text.slice(0, at) + text.slice(at + 1);
    const { diagnostics } = parsePolicy(broken);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics[0].hint).toMatch(/add `}` to close the `{` opened at line \d+/);
  });
});
