import { describe, expect, it } from 'vitest';
import type { Expr, Range } from '../../src/policy/ast.ts';
import { formatExpr, formatPolicy } from '../../src/policy/format.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { shippedPolicies, withoutRanges } from './syntax-helpers.ts';

function fmt(text: string): string {
  const { ast, diagnostics } = parsePolicy(text);
  expect(diagnostics).toEqual([]);
  return formatPolicy(ast);
}

describe('formatPolicy', () => {
  it.each(shippedPolicies())('$file is committed in canonical layout', ({ text }) => {
    expect(fmt(text)).toBe(text);
  });

  it.each(shippedPolicies())('$file: fmt is idempotent and keeps the meaning', ({ text }) => {
    const once = fmt(text);
    expect(fmt(once)).toBe(once);
    expect(withoutRanges(parsePolicy(once).ast)).toEqual(withoutRanges(parsePolicy(text).ast));
  });

  it('lays out a messy policy canonically', () => {
    const messy = [
      'policy   "acme"   version "1"',
      'currency USD',
      '',
      '',
      '',
      'class premium "Frontier"   # the big ones',
      'class economy',
      'tier a "A" {',
      '  limit 2M tokens per month',
      '  models economy',
      '}',
      'tier bigger { limit 10M tokens per month models any }',
      'escalation quota { at 70% notify person "x" at 100% block }',
      'metric m "M"=(a+b)*c/max(d,1)',
      'test "t" { expect tier a given person "p" role "r" facts { tokens 1k } now "2026-01-01T00:00:00Z" }',
    ].join('\n');
    expect(fmt(messy)).toBe(
      [
        'policy "acme" version "1"',
        'currency USD',
        '',
        'class premium "Frontier"  # the big ones',
        'class economy',
        'tier a      "A" { limit 2M tokens per month   models economy }',
        'tier bigger     { limit 10M tokens per month  models any }',
        'escalation quota {',
        '  at 70%  notify person "x"',
        '  at 100% block',
        '}',
        'metric m "M" = (a + b) * c / max(d, 1)',
        'test "t" {',
        '  now "2026-01-01T00:00:00Z"',
        '  given person "p" role "r"',
        '    facts { tokens 1k }',
        '  expect tier a',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('keeps every comment: leading, trailing, inside blocks and at the end', () => {
    const text = [
      '# header comment',
      'policy "p" version "1"  # trailing',
      '',
      'leaderboard b {',
      '  # before everything',
      '  subject person',
      '  window month',
      '  # about the score',
      '  score = accepted / max(tasks, 1)  # per task',
      '  # closing thoughts',
      '}  # after the block',
      'tier t {  # inside a one-line declaration',
      '  models any',
      '}',
      '# the end',
    ].join('\n');
    const out = fmt(text);
    const comments = (s: string) => parsePolicy(s).ast.comments.map((c) => c.text);
    expect(comments(out)).toEqual(comments(text));
    expect(out).toBe(
      [
        '# header comment',
        'policy "p" version "1"  # trailing',
        '',
        'leaderboard b {',
        '  # before everything',
        '  subject person',
        '  window month',
        '  # about the score',
        '  score = accepted / max(tasks, 1)  # per task',
        '  # closing thoughts',
        '}  # after the block',
        '# inside a one-line declaration',
        'tier t { models any }',
        '# the end',
        '',
      ].join('\n'),
    );
    expect(fmt(out)).toBe(out);
  });

  it('keeps `team` or `person` on an expectation about a subject with no given', () => {
    const text = 'test "t" {\n  given team "platform"\n  expect team "org" band budget green\n}\n';
    expect(fmt(text)).toBe(text);
  });

  it('escapes strings so they read back the same', () => {
    const out = fmt('class c "say \\"hi\\" \\\\ now"');
    expect(out).toBe('class c "say \\"hi\\" \\\\ now"\n');
    const decl = parsePolicy(out).ast.declarations[0];
    expect(decl.kind === 'Class' && decl.label?.value).toBe('say "hi" \\ now');
  });

  it('prints an empty file as empty', () => {
    expect(formatPolicy(parsePolicy('').ast)).toBe('');
    expect(formatPolicy(parsePolicy('# only a comment\n').ast)).toBe('# only a comment\n');
  });
});

describe('formatExpr', () => {
  const at: Range = {
    start: { line: 1, column: 1, offset: 0 },
    end: { line: 1, column: 1, offset: 0 },
  };
  const ref = (text: string): Expr => ({
    kind: 'Ref',
    range: at,
    name: { kind: 'Name', range: at, text },
  });
  const bin = (op: '+' | '-' | '*' | '/' | 'and' | 'or' | '==', left: Expr, right: Expr): Expr => ({
    kind: 'Binary',
    range: at,
    op,
    left,
    right,
  });
  // built with fromEntries: an object literal with a `then` key trips the thenable lint
  const ifx = (c: Expr, t: Expr, e: Expr): Expr =>
    Object.fromEntries([
      ['kind', 'If'],
      ['range', at],
      ['cond', c],
      ['then', t],
      ['else', e],
    ]) as Expr;

  it('adds the parentheses a built tree needs, and no others', () => {
    expect(formatExpr(bin('*', bin('+', ref('a'), ref('b')), ref('c')))).toBe('(a + b) * c');
    expect(formatExpr(bin('+', ref('a'), bin('*', ref('b'), ref('c'))))).toBe('a + b * c');
    expect(formatExpr(bin('-', ref('a'), bin('-', ref('b'), ref('c'))))).toBe('a - (b - c)');
    expect(formatExpr(bin('-', bin('-', ref('a'), ref('b')), ref('c')))).toBe('a - b - c');
    expect(formatExpr(bin('and', bin('or', ref('a'), ref('b')), ref('c')))).toBe('(a or b) and c');
    expect(formatExpr(bin('==', bin('==', ref('a'), ref('b')), ref('c')))).toBe('(a == b) == c');
    expect(
      formatExpr({ kind: 'Unary', range: at, op: '-', operand: bin('+', ref('a'), ref('b')) }),
    ).toBe('-(a + b)');
  });

  it('wraps `if` only where something follows it', () => {
    expect(formatExpr(bin('+', ref('a'), ifx(ref('c'), ref('x'), ref('y'))))).toBe(
      'a + if c then x else y',
    );
    expect(formatExpr(bin('+', ifx(ref('c'), ref('x'), ref('y')), ref('a')))).toBe(
      '(if c then x else y) + a',
    );
    expect(
      formatExpr(bin('*', bin('+', ref('a'), ifx(ref('c'), ref('x'), ref('y'))), ref('b'))),
    ).toBe('(a + (if c then x else y)) * b');
  });

  it('round-trips every printed expression through the parser', () => {
    const sources = [
      'a or b and not c == d + e * -f',
      'role not in ["a", "b"] or team.sensitivity == "restricted"',
      'tokens within 1d > 3 * tokens within 30d / 30',
      '1 + if a > 0 then 2 else 3 + 4',
      '(if a then 1 else 2) * 3',
      'cost > 2,000 USD and acceptance >= 80% and minutes_saved > 2h',
      '- -a',
      'not not a',
    ];
    for (const source of sources) {
      const first = parsePolicy(`metric m = ${source}`);
      expect(first.diagnostics).toEqual([]);
      const printed = formatPolicy(first.ast);
      const second = parsePolicy(printed);
      expect(second.diagnostics).toEqual([]);
      expect(withoutRanges(second.ast)).toEqual(withoutRanges(first.ast));
    }
  });
});
