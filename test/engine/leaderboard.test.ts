// Board views and k-anonymity as pure functions over hand-made evaluations (no database).

import { describe, expect, it } from 'vitest';
import { boardHiddenOf, viewOf } from '../../src/app/privacy.ts';
import type { Evaluation } from '../../src/engine/evaluation.ts';
import { boardView, previousClock } from '../../src/engine/leaderboard.ts';
import type { Directory } from '../../src/engine/ports.ts';
import { suppressSmallGroups } from '../../src/engine/privacy.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { buildRuleSet } from '../../src/policy/compile/index.ts';
import { evaluate } from '../../src/policy/evaluate/index.ts';
import { POLICY } from './fixture.ts';

// the fixture policy without its restricted-team exclusion, top 2, groups of 2
const source = POLICY.replace(/ {2}exclude when .*\n/, '').replace('top 10', 'top 2');
const analysis = analyzePolicy(source);
if (!analysis.ir) throw new Error(analysis.diagnostics.map((d) => d.message).join('\n'));
const ruleSet = buildRuleSet(analysis.ir);

const directory: Directory = {
  teams: [
    {
      id: 'eng',
      name: 'Eng',
      parent: null,
      costCenter: null,
      sensitivity: 'normal',
      owner: null,
      fromDirectory: true,
    },
    {
      id: 'hr',
      name: 'HR',
      parent: null,
      costCenter: null,
      sensitivity: 'restricted',
      owner: null,
      fromDirectory: true,
    },
  ],
  people: [],
};

/** People with (accepted, rejected) outcomes this month; all opted in. */
function evaluation(
  now: string,
  people: [id: string, team: string, role: string, accepted: number, rejected: number][],
): Evaluation {
  const dir: Directory = {
    teams: directory.teams,
    people: people.map(([id, team, role]) => ({
      id,
      name: id,
      team,
      role,
      manager: null,
      optedIn: true,
      fromDirectory: true,
      attributes: {},
    })),
  };
  const input = {
    now,
    subjects: [
      ...people.map(([id, team, role, accepted, rejected]) => ({
        kind: 'person' as const,
        id,
        attributes: { team, role, opted_in: true },
        facts: {
          month: { tasks: accepted + rejected, accepted, rejected, tokens: 1000 },
          '7d': { redaction_failures: 0 },
        },
      })),
      ...directory.teams.map((t) => ({
        kind: 'team' as const,
        id: t.id,
        attributes: { sensitivity: t.sensitivity },
        facts: { month: { cost: 0 }, 'month@sandbox': { cost: 0 } },
      })),
    ],
    org: { facts: { quarter: { cost: 0 } } },
  };
  return { result: evaluate(ruleSet, input), directory: dir, input };
}

const now = evaluation('2026-11-20T12:00:00Z', [
  ['a', 'eng', 'engineer', 9, 1], // 90
  ['h', 'hr', 'engineer', 8, 2], // 80
  ['b', 'eng', 'engineer', 7, 3], // 70
  ['c', 'eng', 'engineer', 1, 1], // 50
  ['s', 'eng', 'analyst', 5, 0], // 100, alone in its cohort
]);
const before = evaluation('2026-10-31T23:59:59.999Z', [
  ['b', 'eng', 'engineer', 9, 1],
  ['a', 'eng', 'engineer', 8, 2],
  ['h', 'hr', 'engineer', 1, 1],
]);

const viewer = viewOf(
  { keyId: 'k', name: 'viewer', role: 'viewer', person: null },
  { teams: [], teamless: 0 },
  ruleSet.ir.privacy.minGroupSize,
  () => '',
);

describe('boardView', () => {
  it('shows governance every ranked subject, top N per cohort, with movement', () => {
    const view = boardView(ruleSet, 'value', now, before, { hidden: null });
    expect(view.cohorts).toEqual(['analyst', 'engineer']);
    expect(
      view.entries.map((e) => [e.cohort, e.rank, e.id, e.movement.status, e.movement.change]),
    ).toEqual([
      ['analyst', 1, 's', 'new', null],
      ['engineer', 1, 'a', 'up', 1],
      ['engineer', 2, 'h', 'up', 1],
    ]);
  });

  it('leaves restricted teams and small cohorts off public boards, renumbering ranks', () => {
    const view = boardView(ruleSet, 'value', now, before, {
      hidden: boardHiddenOf(viewer, 'person'),
    });
    // h (HR, restricted) is gone; the analyst cohort has one member (< min_group_size 2)
    expect(view.entries.map((e) => [e.cohort, e.rank, e.id, e.movement.status])).toEqual([
      ['engineer', 1, 'a', 'up'],
      ['engineer', 2, 'b', 'down'],
    ]);
  });

  it('hides a team restricted since the evaluation before a new one replaces it', () => {
    // the directory now: eng has become restricted; the evaluation still has it normal
    const later = viewOf(
      { keyId: 'k', name: 'viewer', role: 'viewer', person: null },
      { teams: [{ id: 'eng', sensitivity: 'restricted', members: 4 }], teamless: 0 },
      ruleSet.ir.privacy.minGroupSize,
      () => '',
    );
    const view = boardView(ruleSet, 'value', now, before, {
      hidden: boardHiddenOf(later, 'person'),
    });
    expect(view.entries).toEqual([]);
    // the same evaluation read with the directory of its time still shows eng
    const earlier = boardView(ruleSet, 'value', now, before, {
      hidden: boardHiddenOf(viewer, 'person'),
    });
    expect(earlier.entries.map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('filters by cohort and finds the previous window', () => {
    const view = boardView(ruleSet, 'value', now, null, { hidden: null, cohort: 'analyst' });
    expect(view.entries.map((e) => e.id)).toEqual(['s']);
    expect(previousClock(ruleSet, 'value', new Date('2026-11-20T12:00:00Z')).toISOString()).toBe(
      '2026-10-31T23:59:59.999Z',
    );
  });
});

describe('boardView, asked again', () => {
  it('gives the view it built for the same evaluations and options', () => {
    const hidden = boardHiddenOf(viewer, 'person');
    const first = boardView(ruleSet, 'value', now, before, { hidden });
    expect(boardView(ruleSet, 'value', now, before, { hidden })).toBe(first);
    // another view of the same evaluations is built on its own
    expect(boardView(ruleSet, 'value', now, before, { hidden: null })).not.toBe(first);
    expect(boardView(ruleSet, 'value', now, null, { hidden })).not.toBe(first);
    expect(boardView(ruleSet, 'value', now, before, { hidden, cohort: 'engineer' })).not.toBe(
      first,
    );
  });

  it('keeps no view of a cohort the board does not have', () => {
    const unknown = boardView(ruleSet, 'value', now, null, { hidden: null, cohort: 'nobody' });
    expect(unknown.entries).toEqual([]);
    expect(boardView(ruleSet, 'value', now, null, { hidden: null, cohort: 'nobody' })).not.toBe(
      unknown,
    );
  });
});

describe('suppressSmallGroups', () => {
  const rows = [{ people: 1 }, { people: 5 }, { people: 4 }];
  it('drops groups under k unless the caller sees everything', () => {
    expect(suppressSmallGroups(rows, 5, false)).toEqual({
      rows: [{ people: 5 }],
      suppressed: 2,
      minGroupSize: 5,
    });
    expect(suppressSmallGroups(rows, 5, true).rows).toHaveLength(3);
  });
});
