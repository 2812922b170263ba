import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { runPolicyTests } from '../../src/policy/evaluate/tests.ts';
import { at, BASE, compileText, show, where } from './meaning-helpers.ts';

/** BASE with `extra` appended (declarations are order-independent, except assign). */
const plus = (extra: string) => `${BASE}\n${extra}\n`;

function diagnose(text: string) {
  return compileText(text).diagnostics;
}

describe('checker', () => {
  it('accepts the language sketch with no errors or warnings', () => {
    const c = compileText(BASE);
    expect(c.diagnostics.map(show)).toEqual([]);
    expect(c.ok).toBe(true);
  });

  describe('units', () => {
    it('rejects cost + tokens at the expression', () => {
      const text = plus('metric broken = cost + tokens');
      const d = diagnose(text);
      expect(where(d, 'Q4001')).toEqual([at(text, 'cost + tokens')]);
      expect(d.find((x) => x.code === 'Q4001')!.message).toContain('cannot add tokens to money');
    });

    it('gives cost / tokens the unit money per token and warns that tokens can be 0', () => {
      const text = plus('metric price_per_token = cost / tokens');
      const c = compileText(text);
      expect(c.ok).toBe(true);
      expect(c.ir!.metrics.price_per_token.unit).toBe('money/tokens');
      const warning = c.diagnostics.find((x) => x.code === 'Q6001')!;
      expect(warning.severity).toBe('warning');
      expect(`${warning.range.start.line}:${warning.range.start.column}`).toBe(
        at(text, 'tokens', text.split('tokens').length - 2),
      );
      expect(warning.hint).toBe('use `max(tokens, 1)`');
    });

    it('does not warn when the denominator is guarded with max(x, 1)', () => {
      const c = compileText(BASE);
      expect(where(c.diagnostics, 'Q6001')).toEqual([]);
    });

    it('compares like with like in eligible and when', () => {
      const text = BASE.replace(
        'eligible when tasks >= 5 and opted_in',
        'eligible when tokens >= 2,000 USD and opted_in',
      );
      const d = diagnose(text);
      expect(where(d, 'Q4002')).toEqual([at(text, 'tokens >= 2,000 USD')]);
      const rule = plus(
        'rule odd "Odd" severity low {\n  when cost within 7d > tokens within 7d\n  then notify finance\n}',
      );
      expect(where(diagnose(rule), 'Q4002')).toEqual([at(rule, 'cost within 7d > tokens')]);
      // a plain number takes the unit it meets
      const plain = plus(
        'rule fine "Fine" severity low {\n  when cost within 7d > 40k\n  then notify finance\n}',
      );
      expect(compileText(plain).ok).toBe(true);
    });

    it('treats percentages as ratios: acceptance > 80% is fine, tokens > 80% is not', () => {
      expect(
        compileText(
          plus(
            'rule good "Good" severity low {\n  when acceptance > 80%\n  then notify manager\n}',
          ),
        ).ok,
      ).toBe(true);
      const text = plus(
        'rule bad "Bad" severity low {\n  when tokens > 80%\n  then notify manager\n}',
      );
      expect(where(diagnose(text), 'Q4002')).toEqual([at(text, 'tokens > 80%')]);
    });

    it('requires conditions to be true/false', () => {
      const text = BASE.replace('eligible when tasks >= 5 and opted_in', 'eligible when tasks');
      const [line, col] = at(text, 'eligible when tasks').split(':').map(Number);
      expect(where(diagnose(text), 'Q4004')).toEqual([`${line}:${col + 'eligible when '.length}`]);
    });

    it('rejects money in another currency', () => {
      const text = BASE.replace(
        'budget each team    { 2,000 USD per month }',
        'budget each team    { 2,000 EUR per month }',
      );
      expect(where(diagnose(text), 'Q4007')).toEqual([at(text, '2,000 EUR')]);
    });

    it('warns about log10 of something that can be zero', () => {
      const text = plus('metric loud = log10(tokens)');
      expect(where(diagnose(text), 'Q6002')).toEqual([at(text, 'tokens)')]);
    });

    it('warns when a leaderboard ranks raw consumption', () => {
      const text = BASE.replace(
        'score = 1000 * acceptance * safety / log10(10 + tokens_per_task)',
        'score = tokens',
      );
      const d = diagnose(text);
      expect(d.find((x) => x.code === 'Q5011')?.severity).toBe('warning');
    });
  });

  describe('names', () => {
    it('suggests the metric a misspelled name meant', () => {
      const text = BASE.replace('1000 * acceptance * safety', '1000 * acceptence * safety');
      const d = diagnose(text);
      expect(where(d, 'Q3001')).toEqual([at(text, 'acceptence')]);
      expect(d.find((x) => x.code === 'Q3001')!.message).toContain('did you mean `acceptance`?');
    });

    it('resolves team attributes with did-you-mean', () => {
      const text = BASE.replace('team.sensitivity ==', 'team.sensitivty ==');
      const d = diagnose(text);
      expect(where(d, 'Q3006')).toEqual([at(text, 'sensitivty')]);
      expect(d.find((x) => x.code === 'Q3006')!.message).toContain('`sensitivity`');
    });

    it('requires every model class to be declared', () => {
      const text = BASE.replace('class economy  price', 'class econmy  price');
      const d = diagnose(text);
      expect(where(d, 'Q3002')).toEqual([at(text, 'econmy')]);
    });

    it('requires assigned tiers to exist', () => {
      const text = BASE.replace('assign power    when', 'assign powr    when');
      expect(where(diagnose(text), 'Q3003')).toEqual([at(text, 'powr')]);
    });

    it('checks audiences and approvers', () => {
      const text = BASE.replace('notify finance, team_owner', 'notify finanse, team_owner');
      const d = diagnose(text);
      expect(where(d, 'Q3005')).toEqual([at(text, 'finanse')]);
      expect(d.find((x) => x.code === 'Q3005')!.message).toContain('`finance`');
    });

    it('reports duplicate names at the second declaration', () => {
      const text = plus('metric acceptance = accepted / max(tasks, 1)');
      expect(where(diagnose(text), 'Q3010')).toEqual([
        at(text, 'acceptance', text.split('acceptance').length - 2),
      ]);
    });

    it('checks names used in tests', () => {
      const text = BASE.replace('expect tier power', 'expect tier pwer');
      expect(where(diagnose(text), 'Q3003')).toEqual([at(text, 'pwer')]);
    });
  });

  describe('structure', () => {
    it('names the metric cycle', () => {
      const text = plus('metric ping = pong + 1\nmetric pong = pang * 2\nmetric pang = ping / 3');
      const d = diagnose(text);
      const cycle = d.filter((x) => x.code === 'Q5001');
      expect(cycle).toHaveLength(1);
      expect(cycle[0].message).toBe('metric cycle: ping → pong → pang → ping');
      expect(where(d, 'Q5001')).toEqual([at(text, 'ping')]);
    });

    it('requires escalation thresholds to rise strictly', () => {
      const text = BASE.replace('at 90%  require justification', 'at 60%  require justification');
      const d = diagnose(text);
      expect(where(d, 'Q5002')).toEqual([at(text, '60%')]);
    });

    it('reports an assign after `otherwise` as unreachable', () => {
      const text = BASE.replace(
        'assign baseline otherwise',
        'assign baseline otherwise\nassign power when role == "manager"',
      );
      const d = diagnose(text);
      expect(where(d, 'Q5003')).toEqual([at(text, 'assign power when role')]);
      expect(d.find((x) => x.code === 'Q5003')!.severity).toBe('error');
    });

    it('warns when no assign is unconditional', () => {
      const text = BASE.replace('assign baseline otherwise', '');
      const d = diagnose(text);
      const w = d.find((x) => x.code === 'Q5004')!;
      expect(w.severity).toBe('warning');
      expect(`${w.range.start.line}:${w.range.start.column}`).toBe(at(text, 'assign power'));
    });

    it('names a pool team given twice, and a pool name that holds a window separator', () => {
      const text = plus(
        'budget pool "ml#1" teams "platform", "routing", "platform" { 4,000 USD per month }',
      );
      const d = diagnose(text);
      expect(where(d, 'Q5021')).toEqual([
        at(text, '"ml#1"'),
        at(text, '"platform"', text.split('"platform"').length - 2),
      ]);
      expect(d.find((x) => x.code === 'Q5021' && x.message.includes('twice'))?.message).toBe(
        'team "platform" is named twice in this pool',
      );
      // a pool of the same teams in another order is the same pool: one meaning
      const a = compileText(plus('budget pool "ml" teams "a", "b" { 4 USD per month }'));
      const b = compileText(plus('budget pool "ml" teams "b", "a" { 4 USD per month }'));
      expect(a.ir?.budgets.find((x) => x.scope === 'pool')?.teams).toEqual(['a', 'b']);
      expect(a.ir).toEqual(b.ir);
    });

    it('checks request limits: a warning below the block, each step once, a known class', () => {
      const text = plus(
        'request premium { warn above 300k input  block above 200k input }\nrequest huge { block above 1.5 input  block above 2M input }',
      );
      const d = diagnose(text);
      expect(where(d, 'Q5022')).toEqual([
        at(text, '300k'),
        at(text, '1.5 input'),
        at(text, 'block above 2M input'),
      ]);
      expect(where(d, 'Q3002')).toEqual([at(text, 'huge')]);
      const ok = compileText(
        plus('request premium { block above 400k input  warn above 100k input "trim" }'),
      );
      expect(ok.ok).toBe(true);
      expect(ok.ir?.requestLimits).toEqual({
        premium: {
          warn: { above: 100_000, message: 'trim' },
          block: { above: 400_000, message: null },
        },
      });
      // a policy without request limits keeps its hash: the IR has no requestLimits field
      expect(compileText(BASE).ir).not.toHaveProperty('requestLimits');
    });

    it('rejects an unknown timezone with a suggestion', () => {
      const text = BASE.replace('"Europe/London"', '"Europe/Londn"');
      const d = diagnose(text);
      expect(where(d, 'Q5007')).toEqual([at(text, '"Europe/Londn"')]);
      expect(d.find((x) => x.code === 'Q5007')!.message).toContain('Europe/London');
    });
  });

  it('reports several problems in one run, in source order', () => {
    const text = plus('metric a1 = cost + tokens\nmetric a2 = tokns * 2');
    const d = diagnose(text).filter((x) => x.severity === 'error');
    expect(d.map((x) => x.code)).toEqual(['Q4001', 'Q3001']);
  });
});

describe('broken copies of default.policy', () => {
  const original = readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8');

  it('is clean as committed', () => {
    expect(compileText(original).diagnostics.map(show)).toEqual([]);
  });

  it('reports a unit error at the offending expression', () => {
    const text = original.replace(
      '= cost / max(accepted, 1)',
      '= cost / max(accepted, 1) + tokens',
    );
    const d = diagnose(text);
    expect(where(d, 'Q4001')).toEqual([at(text, 'cost / max(accepted, 1) + tokens')]);
    expect(d.find((x) => x.code === 'Q4001')!.message).toContain('cannot add tokens to money');
  });

  it('reports a comparison of unlike units in eligible', () => {
    const text = original.replace(
      'eligible when tasks >= 5 and',
      'eligible when tasks >= 5 USD and',
    );
    expect(where(diagnose(text), 'Q4002')).toEqual([at(text, 'tasks >= 5 USD')]);
  });

  it('names a metric cycle at the first metric of the cycle', () => {
    const text = original
      .replace(
        '= accepted / max(accepted + rejected + reworked, 1)',
        '= accepted / max(accepted + rejected + reworked, 1) * safety',
      )
      .replace(
        '= if redaction_failures > 0 then 0.5 else 1',
        '= if redaction_failures > 0 then 0.5 else acceptance',
      );
    const d = diagnose(text);
    expect(d.filter((x) => x.code === 'Q5001').map((x) => x.message)).toEqual([
      'metric cycle: acceptance → safety → acceptance',
    ]);
    expect(where(d, 'Q5001')).toEqual([at(text, 'acceptance "Acceptance rate"')]);
  });

  it('reports an assign after `otherwise` as unreachable, and a missing otherwise', () => {
    const unreachable = original.replace(
      'assign baseline otherwise',
      'assign baseline otherwise\nassign lab when role == "researcher"',
    );
    expect(where(diagnose(unreachable), 'Q5003')).toEqual([
      at(unreachable, 'assign lab when role'),
    ]);
    const open = original.replace('assign baseline otherwise', '');
    expect(where(diagnose(open), 'Q5004')).toEqual([at(open, 'assign power')]);
  });

  it('reports falling thresholds and undeclared classes', () => {
    const text = original.replace(
      'at 100% require approval by manager',
      'at 85% require approval by manager',
    );
    expect(where(diagnose(text), 'Q5002')).toEqual([at(text, '85%')]);
    const cls = original.replace('model "gpt-4o" class standard', 'model "gpt-4o" class standrd');
    expect(where(diagnose(cls), 'Q3002')).toEqual([at(cls, 'standrd')]);
  });
});

describe('robustness', () => {
  it('never throws on mutated policies; compiled mutants build and run their tests', () => {
    const original = readFileSync(
      new URL('../../policies/default.policy', import.meta.url),
      'utf8',
    );
    const words = original.split(/(\s+)/);
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(words.length - 1),
            fc.nat(words.length - 1),
            fc.integer({ min: 0, max: 2 }),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (mutations) => {
          const w = [...words];
          for (const [i, j, op] of mutations) {
            if (op === 0) w[i] = '';
            else if (op === 1) w[i] = `${w[i]} ${w[j]}`;
            else [w[i], w[j]] = [w[j], w[i]];
          }
          const text = w.join('');
          const a = analyzePolicy(text);
          for (const d of a.diagnostics) {
            expect(d.range.start.offset).toBeGreaterThanOrEqual(0);
            expect(d.range.end.offset).toBeLessThanOrEqual(text.length);
          }
          if (a.ir) runPolicyTests(a.ast, buildRuleSet(a.ir));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('assignments shadowed by earlier conditions', () => {
  it('reports an assign whose values were all matched before', () => {
    const text = BASE.replace(
      'assign baseline otherwise',
      'assign baseline when role == "engineer"\nassign lab when role in ["data-scientist", "engineer"]\nassign baseline otherwise',
    );
    const d = diagnose(text);
    expect(where(d, 'Q5003')).toEqual([
      at(text, 'assign baseline when role'),
      at(text, 'assign lab when role in'),
    ]);
  });

  it('keeps an assign that still matches someone new', () => {
    const text = BASE.replace(
      'assign baseline otherwise',
      'assign lab when role in ["engineer", "researcher"]\nassign baseline otherwise',
    );
    expect(where(diagnose(text), 'Q5003')).toEqual([]);
  });
});

describe('size limits', () => {
  it('reports absurdly deep operator chains instead of overflowing', () => {
    const text = `policy "p" version "1"\nmetric m = ${Array(3000).fill('tokens').join(' + ')}\n`;
    const d = diagnose(text);
    expect(d.map((x) => x.code)).toEqual(['Q5012']);
    expect(d[0].message).toContain('3000 operators deep');
  });

  it('handles long metric chains and cycles without recursion limits', () => {
    const chain = ['policy "p" version "1"', 'metric m0 = tokens'];
    for (let i = 1; i < 3000; i++) chain.push(`metric m${i} = m${i - 1} + 1`);
    const c = compileText(`${chain.join('\n')}\n`);
    expect(c.ok).toBe(true);
    expect(c.ir!.metricOrder.slice(0, 3)).toEqual(['m0', 'm1', 'm2']);
    const cycle = ['policy "p" version "1"'];
    for (let i = 0; i < 3000; i++) cycle.push(`metric c${i} = c${(i + 1) % 3000} + 1`);
    expect(diagnose(`${cycle.join('\n')}\n`).map((x) => x.code)).toEqual(['Q5001']);
  });
});
