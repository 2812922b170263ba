// evaluateOrg / evaluatePerson over the real store, on the hand-built org of fixture.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateOrg, evaluatePerson } from '../../src/engine/evaluation.ts';
import { boardNeeds, collectOrg, factWindow, needsOf } from '../../src/engine/facts.ts';
import type { UsageReader } from '../../src/engine/ports.ts';
import { evaluate } from '../../src/policy/evaluate/index.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { loadTinyOrg, NOW, tinyPolicy } from './fixture.ts';

let store: TestStore;
let reader: UsageReader;
const { ruleSet } = tinyPolicy();

beforeAll(async () => {
  store = await createTestStore();
  await loadTinyOrg(store);
  reader = usageReader(store);
}, 60_000);

afterAll(async () => {
  await store?.destroy();
});

describe('fact windows', () => {
  it('turns window keys into local day ranges or raw spans', () => {
    const tz = 'Europe/London';
    expect(factWindow('month', ['cost'], NOW, tz)).toMatchObject({
      kind: 'days',
      from: '2026-11-01',
      to: '2026-11-21',
    });
    expect(factWindow('7d', ['tokens'], NOW, tz)).toMatchObject({
      kind: 'days',
      from: '2026-11-14',
      to: '2026-11-21',
    });
    expect(factWindow('quarter@sandbox', ['cost'], NOW, tz)).toMatchObject({
      from: '2026-10-01',
      environment: 'sandbox',
    });
    const span = factWindow('12h', ['tokens'], NOW, tz);
    expect(span).toMatchObject({ kind: 'span', end: NOW });
    expect(span.kind === 'span' && span.start.toISOString()).toBe('2026-11-20T00:00:00.000Z');
  });
});

describe('a boards-only evaluation', () => {
  it('ranks and explains every board entry as the full evaluation does, and computes nothing else', async () => {
    const { input } = await collectOrg(reader, needsOf([ruleSet]), NOW, ruleSet.ir.timezone);
    const full = evaluate(ruleSet, input);
    // the boards-only input carries only the facts boards read
    const boardsInput = await collectOrg(reader, boardNeeds(ruleSet), NOW, ruleSet.ir.timezone);
    const boards = evaluate(ruleSet, boardsInput.input, { only: 'boards' });
    expect(boards.errors).toEqual([]);
    expect(boards.leaderboards).toEqual(full.leaderboards);
    expect(Object.keys(full.leaderboards).length).toBeGreaterThan(0);
    // entries explain themselves when read: compared as the API and JSON read them
    const entries = (result: typeof full) =>
      result.subjects.flatMap((s) =>
        Object.entries(s.leaderboards).map(([board, e]) => ({
          subject: s.id,
          board,
          eligible: e.eligible,
          reason: e.reason,
          cohort: e.cohort,
          score: e.score,
          rank: e.rank,
          cohortSize: e.cohortSize,
          inTop: e.inTop,
          explanation: e.explanation,
        })),
      );
    expect(entries(boards)).toEqual(entries(full));
    expect(entries(full).some((e) => e.reason !== null)).toBe(true);
    expect(JSON.parse(JSON.stringify(boards.subjects.map((s) => s.leaderboards)))).toEqual(
      JSON.parse(JSON.stringify(full.subjects.map((s) => s.leaderboards))),
    );
    expect(
      boards.subjects.every((s) => s.quota === null && s.tier === null && s.budgets.length === 0),
    ).toBe(true);
    expect(full.subjects.some((s) => s.quota !== null)).toBe(true);
  });
});

describe('an escalations-only evaluation', () => {
  it('weighs tiers, quotas, rules and budgets as the full evaluation does, and ranks no board', async () => {
    const full = (await evaluateOrg(reader, ruleSet, NOW)).result;
    const lean = await evaluateOrg(reader, ruleSet, NOW, { only: 'escalations' });
    expect(lean.result.errors).toEqual([]);
    const weighed = (r: typeof full) =>
      r.subjects.map(({ kind, id, tier, quota, budgets, escalations, rules }) => ({
        kind,
        id,
        tier,
        quota,
        budgets,
        escalations,
        rules,
      }));
    expect(weighed(lean.result)).toEqual(weighed(full));
    expect(lean.result.org).toEqual(full.org);
    expect(full.subjects.some((s) => s.rules.length > 0 && s.quota !== null)).toBe(true);
    expect(lean.result.leaderboards).toEqual({});
    expect(
      lean.result.subjects.every(
        (s) => Object.keys(s.leaderboards).length === 0 && s.badges.length === 0,
      ),
    ).toBe(true);
    // its input carries only what escalations read: no board window
    const windows = new Set(lean.input.subjects.flatMap((s) => Object.keys(s.facts)));
    const boardOnly = [...ruleSet.requiredBy.boards.person.keys()].filter(
      (w) => !ruleSet.requiredBy.escalations.person.has(w),
    );
    for (const w of boardOnly) expect(windows.has(w)).toBe(false);
  });
});

describe('evaluateOrg', () => {
  it('computes tiers, quotas, budgets and rules from the rollups', async () => {
    const { result } = await evaluateOrg(reader, ruleSet, NOW);
    expect(result.errors).toEqual([]);
    const by = new Map(result.subjects.map((s) => [`${s.kind}:${s.id}`, s]));
    const ana = by.get('person:ana')!;
    expect(ana.tier?.tier).toBe('pro');
    expect(ana.quota).toMatchObject({ used: 150_000, limit: 10_000_000, percent: 1.5 });
    expect(ana.rules.map((r) => r.rule)).toEqual(['leak']);
    const di = by.get('person:di')!;
    expect(di.tier?.tier).toBe('basic');
    expect(di.quota).toMatchObject({ used: 600_000, percent: 60, band: 'yellow' });
    expect(di.quota?.nextThreshold?.percent).toBe(100);
    const eng = by.get('team:eng')!;
    const month = eng.budgets.find((b) => b.environment === null)!;
    expect(month.spent).toBeCloseTo(0.76, 12);
    expect(month.limit).toBe(100);
    const sandbox = eng.budgets.find((b) => b.environment === 'sandbox')!;
    expect(sandbox.spent).toBeCloseTo(0.06, 12);
    expect(sandbox.percent).toBeCloseTo(6, 9);
    // org quarter: October (ana 1.0) + November (0.2 + 0.5 + 0.1 + 0.06)
    expect(result.org?.budgets[0].spent).toBeCloseTo(1.86, 12);
  });

  it('ranks the board within cohorts, honouring eligibility and exclusion', async () => {
    const { result } = await evaluateOrg(reader, ruleSet, NOW);
    expect(result.leaderboards.value.cohorts).toEqual({
      engineer: [
        { rank: 1, id: 'ana', score: 80 },
        { rank: 2, id: 'bo', score: 50 },
      ],
    });
    const cy = result.subjects.find((s) => s.id === 'cy')!;
    expect(cy.leaderboards.value.reason).toMatch(/^excluded/);
    const di = result.subjects.find((s) => s.id === 'di')!;
    expect(di.leaderboards.value.reason).toMatch(/^not eligible/);
  });

  it('evaluates an earlier clock over that period only', async () => {
    const { result } = await evaluateOrg(reader, ruleSet, '2026-10-31T23:59:59.999Z');
    expect(result.leaderboards.value.cohorts.engineer).toEqual([
      { rank: 1, id: 'bo', score: 100 },
      { rank: 2, id: 'ana', score: 50 },
    ]);
  });
});

describe('evaluatePerson', () => {
  it('reads one person and their team, with the same answers as the org run', async () => {
    const one = await evaluatePerson(reader, ruleSet, 'di', NOW);
    expect(one.known).toBe(true);
    expect(one.person.quota).toMatchObject({ used: 600_000, percent: 60, band: 'yellow' });
    expect(one.team?.id).toBe('eng');
    expect(one.team?.budgets.find((b) => b.environment === null)?.spent).toBeCloseTo(0.76, 12);
  });

  it('evaluates an unknown person with no usage under the fallback tier', async () => {
    const one = await evaluatePerson(reader, ruleSet, 'nobody', NOW);
    expect(one.known).toBe(false);
    expect(one.person.quota).toMatchObject({ tier: 'basic', used: 0, band: 'green' });
    expect(one.team).toBeNull();
  });

  it('adds org budgets on request', async () => {
    const one = await evaluatePerson(reader, ruleSet, 'ana', NOW, { org: true });
    expect(one.result.org?.budgets[0].spent).toBeCloseTo(1.86, 12);
  });
});

describe('watermark', () => {
  it('moves when data changes, and only then', async () => {
    const before = await reader.watermark();
    expect(await reader.watermark()).toBe(before);
    await store.query("update people set opted_in = true where id = 'di'");
    const after = await reader.watermark();
    expect(after).not.toBe(before);
    await store.query("update people set opted_in = false where id = 'di'");
  });
});

describe('usage reader sums', () => {
  it('sums day and sub-day windows per person, team and org, with distinct active days', async () => {
    const month = factWindow('month', ['tokens', 'cost', 'active_days'], NOW, 'Europe/London');
    const recent = factWindow('12h', ['tokens', 'active_days'], NOW, 'Europe/London');
    const sums = await reader.sumFacts([month, recent], ['person', 'team', 'org']);
    expect(sums.person?.get('month')?.get('ana')).toEqual({
      tokens: 150_000,
      cost: 0.2,
      active_days: 1,
    });
    // eng: ana (11-10), bo (11-19), di (11-20) → three distinct days; cost 0.2 + 0.5 + 0.06
    expect(sums.team?.get('month')?.get('eng')).toEqual({
      tokens: 1_150_000,
      cost: 0.76,
      active_days: 3,
    });
    // org: the same three days (cy also used 11-20)
    expect(sums.org?.get('month')?.get('org')).toMatchObject({ tokens: 2_150_000, active_days: 3 });
    // the last 12 hours: cy at 09:00 and di at 08:00 on 11-20
    expect(sums.person?.get('12h')?.get('cy')).toEqual({ tokens: 1_000_000, active_days: 1 });
    expect(sums.team?.get('12h')?.get('eng')).toEqual({ tokens: 600_000, active_days: 1 });
    expect(sums.org?.get('12h')?.get('org')).toEqual({ tokens: 1_600_000, active_days: 1 });
  });

  it('reads only the scoped people', async () => {
    const month = factWindow('month', ['tokens'], NOW, 'Europe/London');
    const sums = await reader.sumFacts([month], ['person'], { people: ['bo'] });
    expect([...(sums.person?.get('month')?.keys() ?? [])]).toEqual(['bo']);
  });
});
