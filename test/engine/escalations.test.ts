import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  audiencesOf,
  escalationsFrom,
  ladderApprover,
  withExceptions,
} from '../../src/engine/escalations.ts';
import { mayDecide, validateExceptionRequest } from '../../src/engine/exceptions.ts';
import type { RuleSet } from '../../src/policy/compile/ruleset.ts';
import { evaluate } from '../../src/policy/evaluate/index.ts';
import type { FactsByWindow } from '../../src/policy/evaluate/types.ts';
import { ruleSetOf } from '../policy/meaning-helpers.ts';

const rs = ruleSetOf(
  readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8'),
);

/** Zero for every fact the policy reads, with overrides per window. */
function facts(rules: RuleSet, kind: 'person' | 'team', over: FactsByWindow = {}): FactsByWindow {
  const out: FactsByWindow = {};
  for (const [window, names] of rules.required[kind]) {
    out[window] = Object.fromEntries([...names].map((n) => [n, 0]));
  }
  for (const [window, values] of Object.entries(over)) out[window] = { ...out[window], ...values };
  return out;
}

function run(now: string, monthTokens: number, teamCost = 0) {
  return evaluate(rs, {
    now,
    subjects: [
      {
        kind: 'person',
        id: 'ivy@halcyon.test',
        attributes: {
          role: 'analyst',
          team: 'finance-ops',
          manager: 'bo@halcyon.test',
          opted_in: false,
        },
        facts: facts(rs, 'person', { month: { tokens: monthTokens } }),
      },
      {
        kind: 'team',
        id: 'finance-ops',
        attributes: { sensitivity: 'normal', owner: 'fo@halcyon.test' },
        facts: facts(rs, 'team', { month: { cost: teamCost } }),
      },
    ],
  });
}

describe('escalationsFrom', () => {
  it('one record per crossed step, keyed by step, subject and period', () => {
    const drafts = escalationsFrom(run('2026-10-28T16:00:00Z', 1_900_000));
    const quota = drafts.filter((d) => d.ladder === 'quota');
    expect(quota.map((d) => d.threshold)).toEqual([70, 90]);
    expect(quota[0].key).toBe(
      'quota:baseline:at:70|person:ivy@halcyon.test|2026-09-30T23:00:00.000Z',
    );
    expect(quota[1].facts).toMatchObject({ used: 1_900_000, limit: 2_000_000 });
    expect(quota[1].policyHash).toBe(rs.hash);
    // the same state evaluated again gives the same keys: the store makes them idempotent
    const again = escalationsFrom(run('2026-10-29T10:00:00Z', 1_950_000));
    expect(again.filter((d) => d.ladder === 'quota').map((d) => d.key)).toEqual(
      quota.map((d) => d.key),
    );
  });

  it('periods reset on calendar boundaries in the policy timezone', () => {
    // London is on BST (UTC+1) on 1 October: its month starts at 23:00 UTC the day before
    const late = escalationsFrom(run('2026-09-30T23:30:00Z', 1_500_000));
    expect(late.find((d) => d.ladder === 'quota')?.periodStart).toBe('2026-09-30T23:00:00.000Z');
    const before = escalationsFrom(run('2026-09-30T22:30:00Z', 1_500_000));
    expect(before.find((d) => d.ladder === 'quota')?.periodStart).toBe('2026-08-31T23:00:00.000Z');
  });

  it('a forecast step fires on a steep month before the budget is spent', () => {
    // 3 days into November (GMT), the team spent 500 of 2,000 USD: on course for ~5,000
    const drafts = escalationsFrom(run('2026-11-04T00:00:00Z', 0, 500));
    const budget = drafts.filter((d) => d.ladder === 'budget' && d.subject.id === 'finance-ops');
    expect(budget.map((d) => `${d.trigger}:${d.threshold}`)).toEqual(['forecast:100']);
    const f = budget[0].facts as { forecast: { percent: number }; percent: number };
    expect(f.percent).toBe(25);
    expect(f.forecast.percent).toBeCloseTo(250, 5);
    // a flat month with the same spend late in the month does not forecast an overrun
    const flat = escalationsFrom(run('2026-11-28T00:00:00Z', 0, 500));
    expect(flat.filter((d) => d.ladder === 'budget' && d.subject.id === 'finance-ops')).toEqual([]);
  });

  it('fired rules become records for the calendar month', () => {
    const result = evaluate(rs, {
      now: '2026-10-15T12:00:00Z',
      subjects: [
        {
          kind: 'person',
          id: 'sam',
          attributes: { role: 'engineer', team: 'platform', opted_in: true },
          facts: facts(rs, 'person', { '7d': { redaction_failures: 1 } }),
        },
      ],
    });
    const leak = escalationsFrom(result).find((d) => d.rule === 'leakage');
    expect(leak?.key).toBe('rule:leakage|person:sam|2026-09-30T23:00:00.000Z');
    expect(leak?.severity).toBe('high');
  });
});

describe('withExceptions', () => {
  it('measures quota and budget steps against the exception-raised limits', () => {
    const drafts = escalationsFrom(run('2026-11-20T12:00:00Z', 1_900_000, 1_700));
    const shown = (extras: Parameters<typeof withExceptions>[1]) =>
      withExceptions(drafts, extras)
        .filter((d) => d.source === 'ladder')
        .map((d) => `${d.ladder}:${d.trigger}:${d.threshold}`)
        .sort();
    const none = { tokens: new Map(), money: new Map() };
    expect(shown(none)).toEqual([
      'budget:at:80',
      'budget:forecast:100',
      'quota:at:70',
      'quota:at:90',
    ]);
    // 1.9M of 2M + 1M is 63%; 1,700 of 2,000 + 1,000 USD is 57% (forecast ~75%)
    expect(
      shown({
        tokens: new Map([['person:ivy@halcyon.test', 1_000_000]]),
        money: new Map([['team:finance-ops', 1_000]]),
      }),
    ).toEqual([]);
  });
});

describe('audiences and approvers', () => {
  it('maps actions to audiences', () => {
    expect(
      audiencesOf({ kind: 'notify', audiences: ['finance', 'team_owner'], message: null }),
    ).toEqual(['finance', 'team_owner']);
    expect(audiencesOf({ kind: 'require_approval', approver: 'manager' })).toEqual([
      'person',
      'manager',
    ]);
    expect(ladderApprover(rs, 'quota')).toBe('manager');
    expect(ladderApprover(rs, 'budget')).toBeNull();
  });
});

describe('exceptions', () => {
  const now = new Date('2026-10-10T00:00:00Z');
  const ok = {
    subjectKind: 'person' as const,
    subjectId: 'ivy',
    extraTokens: 500_000,
    extraMoney: null,
    justification: 'quarter-end close needs the larger model',
    expiresAt: new Date('2026-10-20T00:00:00Z'),
  };
  it('accepts a good request and names each problem of a bad one', () => {
    const max = rs.ir.exceptions.maxDurationMs;
    expect(validateExceptionRequest(ok, now, max)).toEqual([]);
    const bad = validateExceptionRequest(
      { ...ok, extraTokens: -5, justification: ' ', expiresAt: new Date('2026-10-01T00:00:00Z') },
      now,
      max,
    );
    expect(bad.map((p) => p.field)).toEqual(['extraTokens', 'justification', 'expiresAt']);
    const far = validateExceptionRequest(
      { ...ok, expiresAt: new Date('2026-12-01T00:00:00Z') },
      now,
      max,
    );
    expect(far[0].message).toContain('maximum exception duration of 30d');
  });
  it('only the named approver or governance may decide, never the subject', () => {
    const ctx = {
      approver: 'manager',
      subjectId: 'ivy',
      requestedBy: 'ivy',
      manager: 'bo',
      teamOwner: 'fo',
    };
    expect(mayDecide({ role: 'member', person: 'bo' }, ctx)).toBeNull();
    expect(mayDecide({ role: 'governance', person: null }, ctx)).toBeNull();
    expect(mayDecide({ role: 'member', person: 'fo' }, ctx)).toContain('manager of ivy (bo)');
    expect(mayDecide({ role: 'member', person: 'ivy' }, ctx)).toContain('themselves');
    expect(mayDecide({ role: 'viewer', person: null }, ctx)).toContain('may not decide');
  });
});
