// `badge` declarations through every phase: parse (clauses given twice), check (Q5031, a
// condition, names), IR (absent when none), format, diff, evaluation (awards with
// explanations, person and team), tests (`expect [not] badge`) and coverage.
import { describe, expect, it } from 'vitest';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { diffPolicies } from '../../src/policy/diff.ts';
import { evaluate } from '../../src/policy/evaluate/index.ts';
import { runPolicyTests } from '../../src/policy/evaluate/tests.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { at, compileText, diffSide, show, where } from './meaning-helpers.ts';

const POLICY = `policy "b" version "1"
measure review_score { unit score  aggregate mean }
metric tokens_per_task = tokens / max(tasks, 1)
badge token_legend "Token Legend" {
  window quarter
  when tasks >= 20 and tokens_per_task < 2k
}
badge steady "Steady team" {
  subject team
  window month
  when active_days >= 15
}
badge reviewed "Well reviewed" { when review_score >= 4.5 }
`;

describe('badge declarations', () => {
  it('lower to the IR with defaults, and not at all when none is declared', () => {
    const c = compileText(POLICY);
    expect(c.diagnostics.map(show)).toEqual([]);
    expect(c.ir!.badges).toEqual({
      reviewed: {
        label: 'Well reviewed',
        subject: 'person',
        window: 'quarter',
        when: {
          k: 'bin',
          op: '>=',
          a: { k: 'fact', name: 'measure:review_score:mean' },
          b: { k: 'num', v: 4.5 },
        },
      },
      steady: expect.objectContaining({ subject: 'team', window: 'month' }),
      token_legend: expect.objectContaining({ label: 'Token Legend', window: 'quarter' }),
    });
    expect('badges' in compileText('policy "x" version "1"\n').ir!).toBe(false);
    // badges are read with the boards
    const rs = buildRuleSet(c.ir!);
    expect([...(rs.requiredBy.boards.team.get('month') ?? [])]).toEqual(['active_days']);
  });

  it('check a missing condition, a number for a condition, a clause twice, a duplicate name', () => {
    const text = `${POLICY}badge empty "Empty" { window month }
badge numeric { when tasks }
badge twice { window month  window quarter  when tasks > 1 }
badge steady { when tasks > 1 }
`;
    const c = compileText(text);
    expect(where(c.diagnostics, 'Q5031')).toEqual([at(text, 'empty')]);
    expect(where(c.diagnostics, 'Q4004')).toEqual([at(text, 'tasks }')]);
    expect(c.diagnostics.map((d) => d.message)).toEqual(
      expect.arrayContaining([
        '`window` is given twice in badge `twice`',
        'badge `steady` is already declared at line 8',
      ]),
    );
  });

  it('format as blocks, idempotent', () => {
    const once = formatPolicy(parsePolicy(POLICY).ast);
    expect(once).toContain('badge reviewed "Well reviewed" {\n  when review_score >= 4.5\n}');
    expect(formatPolicy(parsePolicy(once).ast)).toBe(once);
  });

  it('diff a changed condition and window as a badge change', () => {
    const d = diffPolicies(
      diffSide(POLICY),
      diffSide(
        POLICY.replace('tokens_per_task < 2k', 'tokens_per_task < 1k').replace(
          'window month',
          'window week',
        ),
      ),
    );
    expect(d.changes.map((c) => [c.construct, c.subject, c.fields.map((f) => f.field)])).toEqual([
      ['badges', 'badge steady', ['window']],
      ['badges', 'badge token_legend', ['when']],
    ]);
    expect(d.changes[1].fields[0].subexpressions).toEqual([{ before: '2k', after: '1k' }]);
  });

  it('award with an explanation, to people and teams', () => {
    const rs = buildRuleSet(compileText(POLICY).ir!);
    const person = (id: string, tasks: number, tokens: number, review: number) => ({
      kind: 'person' as const,
      id,
      attributes: {},
      facts: { quarter: { tasks, tokens, 'measure:review_score:mean': review } },
    });
    const result = evaluate(rs, {
      now: new Date('2026-11-15T12:00:00Z'),
      subjects: [
        person('ana', 25, 25_000, 4.8),
        person('bo', 25, 250_000, 4),
        { kind: 'team', id: 'eng', attributes: {}, facts: { month: { active_days: 16 } } },
      ],
    });
    expect(result.errors).toEqual([]);
    const badges = Object.fromEntries(
      result.subjects.map((s) => [s.id, s.badges.map((b) => b.badge)]),
    );
    expect(badges).toEqual({ ana: ['token_legend', 'reviewed'].sort(), bo: [], eng: ['steady'] });
    const legend = result.subjects[0].badges.find((b) => b.badge === 'token_legend')!;
    expect(legend).toMatchObject({ label: 'Token Legend', window: 'quarter' });
    expect(legend.explanation.formula).toBe('tasks >= 20 and tokens_per_task < 2000');
    expect(legend.explanation.metrics.map((m) => [m.name, m.value])).toEqual([
      ['tokens_per_task', 1000],
    ]);
  });

  it('run in tests, explain a failed expectation, and count toward coverage', () => {
    const text = `${POLICY}
test "legend" {
  given person "ana" facts { tasks 25 tokens 25k }
  given person "bo" facts { tasks 25 tokens 250k }
  expect badge token_legend
  expect person "bo" badge token_legend
}
`;
    const c = compileText(text);
    const report = runPolicyTests(c.ast, buildRuleSet(c.ir!));
    expect(report.failed).toBe(1);
    expect(report.results[0].failures).toEqual([
      expect.stringContaining(
        'expected to earn badge token_legend (tasks >= 20 and tokens_per_task < 2000; tokens@quarter = 250000, tasks@quarter = 25)',
      ),
    ]);
    expect(report.uncovered.badges).toEqual(['reviewed', 'steady']);
    const unknown = compileText(`${POLICY}
test "x" {
  given person "ana" facts { tasks 1 }
  expect badge legend
}`);
    expect(unknown.diagnostics.map((d) => d.message).join('\n')).toContain(
      'unknown badge `legend`',
    );
  });
});

describe('badges in a boards-only evaluation', () => {
  it('are awarded there too: the boards cache reads their facts', () => {
    const rs = buildRuleSet(compileText(POLICY).ir!);
    const result = evaluate(
      rs,
      {
        now: new Date('2026-11-15T12:00:00Z'),
        subjects: [
          {
            kind: 'person',
            id: 'ana',
            attributes: {},
            facts: { quarter: { tasks: 25, tokens: 25_000, 'measure:review_score:mean': 4 } },
          },
        ],
      },
      { only: 'boards' },
    );
    expect(result.errors).toEqual([]);
    expect(result.subjects[0].badges.map((b) => b.badge)).toEqual(['token_legend']);
  });
});
