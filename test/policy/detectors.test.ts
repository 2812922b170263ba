// Rule detectors (`detect …`) and team rules (`subject team`) through every phase: check
// (Q5040, Q5041), IR, format, diff, evaluation with hand-computed medians and MADs, the
// minimum history (nobody flagged on a first day), tests with daily series, and coverage.
import { describe, expect, it, vi } from 'vitest';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { diffPolicies } from '../../src/policy/diff.ts';
import { robustBaseline } from '../../src/policy/evaluate/detectors.ts';
import { evaluate, type FactsByWindow } from '../../src/policy/evaluate/index.ts';
import { runPolicyTests } from '../../src/policy/evaluate/tests.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { daysAgoKey } from '../../src/policy/windows.ts';
import { at, compileText, diffSide, show, where } from './meaning-helpers.ts';

const POLICY = `policy "d" version "1"
rule unusual_tokens "Tokens far above the person's usual day" severity medium {
  detect deviation of tokens within 28d above 3.5 history 7d
  then notify manager
}
rule task_splitting "Many small tasks" severity low {
  detect task_splitting within 28d above 3
  then notify manager
}
rule retry_loop "Retry loop" severity low {
  detect retry_loop within 1h above 8
  then notify person
}
rule month_end_burst "Month-end burst" severity medium {
  detect period_end_burst of tokens within 3d above 50% in month
  when tokens within 30d > 10k
  then notify manager
}
rule team_spend_spike "Team spend far above its usual day" severity high {
  subject team
  detect deviation of cost within 28d above 4 history 14d
  then notify team_owner, finance
}
`;

/** A daily series ending yesterday (oldest first) plus today's value, as window facts. */
function series(fact: string, days: number[], today: number): FactsByWindow {
  const out: FactsByWindow = { '1d': { [fact]: today } };
  days.forEach((v, i) => {
    out[daysAgoKey(days.length - i)] = { [fact]: v };
  });
  return out;
}

const RULES = buildRuleSet(compileText(POLICY).ir!);
const NOW = new Date('2026-11-18T15:00:00Z');

/** Every fact the rules read, 0 unless given. */
function complete(given: FactsByWindow, kind: 'person' | 'team'): FactsByWindow {
  const out: FactsByWindow = {};
  for (const [window, facts] of RULES.required[kind]) {
    out[window] = {};
    for (const f of facts) out[window][f] = given[window]?.[f] ?? 0;
  }
  return out;
}

function fired(given: FactsByWindow, kind: 'person' | 'team' = 'person', now = NOW) {
  const facts = complete(given, kind);
  const result = evaluate(RULES, { now, subjects: [{ kind, id: 'x', attributes: {}, facts }] });
  expect(result.errors).toEqual([]);
  return result.subjects[0].rules;
}

describe('detector rules: checker, IR, format and diff', () => {
  it('lower to the IR with their defaults, and read a daily series', () => {
    const c = compileText(POLICY);
    expect(c.diagnostics.map(show)).toEqual([]);
    expect(c.ir!.rules.unusual_tokens).toEqual({
      label: "Tokens far above the person's usual day",
      severity: 'medium',
      when: { k: 'bool', v: true },
      action: { kind: 'notify', audiences: ['manager'], message: null },
      detect: { detector: 'deviation', fact: 'tokens', window: '28d', above: 3.5, history: 7 },
    });
    expect(c.ir!.rules.task_splitting.detect).toEqual({
      detector: 'task_splitting',
      window: '28d',
      above: 3,
      history: 7,
    });
    expect(c.ir!.rules.month_end_burst.detect).toMatchObject({ period: 'month', above: 50 });
    expect(c.ir!.rules.team_spend_spike.subject).toBe('team');
    // a rule without a detector or a team subject keeps its IR (and so its hash)
    expect(
      compileText('rule r { when tokens > 1 then notify person }').ir!.rules.r,
    ).not.toHaveProperty('detect');
    const built = buildRuleSet(c.ir!);
    const person = built.requiredBy.escalations.person;
    expect([...(person.get('day-28') ?? [])].sort()).toEqual(['tasks', 'tokens']);
    expect([...(person.get('1h') ?? [])].sort()).toEqual(['requests', 'tasks']);
    expect([...(person.get('30d') ?? [])].sort()).toEqual(['active_days', 'tokens']);
    expect(person.has('day-29')).toBe(false);
    const team = built.requiredBy.escalations.team;
    expect([...(team.get('day-1') ?? [])]).toEqual(['cost']);
  });

  it('report unusable detectors (Q5040) and team rules that notify a person (Q5041)', () => {
    const text = `rule a { detect deviaton of tokens within 28d above 3 then notify manager }
rule b { detect deviation within 28d above 3 then notify manager }
rule c { detect deviation of tokens within 3d above 3 then notify manager }
rule d { detect retry_loop of tokens within 2d above 0 then notify manager }
rule e { detect period_end_burst of tokens within 3d above 2 history 40d then notify manager }
rule f { detect deviation of active_days within 28d above 3 history 30d in month then notify manager }
rule g { then notify manager }
rule h { subject team  detect deviation of cost within 28d above 3  then notify manager }
rule i { subject team  when tokens > 1  then block }
`;
    const c = compileText(text);
    const messages = c.diagnostics.map((d) => `${d.code} ${d.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'Q5040 unknown detector `deviaton`; did you mean `deviation`?',
        'Q5040 `deviation` needs `of <fact>`',
        'Q5040 `deviation` needs `within` whole days, 7d to 90d (got 3d)',
        'Q5040 `retry_loop` weighs no fact of your choice',
        'Q5040 `retry_loop` needs `within` a span up to 1d (got 2d)',
        'Q5040 `retry_loop` needs `above` a positive number (requests per task)',
        'Q5040 `period_end_burst` needs `above` a share between 0% and 100%',
        'Q5040 `history` must be whole days, 1d to 30d (the days it is counted in)',
        'Q5040 `active_days` is not a fact a detector can weigh',
        'Q5040 `history` must be whole days, 1d to 28d (the days it is counted in)',
        'Q5040 only `period_end_burst` takes `in <period>`',
        'Q5040 rule `g` has neither `when <condition>` nor `detect …`',
        'Q5041 a team rule cannot notify `manager`: a team has no manager',
        'Q5041 a team rule can only `notify`: a team has no request to hold or block',
      ]),
    );
    expect(where(c.diagnostics, 'Q5041')).toEqual([at(text, 'manager }', 7), at(text, 'block')]);
  });

  it('format as blocks, idempotent, and keep a comment beside a detector', () => {
    const text = POLICY.replace(
      '  detect retry_loop',
      '  # the same task asked again and again\n  detect retry_loop',
    );
    const once = formatPolicy(parsePolicy(text).ast);
    expect(once).toContain(
      'rule team_spend_spike "Team spend far above its usual day" severity high {\n  subject team\n  detect deviation of cost within 28d above 4 history 14d\n  then notify team_owner, finance\n}',
    );
    expect(once).toContain('  # the same task asked again and again\n  detect retry_loop');
    expect(formatPolicy(parsePolicy(once).ast)).toBe(once);
  });

  it('diff a changed threshold and subject as rule changes', () => {
    const d = diffPolicies(
      diffSide(POLICY),
      diffSide(
        POLICY.replace('within 28d above 3.5', 'within 28d above 3').replace(
          '  subject team\n',
          '',
        ),
      ),
    );
    expect(d.changes.map((c) => [c.subject, c.fields.map((f) => f.field)])).toEqual([
      ['rule team_spend_spike', ['subject']],
      ['rule unusual_tokens', ['detect']],
    ]);
    expect(d.changes[1].fields[0]).toMatchObject({
      before: 'detect deviation of tokens within 28d above 3.5 history 7d',
      after: 'detect deviation of tokens within 28d above 3 history 7d',
    });
  });
});

describe('robust baseline', () => {
  it('is the median and MAD × 1.4826, or mean absolute deviation × 1.2533 when MAD is 0', () => {
    // sorted 9 10 10 11 12 13 30: median 11; |x − 11| sorted 0 1 1 1 2 2 19: MAD 1
    expect(robustBaseline([10, 12, 11, 13, 9, 10, 30])).toEqual({
      median: 11,
      mad: 1,
      spread: 1.4826,
    });
    // even count: median (10 + 12) / 2 = 11; deviations 3 1 1 3: MAD 2
    expect(robustBaseline([8, 10, 12, 14])).toMatchObject({ median: 11, mad: 2 });
    // median 10; deviations 0 0 0 0 2 4 0: MAD 0, mean AD 6/7
    const flat = robustBaseline([10, 10, 10, 10, 12, 14, 10]);
    expect(flat.mad).toBe(0);
    expect(flat.spread).toBeCloseTo((1.2533 * 6) / 7, 10);
  });
});

describe('detector evaluation', () => {
  // days with tokens before today, in thousands: median 11k, MAD 1k, spread 1,482.6
  const usual = [10, 12, 11, 13, 9, 10, 30].map((k) => k * 1000);

  it('deviation fires above median + z × MAD × 1.4826, with its figures', () => {
    // threshold 11,000 + 3.5 × 1,482.6 = 16,189.1
    const rules = fired(series('tokens', usual, 17_000));
    expect(rules.map((r) => r.rule)).toEqual(['unusual_tokens']);
    const finding = rules[0].detector!;
    expect(finding).toMatchObject({
      detector: 'deviation',
      fact: 'tokens',
      window: '28d',
      fired: true,
      value: 17_000,
      baseline: 11_000,
      history: 7,
      minHistory: 7,
    });
    expect(finding.spread).toBeCloseTo(1482.6, 6);
    expect(finding.threshold).toBeCloseTo(16_189.1, 6);
    expect(finding.deviation).toBeCloseTo(6000 / 1482.6, 6);
    expect(finding.text).toBe(
      'deviation: tokens today 17,000 > 16,189.1 = median 11,000 + 3.5 × 1,482.6 (MAD 1,000 × 1.4826) over 7 days with tokens in 28d; deviation 4.05',
    );
    expect(fired(series('tokens', usual, 16_000))).toEqual([]);
  });

  it('formats no text for a detector that does not fire, and the same text when one fires is read', () => {
    const toLocale = vi.spyOn(Number.prototype, 'toLocaleString');
    // the number formatter's `format` is an accessor: each use reads it
    const formatters = Intl.NumberFormat.prototype as unknown as { format: unknown };
    const format = vi.spyOn(formatters, 'format', 'get');
    const count = () => toLocale.mock.calls.length + format.mock.calls.length;
    try {
      // every detector weighed, none fires
      expect(fired(series('tokens', usual, 16_000))).toEqual([]);
      expect(count()).toBe(0);
      const rules = fired(series('tokens', usual, 17_000));
      expect(count()).toBe(0);
      expect(rules[0].detector?.text).toBe(
        'deviation: tokens today 17,000 > 16,189.1 = median 11,000 + 3.5 × 1,482.6 (MAD 1,000 × 1.4826) over 7 days with tokens in 28d; deviation 4.05',
      );
      expect(count()).toBeGreaterThan(0);
      // and the text travels with the finding as a plain field
      expect(JSON.parse(JSON.stringify(rules[0].detector)).text).toBe(rules[0].detector?.text);
    } finally {
      toLocale.mockRestore();
      format.mockRestore();
    }
  });

  it('leaves out days without usage: zeros in the lookback do not move the baseline', () => {
    const withGaps = usual.flatMap((v) => [0, 0, v]);
    expect(fired(series('tokens', withGaps, 17_000))[0].detector).toMatchObject({
      baseline: 11_000,
      history: 7,
    });
  });

  it('never flags a first day, nor anyone with less than the history asked for', () => {
    expect(fired(series('tokens', [], 5_000_000))).toEqual([]);
    expect(fired(series('tokens', usual.slice(1), 5_000_000))).toEqual([]);
    expect(fired(series('tokens', usual, 5_000_000)).map((r) => r.rule)).toEqual([
      'unusual_tokens',
    ]);
  });

  it('uses the mean absolute deviation when most days are equal, and nothing when all are', () => {
    // median 10k, spread 1.2533 × 6k / 7 = 1,074.26; threshold 10k + 3.5 × 1,074.26 = 13,759.9
    const flat = [10, 10, 10, 10, 12, 14, 10].map((k) => k * 1000);
    expect(fired(series('tokens', flat, 13_800))).toHaveLength(1);
    expect(fired(series('tokens', flat, 13_700))).toEqual([]);
    expect(fired(series('tokens', Array(7).fill(10_000), 1_000_000))).toEqual([]);
  });

  it('task splitting: tasks far above the usual day with tokens per task below half the usual', () => {
    // tasks 4 5 4 6 5 4 5: median 5, MAD 1; threshold 5 + 3 × 1.4826 = 9.45; 10k tokens per task
    const tasks = [4, 5, 4, 6, 5, 4, 5];
    const facts = (todayTasks: number, todayTokens: number): FactsByWindow => {
      const f = series('tasks', tasks, todayTasks);
      f['1d'].tokens = todayTokens;
      tasks.forEach((t, i) => {
        f[daysAgoKey(tasks.length - i)].tokens = t * 10_000;
      });
      return f;
    };
    const split = fired(facts(20, 60_000));
    expect(split.map((r) => r.rule)).toEqual(['task_splitting']);
    expect(split[0].detector).toMatchObject({
      value: 20,
      baseline: 5,
      tokensPerTask: 3000,
      usualTokensPerTask: 10_000,
    });
    expect(split[0].detector!.threshold).toBeCloseTo(9.4478, 6);
    const rules = (f: FactsByWindow) => fired(f).map((r) => r.rule);
    // as many tasks, each as big as usual: a busy day (a token spike), not splitting
    expect(rules(facts(20, 200_000))).toEqual(['unusual_tokens']);
    // small tasks, but not more of them than usual
    expect(rules(facts(9, 20_000))).toEqual([]);
  });

  it('retry loop: requests per task in the span above the ratio, after the history', () => {
    const facts = (active: number): FactsByWindow => ({
      '1h': { requests: 90, tasks: 5 },
      '30d': { active_days: active },
      '1d': { active_days: 1 },
    });
    const loop = fired(facts(10));
    expect(loop.map((r) => r.rule)).toEqual(['retry_loop']);
    expect(loop[0].detector).toMatchObject({ value: 18, threshold: 8, history: 9 });
    expect(loop[0].detector!.text).toBe(
      'retry_loop: 90 requests for 5 tasks in 1h = 18 per task > 8',
    );
    // the first day: one active day, today
    expect(fired(facts(1))).toEqual([]);
  });

  it('period-end burst: the share of the month in its last days, only in those days', () => {
    const facts: FactsByWindow = {
      month: { tokens: 100_000 },
      '3d': { tokens: 60_000 },
      '30d': { tokens: 100_000, active_days: 12 },
      '1d': { active_days: 1 },
    };
    const late = fired(facts, 'person', new Date('2026-11-29T12:00:00Z'));
    expect(late.map((r) => r.rule)).toEqual(['month_end_burst']);
    expect(late[0].detector).toMatchObject({ value: 60, threshold: 50, daysLeft: 2 });
    expect(late[0].detector!.text).toBe(
      'period_end_burst: 60,000 of 100,000 tokens this month in the last 3d = 60% > 50%, 2 days left',
    );
    // earlier in the month the share is not weighed
    expect(fired(facts, 'person', new Date('2026-11-20T12:00:00Z'))).toEqual([]);
    // the rule's own condition still holds it back
    facts['30d'].tokens = 9_000;
    expect(fired(facts, 'person', new Date('2026-11-29T12:00:00Z'))).toEqual([]);
  });

  it('team rules weigh team subjects only', () => {
    const cost = [100, 120, 110, 130, 90, 100, 300, 100, 120, 110, 130, 90, 100, 300];
    // median 110, MAD 10; threshold 110 + 4 × 14.826 = 169.3
    const team = fired(series('cost', cost, 400), 'team');
    expect(team.map((r) => r.rule)).toEqual(['team_spend_spike']);
    expect(team[0].detector).toMatchObject({ baseline: 110, history: 14 });
    expect(fired(series('cost', cost, 400), 'person')).toEqual([]);
    expect(fired(series('cost', cost.slice(1), 400), 'team')).toEqual([]);
  });
});

describe('detectors in policy tests', () => {
  it('take daily series, explain a failed expectation with the figures, and count for coverage', () => {
    const text = `${POLICY}
test "spike" {
  now "2026-11-18T15:00:00Z"
  given person "ana" facts { tokens daily [10k, 12k, 11k, 13k, 9k, 10k, 30k] tokens within 1d 17k }
  given person "new" facts { tokens within 1d 500k }
  expect fires unusual_tokens
  expect person "new" not fires unusual_tokens
  expect person "new" fires unusual_tokens
}
`;
    const c = compileText(text);
    expect(c.diagnostics.map(show)).toEqual([]);
    const report = runPolicyTests(c.ast, buildRuleSet(c.ir!));
    expect(report.results[0].failures).toEqual([
      expect.stringContaining(
        'expected unusual_tokens to fire: deviation: not weighed, 0 days with tokens of history < 7 needed',
      ),
    ]);
    expect(report.uncovered.rules).toEqual([
      'month_end_burst',
      'retry_loop',
      'task_splitting',
      'team_spend_spike',
    ]);
    const once = formatPolicy(parsePolicy(text).ast);
    expect(once).toContain('tokens daily [10k, 12k, 11k, 13k, 9k, 10k, 30k]');
    expect(formatPolicy(parsePolicy(once).ast)).toBe(once);
  });
});
