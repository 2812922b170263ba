import { describe, expect, it } from 'vitest';
import { buildLadder } from '../../src/policy/compile/ruleset.ts';
import { evaluate, type SubjectInput } from '../../src/policy/evaluate/index.ts';
import {
  elapsedFraction,
  periodBounds,
  windowBounds,
  windowKey,
} from '../../src/policy/windows.ts';
import { BASE, ruleSetOf } from './meaning-helpers.ts';

// The sketch policy in UTC, so that 2026-10-16T12:00Z is exactly halfway through October
// (15.5 of 31 days) and every forecast is twice the month-to-date figure.
const UTC = BASE.replace('timezone "Europe/London"', 'timezone "UTC"');
const NOW = '2026-10-16T12:00:00Z';

type Facts = SubjectInput['facts'];

function person(
  id: string,
  attributes: Record<string, unknown>,
  facts: Partial<Record<string, Record<string, number>>>,
): SubjectInput {
  const base: Facts = {
    month: { tokens: 0 },
    quarter: { tokens: 0, tasks: 0, accepted: 0, rejected: 0, reworked: 0, redaction_failures: 0 },
    '7d': { redaction_failures: 0 },
    '1d': { tokens: 0 },
    '30d': { tokens: 0 },
  };
  for (const [w, values] of Object.entries(facts)) base[w] = { ...base[w], ...values };
  return { kind: 'person', id, attributes, facts: base };
}

function team(id: string, sensitivity: string, cost: number): SubjectInput {
  return {
    kind: 'team',
    id,
    attributes: { sensitivity, owner: `owner@${id}` },
    facts: { month: { cost } },
  };
}

const ana = person(
  'ana',
  { role: 'engineer', team: 'platform', opted_in: true },
  {
    month: { tokens: 7_600_000 },
    quarter: { tokens: 40_000, tasks: 10, accepted: 9, rejected: 1 },
    '1d': { tokens: 300_000 },
    '30d': { tokens: 7_600_000 },
  },
);
const cy = person(
  'cy',
  { role: 'engineer', team: 'platform', opted_in: true },
  {
    month: { tokens: 1_200_000 },
    quarter: {
      tokens: 900_000,
      tasks: 12,
      accepted: 6,
      rejected: 4,
      reworked: 2,
      redaction_failures: 1,
    },
    '7d': { redaction_failures: 1 },
    '1d': { tokens: 200_000 },
    '30d': { tokens: 1_200_000 },
  },
);
const dee = person(
  'dee',
  { role: 'counsel', team: 'legal', opted_in: false },
  { quarter: { tasks: 9 } },
);
const lab = person(
  'lia',
  { role: 'engineer', team: 'innovation-lab', opted_in: true },
  { quarter: { tasks: 6, accepted: 6 } },
);
const subjects = [
  ana,
  cy,
  dee,
  lab,
  team('platform', 'normal', 5200),
  team('legal', 'restricted', 1900),
];

describe('windows', () => {
  it('computes calendar periods in the policy timezone, across DST', () => {
    const day = periodBounds('day', '2026-10-25T12:00:00Z', 'Europe/London');
    expect([day.start.toISOString(), day.end.toISOString()]).toEqual([
      '2026-10-24T23:00:00.000Z',
      '2026-10-26T00:00:00.000Z',
    ]);
    const week = periodBounds('week', '2026-10-25T12:00:00Z', 'Europe/London'); // a Sunday
    expect(week.start.toISOString()).toBe('2026-10-18T23:00:00.000Z'); // Monday 19th, 00:00 BST
    const quarter = periodBounds('quarter', '2026-11-20T09:00:00Z', 'Europe/London');
    expect([quarter.start.toISOString(), quarter.end.toISOString()]).toEqual([
      '2026-09-30T23:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
    const ny = periodBounds('month', '2026-01-01T02:00:00Z', 'America/New_York'); // still 31 Dec there
    expect(ny.start.toISOString()).toBe('2025-12-01T05:00:00.000Z');
    const year = periodBounds('year', '2026-06-01T00:00:00Z', 'Asia/Tokyo');
    expect(year.start.toISOString()).toBe('2025-12-31T15:00:00.000Z');
  });

  it('measures elapsed fractions and trailing windows', () => {
    expect(elapsedFraction('month', NOW, 'UTC')).toBe(0.5);
    expect(windowKey(10080)).toBe('7d');
    expect(windowKey(1440)).toBe('1d');
    expect(windowKey(90)).toBe('90m');
    expect(windowKey(720)).toBe('12h');
    const w = windowBounds('7d', NOW, 'UTC');
    expect(w.start.toISOString()).toBe('2026-10-09T12:00:00.000Z');
    expect(windowBounds('month@sandbox', NOW, 'UTC').start.toISOString()).toBe(
      '2026-10-01T00:00:00.000Z',
    );
  });
});

describe('evaluate', () => {
  const rs = ruleSetOf(UTC);
  const result = evaluate(rs, { now: NOW, subjects });
  const byId = new Map(result.subjects.map((s) => [s.id, s]));

  it('assigns tiers by first match and says which rule chose them', () => {
    expect(byId.get('ana')!.tier).toEqual({
      tier: 'power',
      label: 'Builders',
      rule: {
        index: 1,
        when: 'role in ["engineer", "data-scientist"]',
        otherwise: false,
        values: 'role = "engineer"',
      },
    });
    expect(byId.get('lia')!.tier!.tier).toBe('lab');
    expect(byId.get('dee')!.tier!.rule).toEqual({
      index: 2,
      when: null,
      otherwise: true,
      values: null,
    });
    expect(byId.get('platform')!.tier).toBeNull();
  });

  it('reports quota state with band, next threshold, forecast and allowed classes', () => {
    const q = byId.get('ana')!.quota!;
    expect(q).toMatchObject({
      tier: 'power',
      period: 'month',
      periodStart: '2026-10-01T00:00:00.000Z',
      periodEnd: '2026-11-01T00:00:00.000Z',
      limit: 10_000_000,
      used: 7_600_000,
      remaining: 2_400_000,
      percent: 76,
      band: 'yellow', // 70% notify ≤ 76% < 90% require
      allowedClasses: ['economy', 'premium', 'standard'],
    });
    expect(q.nextThreshold).toEqual({
      trigger: 'at',
      percent: 90,
      amount: 9_000_000,
      action: { kind: 'require_justification' },
    });
    expect(q.forecast).toMatchObject({ value: 15_200_000, percent: 152, elapsedFraction: 0.5 });
    expect(q.forecast.formula).toBe(
      'used ÷ elapsed fraction of the month = 7600000 ÷ 0.5 = 15200000',
    );
    expect(byId.get('cy')!.quota!.band).toBe('green'); // 12%
    expect(byId.get('ana')!.escalations.map((e) => [e.ladder, e.trigger, e.threshold])).toEqual([
      ['quota', 'at', 70],
    ]);
  });

  it('reports budgets: a named budget replaces `each`, with forecast steps', () => {
    const platform = byId.get('platform')!.budgets;
    expect(platform).toHaveLength(1);
    expect(platform[0]).toMatchObject({
      key: 'team platform',
      limit: 8000,
      spent: 5200,
      remaining: 2800,
      percent: 65,
      band: 'green',
    });
    expect(platform[0].forecast).toMatchObject({ value: 10_400, percent: 130 });
    expect(platform[0].nextThreshold).toMatchObject({ percent: 80, amount: 6400 });
    expect(byId.get('platform')!.escalations.map((e) => `${e.trigger} ${e.threshold}`)).toEqual([
      'forecast 100',
    ]);
    const legal = byId.get('legal')!.budgets[0];
    expect(legal).toMatchObject({ key: 'each team', limit: 2000, spent: 1900, band: 'yellow' });
    expect(byId.get('legal')!.escalations.map((e) => `${e.trigger} ${e.threshold}`)).toEqual([
      'at 80',
      'forecast 100',
    ]);
  });

  it('fires rules with the facts that triggered them', () => {
    const fired = byId.get('cy')!.rules;
    expect(fired.map((r) => r.rule)).toEqual(['leakage', 'spike']);
    expect(fired[0].explanation.facts).toEqual([
      { name: 'redaction_failures', window: '7d', value: 1 },
    ]);
    // spike: 200k in 1d > 3 × 1.2M / 30 = 120k
    expect(fired[1].explanation.facts).toEqual([
      { name: 'tokens', window: '1d', value: 200_000 },
      { name: 'tokens', window: '30d', value: 1_200_000 },
    ]);
    expect(byId.get('ana')!.rules).toEqual([]); // 300k is not above 3 × 7.6M / 30 = 760k
  });

  it('scores, explains and ranks within cohorts', () => {
    const a = byId.get('ana')!.leaderboards.value_per_token;
    // acceptance 9/10, safety 1, tokens per task 4000: 1000 × 0.9 / log10(4010)
    expect(a.score).toBeCloseTo(900 / Math.log10(4010), 10);
    expect(a).toMatchObject({
      eligible: true,
      cohort: 'engineer',
      rank: 2,
      cohortSize: 3,
      inTop: true,
    });
    expect(a.explanation.formula).toBe('1000 * acceptance * safety / log10(10 + tokens_per_task)');
    expect(a.explanation.attributes).toEqual([]);
    expect(byId.get('cy')!.rules[0].explanation.attributes).toEqual([]);
    expect(a.explanation.metrics).toEqual([
      {
        name: 'acceptance',
        formula: 'accepted / max(accepted + rejected + reworked, 1)',
        unit: '1',
        value: 0.9,
      },
      { name: 'safety', formula: 'if redaction_failures > 0 then 0.5 else 1', unit: '1', value: 1 },
      {
        name: 'tokens_per_task',
        formula: 'tokens / max(tasks, 1)',
        unit: 'tokens/count',
        value: 4000,
      },
    ]);
    expect(a.explanation.facts.map((f) => `${f.name}@${f.window}=${f.value}`)).toEqual([
      'accepted@quarter=9',
      'rejected@quarter=1',
      'reworked@quarter=0',
      'redaction_failures@quarter=0',
      'tokens@quarter=40000',
      'tasks@quarter=10',
    ]);
    // cy: acceptance 6/12, safety 0.5, 75,000 tokens per task
    expect(byId.get('cy')!.leaderboards.value_per_token.score).toBeCloseTo(
      250 / Math.log10(75_010),
      10,
    );
    // lia: 6/6 accepted, 0 tokens → 1000 / log10(10) = 1000
    expect(byId.get('lia')!.leaderboards.value_per_token.score).toBe(1000);
    expect(result.leaderboards.value_per_token.cohorts.engineer.map((r) => [r.rank, r.id])).toEqual(
      [
        [1, 'lia'],
        [2, 'ana'],
        [3, 'cy'],
      ],
    );
    expect(byId.get('dee')!.leaderboards.value_per_token).toMatchObject({
      eligible: false,
      reason: 'not eligible: tasks >= 5 and opted_in (tasks@quarter = 9, opted_in = false)',
      rank: null,
    });
  });

  it('excludes restricted teams with the reason', () => {
    const legalEngineer = person(
      'lee',
      { role: 'engineer', team: 'legal', opted_in: true },
      { quarter: { tasks: 8, accepted: 8 } },
    );
    const r = evaluate(rs, { now: NOW, subjects: [legalEngineer, team('legal', 'restricted', 0)] });
    expect(r.subjects[0].leaderboards.value_per_token).toMatchObject({
      eligible: false,
      reason: 'excluded: team.sensitivity == "restricted" (team.sensitivity = "restricted")',
    });
  });

  it('breaks score ties by subject id', () => {
    const twin = (id: string) =>
      person(
        id,
        { role: 'engineer', team: 'platform', opted_in: true },
        { quarter: { tasks: 5, accepted: 5, tokens: 5000 } },
      );
    const r = evaluate(rs, { now: NOW, subjects: [twin('zed'), twin('amy'), twin('mia')] });
    expect(r.leaderboards.value_per_token.cohorts.engineer.map((x) => x.id)).toEqual([
      'amy',
      'mia',
      'zed',
    ]);
  });

  it('rejects bad subjects by name and field, and evaluates the rest', () => {
    const bad = [
      person('neg', { role: 'engineer' }, { quarter: { tasks: -1 } }),
      person('nan', { role: 'engineer' }, { month: { tokens: Number.NaN } }),
      person('inf', { role: 'engineer' }, { '1d': { tokens: Number.POSITIVE_INFINITY } }),
      { kind: 'person', id: 'gap', attributes: {}, facts: { month: { tokens: 1 } } },
      { kind: 'robot', id: 'r2' },
    ] as SubjectInput[];
    const r = evaluate(rs, { now: NOW, subjects: [...bad, ana] });
    expect(r.subjects.map((s) => s.id)).toEqual(['ana']);
    const errs = r.errors.map((e) => `${e.subject} ${e.field}: ${e.message}`);
    expect(errs).toContain('neg facts.quarter.tasks: must not be negative');
    expect(errs.some((e) => e.startsWith('nan facts.month.tokens:'))).toBe(true);
    expect(errs.some((e) => e.startsWith('inf facts.1d.tokens:'))).toBe(true);
    expect(errs).toContain('gap facts.quarter.tasks: missing (the policy reads this fact)');
    expect(errs).toContain('r2 kind: must be "person" or "team"');
  });

  it('defines division by zero as 0 and flags it in the explanation', () => {
    const rs2 = ruleSetOf(
      UTC.replace(
        'score = 1000 * acceptance * safety / log10(10 + tokens_per_task)',
        'score = accepted / tasks',
      ),
    );
    const r = evaluate(rs2, {
      now: NOW,
      subjects: [person('zero', { role: 'engineer', opted_in: true }, {})],
    });
    const entry = r.subjects[0].leaderboards.value_per_token;
    expect(entry.score).toBe(0);
    expect(entry.explanation.flags).toEqual([
      {
        kind: 'division_by_zero',
        where: 'leaderboard value_per_token score',
        expr: 'accepted / tasks',
        note: 'x / 0 is defined as 0',
      },
    ]);
    expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity|null,"rank"/);
  });

  it('explains bands, flags small cohorts and floors the forecast at one day', () => {
    expect(byId.get('ana')!.quota!.bandReason).toBe(
      '70% ≤ 76% < 90% (yellow from 70%, red from 90%)',
    );
    expect(byId.get('cy')!.quota!.bandReason).toBe('12% < 70% (yellow from 70%)');
    // three engineers ranked; the sketch's min_group_size is 5
    expect(result.leaderboards.value_per_token.smallCohorts).toEqual(['engineer']);
    // one hour into October: the projection divides by one day of 31, not by 1/744
    const early = evaluate(rs, { now: '2026-10-01T01:00:00Z', subjects: [ana] }).subjects[0].quota!
      .forecast;
    expect(early.elapsedFraction).toBeCloseTo(1 / 744, 12);
    expect(early.value).toBeCloseTo(7_600_000 * 31, 3);
    expect(early.formula).toContain('counts as at least one day');
  });

  it('is pure and deterministic', () => {
    const input = { now: NOW, subjects: structuredClone(subjects) };
    const before = JSON.stringify(input);
    const again = evaluate(rs, input);
    expect(JSON.stringify(input)).toBe(before);
    expect(again).toEqual(result);
  });

  it('evaluates org budgets from org facts', () => {
    const rs3 = ruleSetOf(`${UTC}\nbudget org { 50,000 USD per quarter }\n`);
    const r = evaluate(rs3, {
      now: NOW,
      subjects: [],
      org: { facts: { quarter: { cost: 30_000 } } },
    });
    expect(r.org!.budgets[0]).toMatchObject({
      key: 'org',
      limit: 50_000,
      spent: 30_000,
      percent: 60,
      band: 'green',
    });
  });
});

describe('band rule', () => {
  const at = (threshold: number, kind: 'notify' | 'block') => ({
    trigger: 'at' as const,
    threshold,
    action: kind === 'notify' ? { kind, audiences: ['person'], message: null } : { kind },
  });
  it('is green below the first step, yellow from it, red from the first hard step or 100%', () => {
    expect(buildLadder([at(70, 'notify'), at(120, 'block')])).toMatchObject({
      yellowFrom: 70,
      redFrom: 100,
    });
    expect(buildLadder([at(50, 'notify'), at(80, 'block')])).toMatchObject({
      yellowFrom: 50,
      redFrom: 80,
    });
    expect(buildLadder([])).toMatchObject({ yellowFrom: 100, redFrom: 100 });
  });
});
