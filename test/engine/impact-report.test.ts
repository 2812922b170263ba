// The review report of the quarterly pair (policies/2026-q3 → 2026-q4) over the seeded demo
// organisation, in Markdown and HTML: structure, not exact figures (those are in
// impact.test.ts). Real database (embedded, or DATABASE_URL).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregatesOnly,
  mergeSmallGroups,
  SMALLER_GROUPS,
  withholdSmall,
} from '../../src/app/policy-review.ts';
import { viewOf } from '../../src/app/privacy.ts';
import { type ImpactReport, impactReplay } from '../../src/engine/impact.ts';
import { renderImpact } from '../../src/engine/impact-render.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import type { RuleSetIR } from '../../src/policy/ir.ts';
import { storeCostReader } from '../../src/store/impact-costs.ts';
import { seedDemo } from '../../src/store/seed.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const NOW = new Date('2026-10-10T12:00:00Z');
const read = (file: string): RuleSetIR => {
  const a = analyzePolicy(readFileSync(new URL(`../../policies/${file}`, import.meta.url), 'utf8'));
  if (!a.ir) throw new Error(`${file} does not compile`);
  return a.ir;
};

let store: TestStore;
let report: ImpactReport;

beforeAll(async () => {
  store = await createTestStore();
  await seedDemo(store, { people: 150, teams: 10, days: 100, now: NOW });
  report = await impactReplay({
    reader: usageReader(store),
    costs: storeCostReader(store),
    from: { ir: read('2026-q3.policy'), label: 'q3' },
    to: { ir: read('2026-q4.policy'), label: 'q4' },
    window: '2026-Q3',
    identity: (id) => ({ id, masked: false }),
    now: NOW,
  });
}, 240_000);
afterAll(async () => {
  await store?.destroy();
});

const sections = (md: string) => [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);

describe('the q3 → q4 review report', () => {
  it('counts people by consequence, team and role, consistently with its totals', () => {
    expect(report.hasData).toBe(true);
    expect(report.consequences.map((c) => c.action)).toEqual([
      'block',
      'require_approval',
      'require_justification',
      'notify',
    ]);
    for (const c of report.consequences) expect(c.after - c.before).toBe(c.newly - c.noLonger);
    // every person is in exactly one team row and one role row
    for (const list of [report.groups.byTeam, report.groups.byRole]) {
      expect(list.reduce((n, g) => n + g.people, 0)).toBe(report.population.people);
      expect(list.reduce((n, g) => n + (g.tierChanges ?? 0), 0)).toBe(report.tiers.changed);
      for (const c of report.consequences)
        expect(list.reduce((n, g) => n + (g.newly[c.action] ?? 0), 0)).toBe(c.newly);
    }
    // q4 drops analysts from the power tier: the role table says so
    const analysts = report.groups.byRole.find((g) => g.key === 'analyst');
    expect(analysts?.tierChanges).toBeGreaterThan(0);
    const q = report.quotaDistribution;
    expect(q.thresholds.map((t) => t.percent)).toEqual([70, 90, 100, 120]);
    expect(q.bins.reduce((n, b) => n + (b.after ?? 0), 0)).toBe(
      Object.values(report.tiers.after).reduce((n, x) => n + x, 0),
    );
  });

  it('reads as a review in Markdown: headlines by consequence, groups, charts, tau-b, cohorts', () => {
    const md = renderImpact(report, 'markdown');
    expect(sections(md)).toEqual([
      'Summary',
      'By team and role',
      'Tiers',
      'Quota use',
      'Escalation steps',
      'Rules',
      'Budgets',
      'Leaderboard ai\\_impact',
      'Cost',
      'How this was computed',
    ]);
    const summary = md.slice(md.indexOf('## Summary'), md.indexOf('## By team and role'));
    // consequences in people, never summed step counts
    expect(summary).not.toMatch(/Escalation steps firing/);
    for (const c of report.consequences.filter((x) => x.newly > 0))
      expect(summary).toMatch(new RegExp(`\\*\\*${c.newly} more (person|people)\\*\\* would `));
    expect(summary).toMatch(/\*\*\d+ people\*\* would change tier \(power → baseline: \d+\)/);
    expect(md).toContain('| team | people | change tier |');
    expect(md).toContain('| role | people | change tier |');
    expect(md).toMatch(/\| analyst \| \d+ \| \d+ \|/);
    expect(md).toContain('```mermaid\nflowchart LR\n  a0["power (before)"] -->|');
    expect(md.match(/```mermaid\nxychart-beta/g)?.length).toBeGreaterThanOrEqual(2);
    expect(md).toContain("Kendall's tau-b compares the order of the people ranked under both");
    // the old board had no cohort: the column says so instead of staying empty
    expect(md).not.toMatch(/\| {2}\|/);
    expect(md).toContain('(no cohort)');
    // table rows have as many cells as their header
    for (const table of md.split('\n\n').filter((b) => b.startsWith('| '))) {
      const widths = table.split('\n').map((row) => row.replaceAll('\\|', '').split('|').length);
      expect(new Set(widths).size, table).toBe(1);
    }
  });

  it('warns about unpriced usage instead of printing 0.00 → 0.00, and escapes table text', () => {
    expect(report.cost).not.toBeNull();
    const cost = report.cost as NonNullable<ImpactReport['cost']>;
    const tweaked: ImpactReport = {
      ...report,
      cost: {
        ...cost,
        byModel: [...cost.byModel, { key: 'odd|model*', before: '0', after: '0', delta: '0' }],
        unpriced: { before: ['odd|model*'], after: ['odd|model*'] },
      },
      groups: {
        ...report.groups,
        byTeam: [{ ...report.groups.byTeam[0], key: 'a|b <x>' }, ...report.groups.byTeam.slice(1)],
      },
    };
    const md = renderImpact(tweaked, 'markdown');
    expect(md).toContain('> **Warning:** **Unpriced in both versions: odd\\|model\\*.**');
    expect(md).toContain('| odd\\|model\\* | unpriced | unpriced | — |');
    expect(md).not.toContain('| odd|model');
    expect(md).toContain('| a\\|b \\<x\\> |');
    const html = renderImpact(tweaked, 'html');
    expect(html).toContain('<td>a|b &lt;x&gt;</td>');
    expect(html).toContain('<p class="warning"><strong>Warning:</strong>');
  });

  it('renders one HTML page with the four SVG charts and no scripts', () => {
    const html = renderImpact(report, 'html');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    const charts = [...html.matchAll(/<svg [^>]*aria-label="([^"]+)"/g)].map((m) => m[1]);
    expect(charts).toEqual([
      'Tier moves',
      'People by quota use, with the quota steps',
      'Rank before and after: ai_impact (largest moves)',
      expect.stringMatching(/^Cost by team \(USD\)/),
    ]);
    // the quota chart marks each quota step of the new version
    const quota = html.slice(html.indexOf('People by quota use'));
    for (const p of [
      '70% notify',
      '90% require_justification',
      '100% require_approval',
      '120% block',
    ])
      expect(quota.slice(0, quota.indexOf('</svg>'))).toContain(p);
    expect(html.match(/<h2>/g)?.length).toBe(10);
  });

  it('keeps only counts of k or more below governance, with none derivable from the totals', () => {
    const caller = { keyId: 'v', name: 'viewer', role: 'viewer' as const, person: null };
    const teams = report.groups.byTeam.map((g) => ({
      id: g.key,
      sensitivity: 'normal',
      members: g.people,
    }));
    const view = viewOf(caller, { teams, teamless: 0 }, 5, (id) => `anon-${id}`);
    const masked = aggregatesOnly(report, view);
    for (const list of [masked.groups.byTeam, masked.groups.byRole]) {
      // small groups are added up, never dropped: the rows still account for everyone
      expect(list.reduce((n, g) => n + g.people, 0)).toBe(masked.population.people);
      for (const g of list) {
        expect(g.people).toBeGreaterThanOrEqual(5);
        for (const n of [g.tierChanges, ...Object.values(g.newly), ...Object.values(g.noLonger)])
          expect(n === null || n === 0 || n >= 5).toBe(true);
      }
    }
    for (const b of masked.quotaDistribution.bins)
      for (const n of [b.before, b.after]) expect(n === null || n === 0 || n >= 5).toBe(true);
    // complementary suppression: what is withheld adds up to k or more
    expect(withholdSmall([2, 40, 9], [false, false, false], (n) => n === 0 || n >= 5)).toEqual([
      null,
      40,
      null,
    ]);
    expect(withholdSmall([7, 40], [true, false], (n) => n === 0 || n >= 5)).toEqual([null, 40]);
    expect(withholdSmall([3, 40], [true, false], (n) => n === 0 || n >= 5)).toEqual([null, null]);
    expect(renderImpact(masked, 'markdown')).not.toMatch(/@halcyon/);
    const group = (key: string, people: number, tierChanges: number) => ({
      key,
      people,
      tierChanges,
      newly: { block: 0, require_approval: 0, require_justification: 0, notify: tierChanges },
      noLonger: { block: 0, require_approval: 0, require_justification: 0, notify: 0 },
    });
    const k5 = (n: number) => n === 0 || n >= 5;
    // two roles of 1 and 2 people join the smallest named one, 6, so the row holds 9
    expect(
      mergeSmallGroups(
        [group('a', 40, 3), group('b', 1, 1), group('c', 6, 0), group('d', 2, 2)],
        k5,
      ).map((g) => [g.key, g.people, g.tierChanges]),
    ).toEqual([
      ['a', 40, 3],
      [SMALLER_GROUPS, 9, 3],
    ]);
  });
});
