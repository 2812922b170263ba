// `measure` declarations through every phase: parse (and its errors), check (names, units,
// aggregation, use in formulas and tests), IR (the aggregation in the fact name, no field
// when none is declared), format, diff, evaluation with explanations, tests and coverage.
import { describe, expect, it } from 'vitest';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { diffPolicies, renderDiff } from '../../src/policy/diff.ts';
import { evaluate } from '../../src/policy/evaluate/index.ts';
import { runPolicyTests } from '../../src/policy/evaluate/tests.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import { irToText, parseMeasureFact, policyHash } from '../../src/policy/ir.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { at, BASE, compileText, diffSide, show, where } from './meaning-helpers.ts';

const plus = (extra: string) => `${BASE}\n${extra}\n`;

const MEASURES = `
measure review_score "Review score" { unit score  aggregate mean }
measure cycle_time { unit minutes  aggregate percentile 90 }
metric quality = review_score / 5
leaderboard reviewed "Reviewed" {
  subject person
  window quarter
  eligible when tasks >= 1 and cycle_time within 30d < 8h
  score = 100 * quality
}`;

describe('measure declarations', () => {
  it('parse into the AST with unit, aggregation and percentile', () => {
    const { ast, diagnostics } = parsePolicy(plus(MEASURES));
    expect(diagnostics).toEqual([]);
    const measures = ast.declarations.filter((d) => d.kind === 'Measure');
    expect(
      measures.map((m) => [m.name.text, m.label?.value ?? null, m.unit?.text, m.aggregate]),
    ).toEqual([
      ['review_score', 'Review score', 'score', 'mean'],
      ['cycle_time', null, 'minutes', 'percentile'],
    ]);
    expect(measures[1].kind === 'Measure' && measures[1].percentile?.value).toBe(90);
  });

  it('report a clause given twice and a missing percentile', () => {
    const text = plus('measure m { unit count  unit score  aggregate sum }');
    expect(compileText(text).diagnostics.map(show).join('\n')).toContain('is given twice');
    const noNumber = compileText(plus('measure m { unit count  aggregate percentile }'));
    expect(noNumber.ok).toBe(false);
  });

  it('check names, units and aggregations with their codes', () => {
    const text = plus(`measure tokens { unit tokens  aggregate sum }
measure acceptance { unit score  aggregate mean }
measure role { unit score  aggregate mean }
measure wait { unit hours  aggregate mean }
measure nothing { }
measure lines_added { unit score  aggregate mean }
measure slow { unit minutes  aggregate percentile 120 }`);
    const d = compileText(text).diagnostics;
    expect(where(d, 'Q3030')).toEqual([
      at(text, 'tokens {'),
      at(text, 'acceptance {'),
      at(text, 'role {'),
    ]);
    const q5030 = d.filter((x) => x.code === 'Q5030').map((x) => x.message);
    expect(q5030).toEqual([
      'unknown measure unit `hours`',
      'measure `nothing` has no `unit`',
      'measure `nothing` has no `aggregate`',
      "Claude Code's `lines_added` counts, so its unit is `count`",
      'a percentile lies above 0 and at most 100',
    ]);
    const dup = compileText(plus(`${MEASURES}\nmeasure cycle_time { unit count  aggregate sum }`));
    expect(dup.diagnostics.map((x) => x.code)).toContain('Q3010');
  });

  it('are refused in tier assignments, directly or through a metric (the quota check reads none)', () => {
    const assign = (when: string) =>
      `${BASE.replace('assign power    when role in ["engineer", "data-scientist"]', `assign power when ${when}`)}${MEASURES}\nmetric recent_quality = review_score within 30d\n`;
    const direct = assign('review_score within 30d >= 4');
    const viaMetric = assign('recent_quality >= 4 and role == "engineer"');
    expect(where(compileText(direct).diagnostics, 'Q5042')).toEqual([
      at(direct, 'review_score within 30d >= 4'),
    ]);
    const through = compileText(viaMetric).diagnostics.filter((d) => d.code === 'Q5042');
    expect(through.map((d) => d.message)).toEqual([
      "`assign ... when` reads the measure `review_score` (through the metric `recent_quality`): the quota check does not read measures, so the tier would differ from a full evaluation's",
    ]);
    // usage facts and attributes stay as they were
    expect(where(compileText(assign('tokens within 30d >= 4M')).diagnostics, 'Q5042')).toEqual([]);
  });

  it('type like facts of their unit, and unknown names suggest them', () => {
    const mixed = plus(`${MEASURES}\nmetric broken = cycle_time + tokens`);
    expect(compileText(mixed).diagnostics.map((x) => x.message)).toContain(
      'cannot add tokens to duration: `cycle_time + tokens`',
    );
    const typo = plus(`${MEASURES}\nmetric typo = review_scor / 5`);
    expect(
      compileText(typo)
        .diagnostics.map((x) => x.message)
        .join('\n'),
    ).toContain('did you mean `review_score`?');
    const within = plus(
      `${MEASURES}\nrule slow { when cycle_tim within 7d > 60 then notify manager }`,
    );
    expect(
      compileText(within)
        .diagnostics.map((x) => x.message)
        .join('\n'),
    ).toContain('did you mean `cycle_time`?');
  });

  it('lower to fact names that carry the aggregation, and keep older hashes', () => {
    const c = compileText(plus(MEASURES));
    expect(c.ok).toBe(true);
    const ir = c.ir!;
    expect(ir.measures).toEqual({
      cycle_time: { label: null, unit: 'minutes', aggregate: 'percentile', percentile: 90 },
      review_score: { label: 'Review score', unit: 'score', aggregate: 'mean' },
    });
    expect(ir.metrics.quality.expr).toEqual({
      k: 'bin',
      op: '/',
      a: { k: 'fact', name: 'measure:review_score:mean' },
      b: { k: 'num', v: 5 },
    });
    expect(irToText(ir.leaderboards.reviewed.eligible!)).toBe(
      'tasks >= 1 and cycle_time within 30d < 480',
    );
    expect(parseMeasureFact('measure:cycle_time:p90')).toEqual({
      measure: 'cycle_time',
      aggregate: 'percentile',
      percentile: 90,
    });
    expect(parseMeasureFact('tokens')).toBeNull();
    // a policy without measures has no `measures` field: its hash is as before
    expect('measures' in compileText(BASE).ir!).toBe(false);
    const rs = buildRuleSet(ir);
    expect([...(rs.required.person.get('30d') ?? [])]).toContain('measure:cycle_time:p90');
    expect([...(rs.required.person.get('quarter') ?? [])]).toEqual(
      expect.arrayContaining(['measure:review_score:mean', 'tasks']),
    );
  });

  it('format aligned and idempotent, comments kept', () => {
    const text = plus(`# measures
measure   review_score "Review score"{unit score aggregate mean}  # per review
measure cycle_time { aggregate percentile 90.5  unit minutes }`);
    const once = formatPolicy(parsePolicy(text).ast);
    expect(once).toContain(
      'measure review_score "Review score" { unit score    aggregate mean }  # per review\nmeasure cycle_time                  { unit minutes  aggregate percentile 90.5 }',
    );
    expect(formatPolicy(parsePolicy(once).ast)).toBe(once);
  });

  it('diff a changed aggregation as a measure change and in the formulas that read it', () => {
    const a = diffSide(plus(MEASURES));
    const b = diffSide(plus(MEASURES.replace('percentile 90', 'percentile 75')));
    expect(policyHash(a.ir)).not.toBe(policyHash(b.ir));
    const d = diffPolicies(a, b);
    expect(d.changes.map((c) => [c.construct, c.subject, c.fields.map((f) => f.field)])).toEqual([
      ['measures', 'measure cycle_time', ['aggregate']],
      ['leaderboards', 'leaderboard reviewed', ['eligible']],
    ]);
    expect(d.changes[0].fields[0]).toMatchObject({
      before: 'percentile 90',
      after: 'percentile 75',
    });
    expect(renderDiff(d, 'text')).toContain('measure cycle_time');
    // a relabelled measure is a change; reordering declarations is none
    const same = diffSide(
      plus(
        MEASURES.replace(
          'measure review_score "Review score" { unit score  aggregate mean }\n',
          '',
        ).replace(
          'metric quality',
          'measure review_score "Review score" { unit score  aggregate mean }\nmetric quality',
        ),
      ),
    );
    expect(diffPolicies(a, same).equivalent).toBe(true);
  });

  it('evaluate as facts, with explanations that name the measure', () => {
    // on its own: the evaluator wants every fact a policy reads, and the sketch reads many
    const rs = buildRuleSet(compileText(`policy "m" version "1"\n${MEASURES}`).ir!);
    const result = evaluate(rs, {
      now: new Date('2026-11-15T12:00:00Z'),
      subjects: [
        {
          kind: 'person',
          id: 'ana',
          attributes: { opted_in: true },
          facts: {
            quarter: { tasks: 3, 'measure:review_score:mean': 4 },
            '30d': { 'measure:cycle_time:p90': 120 },
          },
        },
      ],
    });
    const entry = result.subjects[0].leaderboards.reviewed;
    expect(entry.eligible).toBe(true);
    expect(entry.score).toBeCloseTo(80, 10);
    const facts = entry.explanation?.facts.map((f) => f.name) ?? [];
    expect(facts).toContain('review_score');
    expect(facts.join(' ')).not.toContain('measure:');
  });

  it('take values in tests and count toward coverage when a test reads them', () => {
    const text = plus(`${MEASURES}
measure unused { unit count  aggregate sum }
test "reviewed" {
  given person "ana" opted_in facts { tasks 3 review_score 4 cycle_time within 30d 120 }
  expect score reviewed between 79.9 and 80.1
}`);
    const c = compileText(text);
    expect(c.diagnostics.filter((x) => x.severity === 'error').map(show)).toEqual([]);
    const report = runPolicyTests(c.ast, buildRuleSet(c.ir!));
    expect(report.failed).toBe(0);
    expect(report.uncovered.measures).toEqual(['unused']);
    const unknown = compileText(
      plus(`test "x" {\n  given person "ana" facts { reviw_score 4 }\n  expect tier baseline\n}`),
    );
    expect(unknown.diagnostics.map((x) => x.code)).toContain('Q3011');
  });
});
