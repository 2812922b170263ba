import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFormula } from '../../src/policy/compile/codegen.ts';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import {
  assertIr,
  canonicalJson,
  IR_VERSION,
  policyHash,
  priceTable,
  type RuleSetIR,
} from '../../src/policy/ir.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { costPico } from '../../src/policy/price.ts';
import { BASE, compileText } from './meaning-helpers.ts';

function hashOf(text: string): string {
  const c = compileText(text);
  if (!c.ok)
    throw new Error(c.diagnostics.map((d) => `${d.range.start.line}: ${d.message}`).join('\n'));
  return c.hash;
}

/** Swap two whole lines (by their exact text). */
function swapLines(text: string, a: string, b: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(a));
  const j = lines.findIndex((l) => l.startsWith(b));
  if (i < 0 || j < 0) throw new Error('line not found');
  [lines[i], lines[j]] = [lines[j], lines[i]];
  return lines.join('\n');
}

describe('compiler and IR', () => {
  const base = compileText(BASE);
  const ir = base.ir as RuleSetIR;

  it('produces versioned plain JSON', () => {
    expect(ir.irVersion).toBe(IR_VERSION);
    expect(JSON.parse(JSON.stringify(ir))).toEqual(ir);
    expect(base.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(policyHash(JSON.parse(JSON.stringify(ir)))).toBe(base.hash);
  });

  it('lowers the header, prices, tiers, ladders and budgets', () => {
    expect(ir.meta).toEqual({ name: 'acme-ai-governance', version: '2026-Q4' });
    expect(ir.currency).toBe('USD');
    expect(ir.timezone).toBe('Europe/London');
    expect(ir.privacy).toEqual({ minGroupSize: 5, identities: 'masked' });
    expect(ir.models['claude-opus-4-1']).toEqual({
      class: 'premium',
      input: 15_000_000,
      output: 75_000_000,
      cacheRead: 1_500_000,
      cacheWrite: 18_750_000,
    });
    expect(ir.models['gpt-4o-mini']).toEqual({
      class: 'economy',
      input: 150_000,
      output: 600_000,
      cacheRead: 0,
      cacheWrite: 0,
    });
    expect(ir.tiers.power).toEqual({
      label: 'Builders',
      limit: 10_000_000,
      period: 'month',
      models: ['economy', 'premium', 'standard'],
    });
    expect(ir.tiers.lab.models).toBe('any');
    expect(ir.assignments.map((a) => a.tier)).toEqual(['lab', 'power', 'baseline']);
    expect(ir.assignments[2].when).toBeNull();
    expect(ir.budgets.map((b) => [b.key, b.amountMicros])).toEqual([
      ['each team', 2_000_000_000],
      ['team platform', 8_000_000_000],
    ]);
    expect(ir.escalations.quota.steps.map((s) => s.threshold)).toEqual([70, 90, 100, 120]);
    expect(ir.escalations.budget.steps.at(-1)).toEqual({
      trigger: 'forecast',
      threshold: 100,
      action: {
        kind: 'notify',
        audiences: ['team_owner'],
        message: "projected to exceed this month's budget",
      },
    });
    expect(ir.rules.leakage.when).toEqual({
      k: 'bin',
      op: '>',
      a: { k: 'fact', name: 'redaction_failures', within: '7d' },
      b: { k: 'num', v: 0 },
    });
    expect(ir.metricOrder).toEqual(['acceptance', 'safety', 'tokens_per_task']);
  });

  it('exposes the price table in the shape the store prices with', () => {
    const prices = priceTable(ir);
    expect(prices.currency).toBe('USD');
    // 1,000 input + 500 output tokens of claude-sonnet-4-5: 0.003 + 0.0075 = 0.0105 USD
    expect(
      costPico(prices, 'claude-sonnet-4-5', {
        inputTokens: 1000,
        outputTokens: 500,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      }),
    ).toBe(10_500_000_000n);
  });

  it('keeps the hash when only the version label changes', () => {
    expect(hashOf(BASE.replace('version "2026-Q4"', 'version "2027-Q1"'))).toBe(base.hash);
  });

  it('keeps the hash when independent declarations are reordered', () => {
    let text = swapLines(BASE, 'class premium', 'class economy');
    text = swapLines(text, 'model "claude-opus-4-1"', 'model "gpt-4o-mini"');
    text = swapLines(text, 'metric acceptance', 'metric safety');
    text = swapLines(text, 'tier baseline', 'tier lab');
    text = swapLines(text, 'budget each team', 'budget team "platform"');
    expect(hashOf(text)).toBe(base.hash);
  });

  it('changes the hash when assign order changes, since first match wins', () => {
    expect(hashOf(swapLines(BASE, 'assign lab', 'assign power'))).not.toBe(base.hash);
  });

  it('changes the hash when meaning changes', () => {
    expect(hashOf(BASE.replace('input 3.00 ', 'input 3.10 '))).not.toBe(base.hash);
    expect(hashOf(BASE.replace('at 90%', 'at 95%'))).not.toBe(base.hash);
    expect(hashOf(BASE.replace('top 20', 'top 10'))).not.toBe(base.hash);
  });

  it('does not distinguish equal spellings: 1w and 7d, parentheses, audience order', () => {
    expect(hashOf(BASE.replace('within 7d', 'within 1w'))).toBe(base.hash);
    expect(hashOf(BASE.replace('notify finance, team_owner', 'notify team_owner, finance'))).toBe(
      base.hash,
    );
    expect(
      hashOf(
        BASE.replace(
          'metric tokens_per_task = tokens / max(tasks, 1)',
          'metric tokens_per_task = (tokens) / (max(tasks, 1))',
        ),
      ),
    ).toBe(base.hash);
  });

  it('keeps the hash after formatting (property: random layout and comments)', () => {
    expect(hashOf(formatPolicy(parsePolicy(BASE).ast))).toBe(base.hash);
    const lines = BASE.split('\n');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean()), {
          minLength: lines.length,
          maxLength: lines.length,
        }),
        (layout) => {
          const text = lines
            .map((line, i) => {
              const [spaces, comment, blank] = layout[i];
              // widen the indentation and the gaps between words outside strings
              const parts = line.split('"');
              const widened = parts
                .map((p, j) => (j % 2 === 0 ? p.replace(/ +/g, ' '.repeat(spaces)) : p))
                .join('"');
              const withComment =
                comment && !line.trimStart().startsWith('#') ? `${widened}   # note ${i}` : widened;
              return blank ? `${withComment}\n` : withComment;
            })
            .join('\n');
          expect(hashOf(text)).toBe(base.hash);
          expect(hashOf(formatPolicy(parsePolicy(text).ast))).toBe(base.hash);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } })).toBe(
      '{"a":{"c":3,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('executable rule set', () => {
  it('generates formula code that contains no text from the policy', () => {
    const hostile = 'x"); globalThis.pwned = true; ("';
    const text = BASE.replace(
      'assign lab      when team == "innovation-lab"',
      `assign lab      when team == ${JSON.stringify(hostile)}`,
    );
    const c = compileText(text);
    expect(c.ok).toBe(true);
    const rs = buildRuleSet(c.ir!);
    const lab = rs.assignments[0];
    expect(lab.lookup?.values.has(hostile)).toBe(true);
    for (const board of rs.boards) expect(board.score.source).not.toContain('acceptance');
    const when = rs.rules.find((r) => r.name === 'spike')!.when;
    expect(when.source).toContain('= F["1d"] ?? E;');
    expect((globalThis as { pwned?: boolean }).pwned).toBeUndefined();
  });

  it('turns simple assignments into set lookups and keeps first-match order', () => {
    const rs = buildRuleSet(compileText(BASE).ir!);
    expect(rs.assignments.map((a) => [a.tier, a.lookup?.path ?? null])).toEqual([
      ['lab', 'team'],
      ['power', 'role'],
      ['baseline', null],
    ]);
    expect([...rs.assignments[1].lookup!.values]).toEqual(['engineer', 'data-scientist']);
  });

  it('builds sorted ladders with the documented band rule', () => {
    const rs = buildRuleSet(compileText(BASE).ir!);
    // quota: first require step is 90% → red from 90; yellow from the 70% notify
    expect(rs.ladders.quota).toMatchObject({ yellowFrom: 70, redFrom: 90 });
    // budget: only notify steps → red from 100%; yellow from 80%
    expect(rs.ladders.budget).toMatchObject({ yellowFrom: 80, redFrom: 100 });
    expect(rs.ladders.budget.forecast.map((s) => s.threshold)).toEqual([100]);
  });

  it('defines x / 0 as 0 and records where it happened', () => {
    const rs = buildRuleSet(compileText(`${BASE}\nmetric per_request = tokens / requests\n`).ir!);
    const hits: number[] = [];
    const f = rs.boards[0].score;
    const value = f.fn(
      {
        quarter: {
          tokens: 0,
          tasks: 0,
          accepted: 0,
          rejected: 0,
          reworked: 0,
          redaction_failures: 0,
        },
      },
      {},
      (s) => {
        hits.push(s);
        return 0;
      },
      null,
    );
    expect(value).toBe(0);
    expect(hits).toEqual([]);
    const g = compileFormula(rs.ir, { k: 'metric', name: 'per_request' }, 'month', 'test', {
      numeric: true,
    });
    const sites: number[] = [];
    expect(
      g.fn(
        { month: { tokens: 10, requests: 0 } },
        {},
        (s: number) => {
          sites.push(s);
          return 0;
        },
        null,
      ),
    ).toBe(0);
    expect(sites.map((s: number) => g.sites[s])).toEqual([
      { kind: 'division_by_zero', where: 'metric per_request', expr: 'tokens / requests' },
    ]);
  });
});

describe('IR read back from storage', () => {
  it('refuses operators and nodes it does not know instead of emitting them', () => {
    const ir = compileText(BASE).ir!;
    const tampered = structuredClone(ir);
    tampered.metrics.safety.expr = {
      k: 'bin',
      op: '+ globalThis.x = 1 +' as never,
      a: { k: 'num', v: 1 },
      b: { k: 'num', v: 2 },
    };
    expect(() => buildRuleSet(tampered)).toThrow(/unknown operator/);
    const badFn = structuredClone(ir);
    badFn.metrics.safety.expr = { k: 'call', fn: 'process.exit', args: [] };
    expect(() => buildRuleSet(badFn)).toThrow(/unknown function/);
  });
});

describe('assertIr', () => {
  it('accepts a stored IR and rejects other versions or shapes', () => {
    const ir = compileText(BASE).ir!;
    expect(assertIr(JSON.parse(JSON.stringify(ir)))).toEqual(ir);
    expect(() => assertIr({ ...ir, irVersion: 2 })).toThrow(/version 2 is not supported/);
    expect(() => assertIr({ ...ir, tiers: null })).toThrow(/tiers must be an object/);
    expect(() => assertIr('nope')).toThrow(/not an object/);
  });
});
