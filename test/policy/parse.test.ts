import { describe, expect, it } from 'vitest';
import type { Declaration, Expr, MetricDecl, TestDecl } from '../../src/policy/ast.ts';
import { DECLARATION_KINDS } from '../../src/policy/constructs.ts';
import { formatExpr } from '../../src/policy/format.ts';
import { numberValue, parsePolicy } from '../../src/policy/parse.ts';
import { defaultPolicy, rangeProblems, shippedPolicies } from './syntax-helpers.ts';

function parseOk(text: string) {
  const result = parsePolicy(text);
  expect(result.diagnostics).toEqual([]);
  return result.ast;
}

function only<K extends Declaration['kind']>(text: string, kind: K) {
  const ast = parseOk(text);
  expect(ast.declarations).toHaveLength(1);
  expect(ast.declarations[0].kind).toBe(kind);
  return ast.declarations[0] as Extract<Declaration, { kind: K }>;
}

function expr(source: string): Expr {
  return only(`metric m = ${source}`, 'Metric').formula;
}

/** Shape of an expression as nested tuples, to check precedence without ranges. */
function shape(e: Expr): unknown {
  switch (e.kind) {
    case 'Binary':
      return [e.op, shape(e.left), shape(e.right)];
    case 'Unary':
      return [e.op, shape(e.operand)];
    case 'Paren':
      return ['()', shape(e.inner)];
    case 'In':
      return [e.negated ? 'not in' : 'in', shape(e.value), e.list.map(shape)];
    case 'If':
      return ['if', shape(e.cond), shape(e.then), shape(e.else)];
    case 'Call':
      return [`${e.callee.text}()`, ...e.args.map(shape)];
    case 'Member':
      return ['.', shape(e.object), e.property.text];
    case 'Within':
      return ['within', e.fact.text, e.window.raw];
    case 'Ref':
      return e.name.text;
    case 'Number':
      return e.value;
    default:
      return formatExpr(e);
  }
}

describe('parsePolicy: the shipped policies', () => {
  it.each(shippedPolicies())('$file parses without diagnostics', ({ text }) => {
    const ast = parseOk(text);
    expect(ast.declarations.length).toBeGreaterThan(5);
    expect(ast.comments.length).toBeGreaterThan(0);
  });

  it('default.policy uses every kind of declaration', () => {
    const kinds = new Set(parseOk(defaultPolicy()).declarations.map((d) => d.kind));
    // every kind the registry knows: a new construct belongs in the default policy
    expect([...kinds].sort()).toEqual([...DECLARATION_KINDS].sort());
  });
});

describe('default.policy coverage', () => {
  /** Every `kind` in the AST, with budget scopes and step triggers. */
  function kinds(value: unknown, into = new Set<string>()): Set<string> {
    if (Array.isArray(value)) for (const v of value) kinds(v, into);
    else if (value && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      if (typeof o.kind === 'string') into.add(o.kind);
      if (typeof o.scope === 'string') into.add(`scope:${o.scope}`);
      if (typeof o.trigger === 'string') into.add(`trigger:${o.trigger}`);
      for (const [k, v] of Object.entries(o)) if (k !== 'range') kinds(v, into);
    }
    return into;
  }

  it('uses every expression, action, budget scope and expectation', () => {
    const used = kinds(parseOk(defaultPolicy()).declarations);
    const expected = [
      ...['Number', 'Money', 'Percent', 'Duration', 'StringExpr', 'Bool', 'Ref', 'Member'],
      ...['Within', 'Call', 'Unary', 'Binary', 'In', 'If', 'Paren'],
      ...['Notify', 'RequireJustification', 'RequireApproval', 'Block'],
      ...['scope:each', 'scope:one', 'scope:org', 'trigger:at', 'trigger:forecast'],
      ...['ExpectTier', 'ExpectValue', 'ExpectBand', 'ExpectRank', 'ExpectEligible', 'ExpectFires'],
      ...['Given', 'GivenAttribute', 'FactValue', 'Price', 'Detect'],
    ];
    expect(expected.filter((k) => !used.has(k))).toEqual([]);
  });
});

describe('literals', () => {
  it('reads thousands separators and magnitudes exactly', () => {
    expect(numberValue('2,000')).toBe(2000);
    expect(numberValue('40k')).toBe(40_000);
    expect(numberValue('2M')).toBe(2_000_000);
    expect(numberValue('1.5B')).toBe(1_500_000_000);
    expect(numberValue('1.1k')).toBe(1100);
    expect(numberValue('0.30')).toBe(0.3);
    expect(numberValue('1,234,567.25')).toBe(1234567.25);
  });

  it('parses money, percentages, durations, strings and booleans', () => {
    const e = expr('x in [2,000 USD, 70%, 7d, 3mo, 30m, 3M, "say \\"hi\\"", true, false]');
    expect(e.kind).toBe('In');
    if (e.kind !== 'In') return;
    const [money, pct, days, months, minutes, millions, str, yes, no] = e.list;
    expect(money).toMatchObject({ kind: 'Money', amount: 2000, raw: '2,000', currency: 'USD' });
    expect(pct).toMatchObject({ kind: 'Percent', value: 70, raw: '70%' });
    expect(days).toMatchObject({ kind: 'Duration', amount: 7, unit: 'd' });
    expect(months).toMatchObject({ kind: 'Duration', amount: 3, unit: 'mo' });
    expect(minutes).toMatchObject({ kind: 'Duration', amount: 30, unit: 'm' });
    expect(millions).toMatchObject({ kind: 'Number', value: 3_000_000 });
    expect(str).toMatchObject({ kind: 'StringExpr', value: 'say "hi"' });
    expect(yes).toMatchObject({ kind: 'Bool', value: true });
    expect(no).toMatchObject({ kind: 'Bool', value: false });
  });
});

describe('expressions', () => {
  it('binds * before +, comparisons before not, not before and, and before or', () => {
    expect(shape(expr('a or b and not c == d + e * -f'))).toEqual([
      'or',
      'a',
      ['and', 'b', ['not', ['==', 'c', ['+', 'd', ['*', 'e', ['-', 'f']]]]]],
    ]);
  });

  it('is left-associative for arithmetic', () => {
    expect(shape(expr('a - b - c / d / e'))).toEqual([
      '-',
      ['-', 'a', 'b'],
      ['/', ['/', 'c', 'd'], 'e'],
    ]);
  });

  it('keeps explicit parentheses', () => {
    expect(shape(expr('(a + b) * c'))).toEqual(['*', ['()', ['+', 'a', 'b']], 'c']);
  });

  it('parses in, not in, member access, calls, windows and if', () => {
    expect(shape(expr('role not in ["a", "b"]'))).toEqual(['not in', 'role', ['"a"', '"b"']]);
    expect(shape(expr('person.attributes.region == "emea"'))).toEqual([
      '==',
      ['.', ['.', 'person', 'attributes'], 'region'],
      '"emea"',
    ]);
    expect(shape(expr('max(a, 1) + log10(x)'))).toEqual(['+', ['max()', 'a', 1], ['log10()', 'x']]);
    expect(shape(expr('tokens within 1d > 3 * tokens within 30d / 30'))).toEqual([
      '>',
      ['within', 'tokens', '1d'],
      ['/', ['*', 3, ['within', 'tokens', '30d']], 30],
    ]);
    expect(shape(expr('1 + if a > 0 then 2 else 3 + 4'))).toEqual([
      '+',
      1,
      ['if', ['>', 'a', 0], 2, ['+', 3, 4]],
    ]);
  });

  it('lets contextual keywords be names', () => {
    expect(shape(expr('team == "x" and tokens > month'))).toEqual([
      'and',
      ['==', 'team', '"x"'],
      ['>', 'tokens', 'month'],
    ]);
  });

  it('gives each node the range of its text', () => {
    const text = 'metric m =\n  a + max(b, 1)';
    const formula = (parseOk(text).declarations[0] as MetricDecl).formula;
    expect(formula.range.start).toEqual({ line: 2, column: 3, offset: 13 });
    expect(formula.range.end).toEqual({ line: 2, column: 16, offset: 26 });
    expect(text.slice(formula.range.start.offset, formula.range.end.offset)).toBe('a + max(b, 1)');
  });
});

describe('declarations', () => {
  it('reads the header', () => {
    const ast = parseOk(
      'policy "acme" version "2026-Q4"\ncurrency USD\ntimezone "Europe/London"\n' +
        'privacy { min_group_size 5  identities masked }\nexceptions { max_duration 30d }',
    );
    expect(ast.declarations.map((d) => d.kind)).toEqual([
      'PolicyHeader',
      'Currency',
      'Timezone',
      'Privacy',
      'Exceptions',
    ]);
    expect(ast.declarations[3]).toMatchObject({ identities: 'masked', minGroupSize: { value: 5 } });
    expect(ast.declarations[4]).toMatchObject({ maxDuration: { amount: 30, unit: 'd' } });
  });

  it('reads models with prices', () => {
    const model = only(
      'model "claude-opus-4-1" class premium price { input 15.00 output 75.00 cache_read 1.50 cache_write 18.75 }',
      'Model',
    );
    expect(model.model.value).toBe('claude-opus-4-1');
    expect(model.className.text).toBe('premium');
    expect(model.prices.map((p) => [p.priceKind, p.amount.raw])).toEqual([
      ['input', '15.00'],
      ['output', '75.00'],
      ['cache_read', '1.50'],
      ['cache_write', '18.75'],
    ]);
  });

  it('reads leaderboards', () => {
    const board = only(
      'leaderboard v "Value" { subject person window quarter cohort role eligible when tasks >= 5 exclude when team.sensitivity == "restricted" score = accepted / tokens top 20 }',
      'Leaderboard',
    );
    expect(board).toMatchObject({ subject: 'person', window: 'quarter', top: { value: 20 } });
    expect(board.cohort && formatExpr(board.cohort)).toBe('role');
    expect(board.score && formatExpr(board.score)).toBe('accepted / tokens');
  });

  it('reads tiers and ordered assignments', () => {
    const ast = parseOk(
      'tier a "A" { limit 2M tokens per month  models economy, standard }\ntier b { models any }\n' +
        'assign b when team == "lab"\nassign a otherwise',
    );
    expect(ast.declarations[0]).toMatchObject({ limit: { value: 2e6 }, period: 'month' });
    expect(
      (ast.declarations[0] as { models: { text: string }[] }).models.map((m) => m.text),
    ).toEqual(['economy', 'standard']);
    expect(ast.declarations[1]).toMatchObject({ models: 'any', limit: null });
    expect(ast.declarations[3]).toMatchObject({ kind: 'Assign', when: null });
  });

  it('reads every budget scope', () => {
    const ast = parseOk(
      'budget each team { 2,000 USD per month }\nbudget team "platform" { 8,000 USD per month }\n' +
        'budget org { 60,000 USD per quarter }\nbudget each team environment "sandbox" { 300 USD per month }\n' +
        'budget person "ana" { 50 USD per week }',
    );
    expect(ast.declarations.map((d) => (d.kind === 'Budget' ? d.target : null))).toMatchObject([
      { scope: 'each', subject: 'team' },
      { scope: 'one', subject: 'team', id: { value: 'platform' } },
      { scope: 'org' },
      { scope: 'each', subject: 'team' },
      { scope: 'one', subject: 'person', id: { value: 'ana' } },
    ]);
    expect(ast.declarations[3]).toMatchObject({
      environment: { value: 'sandbox' },
      amount: { amount: 300 },
    });
  });

  it('reads escalation ladders and every action', () => {
    const ladder = only(
      'escalation quota { at 70% notify person "msg" at 90% require justification at 100% require approval by manager at 120% block forecast 100% notify finance, team_owner }',
      'Escalation',
    );
    expect(ladder.steps.map((s) => [s.trigger, s.threshold.value, s.action.kind])).toEqual([
      ['at', 70, 'Notify'],
      ['at', 90, 'RequireJustification'],
      ['at', 100, 'RequireApproval'],
      ['at', 120, 'Block'],
      ['forecast', 100, 'Notify'],
    ]);
    expect(ladder.steps[4].action).toMatchObject({
      audiences: [{ text: 'finance' }, { text: 'team_owner' }],
      message: null,
    });
  });

  it('reads rules', () => {
    const rule = only(
      'rule leakage "Redaction failure" severity high { when redaction_failures within 7d > 0 then notify security }',
      'Rule',
    );
    expect(rule).toMatchObject({ severity: 'high', label: { value: 'Redaction failure' } });
    expect(rule.when && formatExpr(rule.when)).toBe('redaction_failures within 7d > 0');
  });

  it('reads detector rules, team subjects and daily series in tests', () => {
    const rule = only(
      `rule unusual "Unusual use" severity medium {
        subject team
        detect period_end_burst of tokens within 3d above 50% history 10d in quarter
        when tokens within 30d > 1M
        then notify team_owner
      }`,
      'Rule',
    );
    expect(rule.subject).toBe('team');
    expect(rule.detect).toMatchObject({
      detector: { text: 'period_end_burst' },
      fact: { text: 'tokens' },
      window: { raw: '3d' },
      above: { kind: 'Percent', value: 50 },
      history: { raw: '10d' },
      period: 'quarter',
    });
    expect(rule.when && formatExpr(rule.when)).toBe('tokens within 30d > 1M');
    const bare = only(
      'rule spike { detect deviation of tokens within 28d above 3.5 then notify manager }',
      'Rule',
    );
    expect(bare).toMatchObject({
      when: null,
      subject: null,
      detect: { history: null, period: null },
    });
    const test = only(
      'test "t" { given person "ana" facts { tokens daily [1k, 2k, 3k] tokens within 1d 9k } expect fires spike }',
      'Test',
    );
    expect(
      test.givens[0].facts[0].daily?.map((d) => (d.kind === 'Number' ? d.value : null)),
    ).toEqual([1000, 2000, 3000]);
    expect(test.givens[0].facts[1].window?.raw).toBe('1d');
  });

  it('reads tests with givens, facts and every expectation', () => {
    const test = only(
      `test "t" {
        now "2026-10-15T12:00:00Z"
        given person "ana" role "engineer" team "platform" opted_in attributes.region "emea"
          facts { tokens 40k tasks 10 accepted 9 tokens within 1d 5k cost 12 USD }
        given team "platform" sensitivity "restricted"
        expect tier power
        expect score value_per_token between 200 and 300
        expect metric acceptance between 0.8 and 1
        expect band quota yellow
        expect band budget green
        expect rank value_per_token 1
        expect eligible value_per_token
        expect not eligible value_per_token
        expect fires quota at 90%
        expect not fires spike
        expect person "bo" tier baseline
      }`,
      'Test',
    ) as TestDecl;
    expect(test.now?.value).toBe('2026-10-15T12:00:00Z');
    expect(
      test.givens[0].attributes.map((a) => [a.name.text, a.value && formatExpr(a.value)]),
    ).toEqual([
      ['role', '"engineer"'],
      ['team', '"platform"'],
      ['opted_in', null],
      ['attributes.region', '"emea"'],
    ]);
    expect(
      test.givens[0].facts.map((f) => [f.fact.text, f.window?.raw ?? null, formatExpr(f.value)]),
    ).toEqual([
      ['tokens', null, '40k'],
      ['tasks', null, '10'],
      ['accepted', null, '9'],
      ['tokens', '1d', '5k'],
      ['cost', null, '12 USD'],
    ]);
    expect(test.givens[1]).toMatchObject({ subject: 'team', id: { value: 'platform' } });
    expect(test.expects.map((e) => e.expectation.kind)).toEqual([
      'ExpectTier',
      'ExpectValue',
      'ExpectValue',
      'ExpectBand',
      'ExpectBand',
      'ExpectRank',
      'ExpectEligible',
      'ExpectEligible',
      'ExpectFires',
      'ExpectFires',
      'ExpectTier',
    ]);
    expect(test.expects[4].expectation).toMatchObject({
      target: 'budget',
      band: { text: 'green' },
    });
    expect(test.expects[7].expectation).toMatchObject({ negated: true });
    expect(test.expects[8].expectation).toMatchObject({ step: { value: 90 }, negated: false });
    expect(test.expects[10].subject?.value).toBe('bo');
  });

  it('keeps comments with their ranges', () => {
    const ast = parseOk('# one\nclass a # two\n');
    expect(ast.comments.map((c) => [c.text, c.range.start.line, c.range.start.column])).toEqual([
      ['# one', 1, 1],
      ['# two', 2, 9],
    ]);
  });
});

describe('diagnostics', () => {
  const messages = (text: string) =>
    parsePolicy(text).diagnostics.map(
      (d) =>
        `${d.range.start.line}:${d.range.start.column} ${d.code} ${d.message}${d.hint ? ` | ${d.hint}` : ''}`,
    );

  it('says what was expected and what was found, in plain words', () => {
    expect(messages('tier baseline "Everyone" limit 2M tokens per month }')[0]).toBe(
      '1:26 Q2001 expected `{` after the tier label, found `limit`',
    );
    expect(messages('tier baseline limit 2M tokens per month }')[0]).toMatch(
      /^1:15 Q200\d expected .*after the tier name, found `limit`/,
    );
  });

  it('suggests the keyword a misspelling was meant to be', () => {
    expect(messages('teir power { models any }')).toEqual([
      '1:1 Q2005 expected a declaration, found `teir` | did you mean `tier`?',
    ]);
    expect(messages('tier power { limt 2M tokens per month }')[0]).toBe(
      '1:14 Q2001 expected `limit`, `models` or `}` after `{`, found `limt` | did you mean `limit`?',
    );
    expect(messages('leaderboard b { window quartr }')[0]).toMatch(
      /found `quartr` \| did you mean `quarter`\?$/,
    );
  });

  it('finds a misspelled word that was read as a name before the error surfaced', () => {
    const text = 'test "t" {\n  given person "a" role "r"\n  expct not eligible b\n}';
    expect(messages(text)).toEqual([
      '3:3 Q2001 expected `now`, `given`, `expect` or `}` after `"r"`, found `expct` | did you mean `expect`?',
    ]);
    const test = parsePolicy(text).ast.declarations[0] as TestDecl;
    expect(test.expects[0].expectation).toMatchObject({ kind: 'ExpectEligible', negated: true });
  });

  it('suggests optional clause keywords too', () => {
    expect(messages('model "m" class c pirce { input 1 }')).toEqual([
      '1:19 Q2005 expected a declaration, found `pirce` | did you mean `price`?',
    ]);
    expect(messages('rule r { when a wtihin 7d > 0 then block }')[0]).toMatch(
      /found `wtihin` \| did you mean `within`\?$/,
    );
    // read as meant, the rest parses: the model keeps its price
    const model = parsePolicy('model "m" class c pirce { input 1 }').ast.declarations[0];
    expect(model.kind === 'Model' && model.prices.length).toBe(1);
  });

  it('offers no did-you-mean for a reserved word in the wrong place', () => {
    expect(parsePolicy('tier a { not }').diagnostics[0].hint).not.toMatch(/did you mean/);
  });

  it('points at an unclosed block and the brace that opened it', () => {
    const lines = messages('tier a { models any\ntier b { models any }');
    expect(lines).toEqual([
      '2:1 Q2001 expected `limit`, `models` or `}` after `any`, found `tier` | add `}` to close the `{` opened at line 1, column 8',
    ]);
  });

  it('recovers and reports every error in one run', () => {
    const text =
      'tier a { limt 2M tokens per month }\nclass ok\nmetric m = 1 +\nteir b { }\nclass also_ok';
    const result = parsePolicy(text);
    expect(
      result.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.column} ${d.code}`),
    ).toEqual(['1:10 Q2001', '4:1 Q2002', '4:1 Q2005']);
    expect(result.diagnostics[0].hint).toBe('did you mean `limit`?');
    expect(result.diagnostics[2].hint).toBe('did you mean `tier`?');
    // misspelled keywords are read as meant, so both tiers and both classes survive
    expect(result.ast.declarations.map((d) => d.kind)).toEqual(['Tier', 'Class', 'Tier', 'Class']);
  });

  it('reports lexical errors with stable codes and hints', () => {
    expect(messages('class a;')).toEqual([
      '1:8 Q1001 unexpected character `;` | each declaration ends at its line break; remove the `;`',
    ]);
    expect(messages('timezone "Europe/London')[0]).toMatch(
      /^1:10 Q1002 this string has no closing `"`/,
    );
    expect(messages('tier a { limit 10tokens tokens per month }')[0]).toMatch(
      /^1:16 Q1003 `10tokens` is not a number/,
    );
  });

  it('reports clauses given twice', () => {
    expect(messages('leaderboard b { window month window quarter }')).toEqual([
      '1:30 Q2010 `window` is given twice in leaderboard `b` | keep one of them',
    ]);
    expect(messages('model "m" class c price { input 1 input 2 }')[0]).toMatch(
      /Q2010 the `input` price/,
    );
  });

  it('explains reserved words and lower-case currency codes', () => {
    expect(messages('class when')[0]).toMatch(/`when` is a reserved word/);
    expect(messages('budget org { 5 usd per month }')[0]).toMatch(
      /currency codes are upper case: `USD`/,
    );
  });

  it('never throws, and keeps every range inside the text', () => {
    for (const text of [
      '',
      '}',
      '{{{{',
      '"',
      '#',
      'test "x" {',
      'metric = = =',
      '\u0000\uffff',
      'a\r\nb\rc',
    ]) {
      const result = parsePolicy(text);
      expect(rangeProblems(text, result.diagnostics)).toEqual([]);
    }
  });

  it('refuses absurd nesting with a clear error instead of overflowing', () => {
    const deep = `metric m = ${'('.repeat(5000)}a${')'.repeat(5000)}`;
    expect(messages(deep)).toEqual([
      '1:112 Q2008 brackets nest more than 100 levels deep here | split the expression into metrics',
    ]);
    const negations = `metric m = ${'- '.repeat(100_000)}a`;
    expect(parsePolicy(negations).diagnostics.map((d) => d.code)).toEqual(['Q2008']);
  });

  it('accepts a byte-order mark', () => {
    expect(parsePolicy('\uFEFFclass a').diagnostics).toEqual([]);
  });

  it('names the file when given one', () => {
    expect(parsePolicy('class ;', 'x.policy').diagnostics[0].file).toBe('x.policy');
  });
});
