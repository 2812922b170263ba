// Impact replay on a small fixture organisation, every expectation computed by hand.
// Runs on the embedded database, or on DATABASE_URL in a fresh database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImpactReport, impactReplay, WindowError } from '../../src/engine/impact.ts';
import { renderImpact } from '../../src/engine/impact-render.ts';
import { parseWindow } from '../../src/engine/impact-window.ts';
import { kendallTauB } from '../../src/engine/kendall.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable, type RuleSetIR } from '../../src/policy/ir.ts';
import { storeCostReader } from '../../src/store/impact-costs.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { ir } from './fixture.ts';

const OLD = `policy "fixture" version "A"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }
metric acceptance = accepted / max(accepted + rejected, 1)
leaderboard board "Board" {
  subject person
  window quarter
  eligible when tasks >= 1
  score = tokens / 1k
  top 2
}
tier small "Small" { limit 1M tokens per month models standard }
tier big "Big" { limit 10M tokens per month models standard }
assign big when role == "engineer"
assign small otherwise
budget each team { 2 USD per month }
escalation quota {
  at 50% notify person
  at 100% block
}
escalation budget {
  at 80% notify team_owner
}
rule busy "Busy" severity low {
  when tokens within 30d > 500k
  then notify manager
}
`;

// prices doubled, board by acceptance, big tier only for core, smaller small tier,
// a new 80% quota step, a lower busy threshold
const NEW = OLD.replace('version "A"', 'version "B"')
  .replace('input 1.00 output 2.00', 'input 2.00 output 4.00')
  .replace('score = tokens / 1k', 'score = 1000 * acceptance')
  .replace('limit 1M tokens', 'limit 500k tokens')
  .replace(
    'assign big when role == "engineer"',
    'assign big when role == "engineer" and team == "core"',
  )
  .replace('  at 100% block', '  at 80% require justification\n  at 100% block')
  .replace('> 500k', '> 100k');

const people = [
  // id, team, role, input, output, day, accepted, rejected
  ['ana', 'core', 'engineer', 600_000, 0, '10', 2, 0],
  ['bo', 'core', 'engineer', 200_000, 0, '12', 1, 3],
  ['cy', 'ops', 'analyst', 700_000, 0, '15', 1, 1],
  ['di', 'ops', 'engineer', 100_000, 50_000, '20', 3, 0],
] as const;

function fixtureRows() {
  const rows: unknown[] = [
    { type: 'team', team: 'core', owner: 'ana' },
    { type: 'team', team: 'ops', owner: 'cy' },
  ];
  for (const [person, team, role, input, output, day, accepted, rejected] of people) {
    rows.push({ type: 'person', person, team, role, opted_in: true });
    rows.push({
      type: 'usage',
      id: `u-${person}`,
      ts: `2026-09-${day}T10:00:00Z`,
      person,
      team,
      model: 'm1',
      input_tokens: input,
      output_tokens: output,
    });
    for (let i = 0; i < accepted + rejected; i++) {
      rows.push({
        type: 'outcome',
        id: `o-${person}-${i}`,
        ts: `2026-09-${day}T11:00:00Z`,
        person,
        task: `t-${person}-${i}`,
        outcome: i < accepted ? 'accepted' : 'rejected',
      });
    }
  }
  return rows.map((data, i) => ({ line: i + 1, data }));
}

const anon = (id: string) => ({ id: `anon-${id}`, masked: true });
const named = (id: string) => ({ id, masked: false });
const NOW = new Date('2026-11-22T12:00:00Z');

describe('impact replay', () => {
  let store: TestStore;
  let report: ImpactReport;
  const A = ir(OLD);
  const B = ir(NEW);

  beforeAll(async () => {
    store = await createTestStore();
    const result = await ingestBatch(store, fixtureRows(), {
      prices: priceTable(A),
      timezone: 'UTC',
      now: NOW.getTime(),
    });
    expect(result.totals.rejected ?? 0).toBe(0);
    report = await impactReplay({
      reader: usageReader(store),
      from: { ir: A, label: 'old' },
      to: { ir: B, label: 'new' },
      window: '2026-Q3',
      identity: anon,
      now: NOW,
    });
  }, 60_000);

  afterAll(async () => {
    await store?.destroy();
  });

  it('evaluates both versions at the end of the window', () => {
    expect(report.hasData).toBe(true);
    expect(report.window).toMatchObject({ label: '2026-Q3', from: '2026-07-01', to: '2026-10-01' });
    expect(report.window.evaluatedAt).toBe('2026-09-30T23:59:59.999Z');
    expect(report.population).toEqual({ people: 4, teams: 2 });
  });

  it('counts tier changes by old → new tier, with masked identities', () => {
    // di is an engineer in ops: big under the old rules, small under the new
    expect(report.identities).toBe('masked');
    expect(report.tiers.changed).toBe(1);
    expect(report.tiers.transitions).toEqual([{ from: 'big', to: 'small', count: 1 }]);
    expect(report.tiers.people).toEqual([{ person: anon('di'), from: 'big', to: 'small' }]);
    expect(report.tiers.before).toEqual({ big: 3, small: 1 });
    expect(report.tiers.after).toEqual({ big: 2, small: 2 });
  });

  it('gives the delta per escalation step and rule', () => {
    // cy: 700k of 1M (70%) before; of 500k (140%) after. Budgets: core 0.80 → 1.60 of 2 USD,
    // ops 0.90 → 1.80 of 2 USD, so both cross 80% once prices double.
    const step = (ladder: string, threshold: number) =>
      report.escalations.find((s) => s.ladder === ladder && s.threshold === threshold);
    expect(step('quota', 50)).toMatchObject({ before: 1, after: 1, delta: 0 });
    expect(step('quota', 80)).toMatchObject({ before: 0, after: 1, delta: 1 });
    expect(step('quota', 100)).toMatchObject({ before: 0, after: 1, delta: 1 });
    expect(step('budget', 80)).toMatchObject({ before: 0, after: 2, delta: 2 });
    // busy: > 500k → ana, cy; > 100k → all four
    expect(report.rules).toEqual([
      { rule: 'busy', severity: 'low', before: 2, after: 4, delta: 2 },
    ]);
  });

  it('lists budgets whose band flips', () => {
    expect(report.budgets.count).toBe(2);
    expect(report.budgets.flips.map((f) => [f.subject.id, f.before?.band, f.after?.band])).toEqual([
      ['ops', 'green', 'yellow'],
      ['core', 'green', 'yellow'],
    ]);
    expect(report.budgets.flips[0]).toMatchObject({
      before: { percent: 45 },
      after: { percent: 90 },
    });
  });

  /** The old version replayed against `to` over 2026-Q3, masked. */
  const replayFromOld = (to: RuleSetIR, label: string) =>
    impactReplay({
      reader: usageReader(store),
      from: { ir: A, label: 'old' },
      to: { ir: to, label },
      window: '2026-Q3',
      identity: anon,
      now: NOW,
    });

  it('replays a pool on each of its teams, over their usage together', async () => {
    // September: core 0.80 USD (ana 0.60, bo 0.20), ops 0.90 USD (cy 0.70, di 0.20);
    // together 1.70 of the pool's 2 USD is 85%, past the 80% step, on both teams
    const pooled = ir(
      OLD.replace('version "A"', 'version "C"').replace(
        'budget each team { 2 USD per month }',
        'budget each team { 2 USD per month }\nbudget pool "shared" teams "core", "ops" { 2 USD per month }',
      ),
    );
    const replay = await replayFromOld(pooled, 'pooled');
    expect(replay.budgets.flips.map((f) => [f.subject.id, f.budget, f.before, f.after])).toEqual([
      ['core', 'pool shared', null, { band: 'yellow', percent: 85 }],
      ['ops', 'pool shared', null, { band: 'yellow', percent: 85 }],
    ]);
  });

  it("replays request limits over the window's requests, by the input of each", async () => {
    // inputs: ana 600k, bo 200k, cy 700k, di 100k, one request each
    const limited = ir(
      `${OLD.replace('version "A"', 'version "D"')}\nrequest standard { warn above 150k input  block above 650k input }\n`,
    );
    const replay = await replayFromOld(limited, 'limited');
    expect(replay.requestLimits).toEqual({
      requests: 4,
      before: { warned: 0, blocked: 0 },
      after: { warned: 2, blocked: 1 },
      classes: [
        {
          modelClass: 'standard',
          requests: 4,
          before: { warned: 0, blocked: 0 },
          after: { warned: 2, blocked: 1 },
        },
      ],
    });
    expect(renderImpact(replay, 'text')).toContain(
      'request limits (of 4 requests): warned 0 → 2, blocked 0 → 1',
    );
    expect(report.requestLimits).toBeNull();
  });

  it('compares the leaderboard: top N in and out, moves, Kendall tau-b', () => {
    // old scores (tokens/1k): ana 600, bo 200, cy 700, di 150 → cy, ana, bo, di
    // new scores (1000 × acceptance): ana 1000, bo 250, cy 500, di 1000 → ana, di, cy, bo
    const [board] = report.leaderboards;
    expect(board.name).toBe('board');
    expect(board.ranked).toEqual({ before: 4, after: 4, both: 4 });
    expect(board.entering.map((e) => [e.subject.id, e.rank])).toEqual([['anon-di', 2]]);
    expect(board.leaving.map((e) => [e.subject.id, e.rank])).toEqual([['anon-cy', 1]]);
    expect(board.largestMoves.map((m) => [m.subject.id, m.move])).toEqual([
      ['anon-cy', -2],
      ['anon-di', 2],
      ['anon-ana', 1],
      ['anon-bo', -1],
    ]);
    // 2 concordant, 3 discordant, 1 pair tied in the new scores: (2 − 3) / √(6 · 5)
    expect(board.kendallTau).toBeCloseTo(-1 / Math.sqrt(30), 4);
  });

  it('recomputes cost exactly from token sums under each price table', () => {
    expect(report.cost?.total).toEqual({
      key: 'total',
      before: '1.700000000000',
      after: '3.400000000000',
      delta: '1.700000000000',
    });
    expect(report.cost?.byTeam.map((t) => [t.key, t.before, t.after])).toEqual([
      ['ops', '0.900000000000', '1.800000000000'],
      ['core', '0.800000000000', '1.600000000000'],
    ]);
  });

  it('the one-statement cost reader of the store agrees with the usage-query fallback', async () => {
    const fast = await impactReplay({
      reader: usageReader(store),
      costs: storeCostReader(store),
      from: { ir: A, label: 'old' },
      to: { ir: B, label: 'new' },
      window: '2026-Q3',
      identity: anon,
      now: NOW,
    });
    expect(fast).toEqual(report);
  });

  it('shows names to governance and renders a review document', async () => {
    const governance = await impactReplay({
      reader: usageReader(store),
      from: { ir: A, label: 'old' },
      to: { ir: B, label: 'new' },
      window: '2026-09',
      identity: named,
      now: NOW,
    });
    expect(governance.identities).toBe('named');
    expect(governance.tiers.people).toEqual([{ person: named('di'), from: 'big', to: 'small' }]);
    const md = renderImpact(governance, 'markdown');
    expect(md).toContain('| big | small | 1 |');
    expect(md).toContain('| quota | at 80% | 0 | 1 | +1 |');
    expect(md).toContain('| total | 1.70 | 3.40 | 1.70 |');
    expect(renderImpact(report, 'text')).toContain('anon-di: big → small');
  });

  it('says so when the window has no usage, and rejects unknown windows', async () => {
    const empty = await impactReplay({
      reader: usageReader(store),
      from: { ir: A, label: 'old' },
      to: { ir: B, label: 'new' },
      window: '2026-Q2',
      identity: anon,
      now: NOW,
    });
    expect(empty.hasData).toBe(false);
    expect(empty.message).toMatch(/^no usage in window 2026-Q2/);
    expect(renderImpact(empty, 'text')).toContain('no usage in window 2026-Q2');
    await expect(
      impactReplay({
        reader: usageReader(store),
        from: { ir: A, label: 'a' },
        to: { ir: B, label: 'b' },
        window: '2026-Q5',
        identity: anon,
        now: NOW,
      }),
    ).rejects.toThrow(WindowError);
  });

  it('leaves cost alone when prices did not change', async () => {
    const same = await impactReplay({
      reader: usageReader(store),
      from: { ir: A, label: 'a' },
      to: { ir: A, label: 'a' },
      window: 'last-quarter',
      identity: anon,
      now: new Date('2026-10-15T00:00:00Z'),
    });
    expect(same.window.label).toBe('2026-Q3');
    expect(same.cost).toBeNull();
    expect(same.tiers.changed).toBe(0);
    expect(same.leaderboards[0].kendallTau).toBe(1);
  });
});

describe('review windows', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it('names quarters, months, ISO weeks and relative periods in the policy timezone', () => {
    const q = parseWindow('2026-Q3', 'Europe/London', now);
    expect([q.from, q.to, q.start.toISOString()]).toEqual([
      '2026-07-01',
      '2026-10-01',
      '2026-06-30T23:00:00.000Z',
    ]);
    expect(parseWindow('2026-10', 'UTC', now)).toMatchObject({
      from: '2026-10-01',
      to: '2026-11-01',
      period: 'month',
    });
    expect(parseWindow('2026-W40', 'UTC', now)).toMatchObject({
      from: '2026-09-28',
      to: '2026-10-05',
      label: '2026-W40',
    });
    expect(parseWindow('2026-W01', 'UTC', now)).toMatchObject({ from: '2025-12-29' });
    expect(parseWindow('last-quarter', 'UTC', now)).toMatchObject({ label: '2026-Q3' });
    expect(parseWindow('last-month', 'UTC', now)).toMatchObject({ label: '2026-10' });
    expect(parseWindow('this-quarter', 'UTC', now)).toMatchObject({ label: '2026-Q4' });
    expect(() => parseWindow('2026-W54', 'UTC', now)).toThrow(WindowError);
    expect(() => parseWindow('Q3', 'UTC', now)).toThrow(/unknown window "Q3"/);
  });
});

describe('Kendall tau-b', () => {
  function brute(x: number[], y: number[]): number | null {
    let c = 0;
    let d = 0;
    let tx = 0;
    let ty = 0;
    for (let i = 0; i < x.length; i++) {
      for (let j = i + 1; j < x.length; j++) {
        const sx = Math.sign(x[i] - x[j]);
        const sy = Math.sign(y[i] - y[j]);
        if (sx === 0 && sy === 0) continue;
        if (sx === 0) tx++;
        else if (sy === 0) ty++;
        else if (sx === sy) c++;
        else d++;
      }
    }
    const den = Math.sqrt((c + d + tx) * (c + d + ty));
    return den === 0 ? null : (c - d) / den;
  }

  it('matches the pairwise definition, ties included', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let round = 0; round < 50; round++) {
      const n = 2 + Math.floor(rand() * 40);
      const x = Array.from({ length: n }, () => Math.floor(rand() * 6));
      const y = Array.from({ length: n }, () => Math.floor(rand() * 6));
      const fast = kendallTauB(x, y);
      const slow = brute(x, y);
      if (slow === null) expect(fast).toBeNull();
      else expect(fast).toBeCloseTo(slow, 10);
    }
    expect(kendallTauB([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(kendallTauB([1, 2, 3], [3, 2, 1])).toBe(-1);
    expect(kendallTauB([1], [1])).toBeNull();
  });
});
