// Outcome measures at ingest and in fact reads (on PGlite, or the server DATABASE_URL
// names): an outcome's named measures, project and model land in measure_rollups once per
// id; the reader answers a declared measure's sum, mean and percentile for day windows,
// project windows and sub-day spans, per person, team and org; bad measures are refused
// row by row with their field; CSV carries them as `measure.<name>` columns; Claude Code's
// daily activity arrives as measures of its own names, replaced when a day is restated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactWindow } from '../../src/engine/ports.ts';
import { writeClaudeCodeActivity } from '../../src/store/claude-code-activity.ts';
import { csvRecordToRow } from '../../src/store/ingest/csv.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { histogramPercentile } from '../../src/store/measure-reader.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { TEST_PRICES } from './helpers.ts';

let store: TestStore;
const NOW = Date.parse('2026-11-22T12:00:00Z');

const outcome = (id: string, person: string, ts: string, extra: Record<string, unknown> = {}) => ({
  type: 'outcome',
  id,
  ts,
  person,
  outcome: 'accepted',
  ...extra,
});

const ingest = (rows: Record<string, unknown>[]) =>
  ingestBatch(
    store,
    rows.map((data, i) => ({ line: i + 1, data })),
    { prices: TEST_PRICES, timezone: 'UTC', source: 'native', now: NOW },
  );

beforeAll(async () => {
  store = await createTestStore();
  await ingest([
    { type: 'team', team: 'platform' },
    { type: 'team', team: 'data' },
    { type: 'person', person: 'ana', team: 'platform' },
    { type: 'person', person: 'bo', team: 'platform' },
    { type: 'person', person: 'cy', team: 'data' },
  ]);
  // ana: review scores 2, 4, 6 (two on the launch project); bo: 8; cy: 10 and a cycle time
  const first = await ingest([
    outcome('o1', 'ana', '2026-11-20T09:00:00Z', {
      project: 'launch',
      model: 'claude-sonnet-4-5',
      measures: { review_score: 2, cycle_minutes: 30 },
    }),
    outcome('o2', 'ana', '2026-11-21T09:00:00Z', {
      project: 'launch',
      measures: { review_score: 4 },
    }),
    outcome('o3', 'ana', '2026-11-22T11:00:00Z', { measures: { review_score: 6 } }),
    outcome('o4', 'bo', '2026-11-21T10:00:00Z', { measures: { review_score: 8 } }),
    outcome('o5', 'cy', '2026-11-21T10:00:00Z', {
      measures: { review_score: 10, cycle_minutes: 600 },
    }),
  ]);
  expect(first.results.filter((r) => r.status !== 'accepted')).toEqual([]);
}, 60_000);

afterAll(async () => {
  await store?.destroy();
});

const days = (
  key: string,
  facts: string[],
  extra: { project?: string; environment?: string } = {},
): FactWindow => ({
  kind: 'days',
  from: '2026-11-01',
  to: '2026-11-23',
  key,
  environment: null,
  facts,
  ...extra,
});

describe('measures at ingest', () => {
  it('rolls measures up per person, day, project, model and name', async () => {
    const rows = await store.query<Record<string, string>>(
      `select person_id, day::text, project, model, measure, n::text, total::text
         from measure_rollups where person_id = 'ana' order by day, measure`,
    );
    expect(rows).toEqual([
      {
        person_id: 'ana',
        day: '2026-11-20',
        project: 'launch',
        model: 'claude-sonnet-4-5',
        measure: 'cycle_minutes',
        n: '1',
        total: '30',
      },
      {
        person_id: 'ana',
        day: '2026-11-20',
        project: 'launch',
        model: 'claude-sonnet-4-5',
        measure: 'review_score',
        n: '1',
        total: '2',
      },
      {
        person_id: 'ana',
        day: '2026-11-21',
        project: 'launch',
        model: '',
        measure: 'review_score',
        n: '1',
        total: '4',
      },
      {
        person_id: 'ana',
        day: '2026-11-22',
        project: '',
        model: '',
        measure: 'review_score',
        n: '1',
        total: '6',
      },
    ]);
    const [event] = await store.query<{ project: string; model: string; measures: unknown }>(
      `select project, model, measures from outcome_events where id = 'o1'`,
    );
    expect(event).toEqual({
      project: 'launch',
      model: 'claude-sonnet-4-5',
      measures: { review_score: 2, cycle_minutes: 30 },
    });
  });

  it('counts a resent outcome once, and adds a second one on the same day into the row', async () => {
    const again = await ingest([
      outcome('o4', 'bo', '2026-11-21T10:00:00Z', { measures: { review_score: 8 } }),
      outcome('o6', 'bo', '2026-11-21T15:00:00Z', { measures: { review_score: 6 } }),
    ]);
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'accepted']);
    const [row] = await store.query<{ n: string; total: string; buckets: Record<string, number> }>(
      `select n::text, total::text, buckets from measure_rollups
        where person_id = 'bo' and measure = 'review_score'`,
    );
    expect(row.n).toBe('2');
    expect(row.total).toBe('14');
    expect(Object.values(row.buckets).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('refuses bad measures row by row, naming the field', async () => {
    const result = await ingest([
      outcome('bad1', 'ana', '2026-11-20T09:00:00Z', { measures: { 'Review Score': 1 } }),
      outcome('bad2', 'ana', '2026-11-20T09:00:00Z', { measures: { review_score: 'high' } }),
      outcome('bad3', 'ana', '2026-11-20T09:00:00Z', { measures: { commits: 3 } }),
      outcome('bad4', 'ana', '2026-11-20T09:00:00Z', {
        measures: [
          { name: 'x', value: 1 },
          { name: 'x', value: 2 },
        ],
      }),
      outcome('ok1', 'cy', '2026-11-10T09:00:00Z', {
        measures: [{ name: 'edit_distance', value: 12 }],
      }),
    ]);
    const reasons = result.results.map((r) => `${r.status} ${r.reason ?? ''}`);
    expect(reasons[0]).toMatch(/^rejected .*measures.*lower case letters/);
    expect(reasons[1]).toMatch(/^rejected .*measures\.review_score.*number/);
    expect(reasons[2]).toMatch(/^rejected .*activity measures/);
    expect(reasons[3]).toMatch(/^rejected .*"x" is given twice/);
    expect(reasons[4]).toBe('accepted ');
  });

  it('reads `measure.<name>` CSV columns as measures', () => {
    const row = csvRecordToRow(
      {
        type: 'outcome',
        id: 'c1',
        ts: '2026-11-20T09:00:00Z',
        person: 'ana',
        outcome: 'accepted',
        project: 'launch',
        'measure.review_score': '4.5',
        'measure.cycle_minutes': '',
      },
      2,
    );
    expect(row).toMatchObject({ data: { project: 'launch', measures: { review_score: 4.5 } } });
  });
});

describe('measures in fact reads', () => {
  const reader = () => usageReader(store);

  it('answers sum, mean and percentiles per person, team and org', async () => {
    const facts = [
      'measure:review_score:sum',
      'measure:review_score:mean',
      'measure:review_score:p50',
      'measure:review_score:p100',
      'measure:cycle_minutes:p90',
    ];
    const sums = await reader().sumFacts([days('month', facts)], ['person', 'team', 'org']);
    const ana = sums.person?.get('month')?.get('ana');
    expect(ana?.['measure:review_score:sum']).toBe(12);
    expect(ana?.['measure:review_score:mean']).toBe(4);
    // a histogram bucket is 2% wide: percentiles come within 2% of the observation
    expect(ana?.['measure:review_score:p50']).toBeCloseTo(4, 0);
    expect(Math.abs((ana?.['measure:review_score:p50'] ?? 0) - 4) / 4).toBeLessThan(0.02);
    expect(Math.abs((ana?.['measure:review_score:p100'] ?? 0) - 6) / 6).toBeLessThan(0.02);
    // platform: ana 2, 4, 6 and bo 8, 6 → mean 26 / 5, not a mean of the two means
    const platform = sums.team?.get('month')?.get('platform');
    expect(platform?.['measure:review_score:mean']).toBeCloseTo(26 / 5, 10);
    const org = sums.org?.get('month')?.get('org');
    expect(org?.['measure:review_score:sum']).toBe(36);
    expect(Math.abs((org?.['measure:cycle_minutes:p90'] ?? 0) - 600) / 600).toBeLessThan(0.02);
    // someone with no observations reads nothing (the engine fills 0)
    expect(sums.person?.get('month')?.get('zed')).toBeUndefined();
  });

  it('reads built-in facts and measures of one window together', async () => {
    const sums = await reader().sumFacts(
      [days('month', ['accepted', 'measure:review_score:sum'])],
      ['person'],
      { people: ['ana'] },
    );
    expect(sums.person?.get('month')?.get('ana')).toEqual({
      accepted: 3,
      'measure:review_score:sum': 12,
    });
  });

  it('counts outcomes under the project they were about, in the model-less row', async () => {
    const rows = await store.query<Record<string, string>>(
      `select day::text, project, model, tasks::text, accepted::text from daily_rollups
        where person_id = 'ana' and tasks > 0 order by day`,
    );
    expect(rows).toEqual([
      {
        day: '2026-11-20',
        project: 'launch',
        model: '',
        tasks: '1',
        accepted: '1',
      },
      { day: '2026-11-21', project: 'launch', model: '', tasks: '1', accepted: '1' },
      { day: '2026-11-22', project: '', model: '', tasks: '1', accepted: '1' },
    ]);
    // the launch project's value: ana's two accepted outcomes there, of her three
    const sums = await reader().sumFacts(
      [
        days('month#launch', ['accepted', 'tasks'], { project: 'launch' }),
        {
          kind: 'span',
          start: new Date('2026-11-20T00:00:00Z'),
          end: new Date('2026-11-22T12:00:00Z'),
          key: '60h#launch',
          environment: null,
          project: 'launch',
          facts: ['accepted'],
        },
      ],
      ['person'],
      { people: ['ana'] },
    );
    expect(sums.person?.get('month#launch')?.get('ana')).toEqual({ accepted: 2, tasks: 2 });
    expect(sums.person?.get('60h#launch')?.get('ana')).toEqual({ accepted: 2 });
  });

  it('narrows to a project, reads nothing for an environment, and reads raw events for spans', async () => {
    const sums = await reader().sumFacts(
      [
        days('month#launch', ['measure:review_score:mean'], { project: 'launch' }),
        days('month@sandbox', ['measure:review_score:sum'], { environment: 'sandbox' }),
        {
          kind: 'span',
          start: new Date('2026-11-22T00:00:00Z'),
          end: new Date('2026-11-22T12:00:00Z'),
          key: '12h',
          environment: null,
          facts: ['measure:review_score:sum'],
        },
      ],
      ['person'],
    );
    expect(sums.person?.get('month#launch')?.get('ana')).toEqual({
      'measure:review_score:mean': 3,
    });
    expect(sums.person?.get('month@sandbox')?.get('ana')).toBeUndefined();
    expect(sums.person?.get('12h')?.get('ana')).toEqual({ 'measure:review_score:sum': 6 });
    expect(sums.person?.get('12h')?.get('bo')).toBeUndefined();
  });

  it("takes Claude Code's daily activity as measures, replaced when the day is restated", async () => {
    const day = (commits: number) => ({
      day: '2026-11-18',
      person: 'cy',
      sessions: 2,
      linesAdded: 100,
      linesRemoved: 10,
      commits,
      pullRequests: 1,
      customerType: 'api',
      terminalType: 'vscode',
    });
    await writeClaudeCodeActivity(store, [day(3), { ...day(5), day: '2026-11-19' }]);
    await writeClaudeCodeActivity(store, [day(4)]);
    const sums = await reader().sumFacts(
      [days('month', ['commits', 'measure:commits:sum', 'measure:commits:mean'])],
      ['person'],
      { people: ['cy'] },
    );
    expect(sums.person?.get('month')?.get('cy')).toEqual({
      commits: 9,
      'measure:commits:sum': 9,
      'measure:commits:mean': 4.5,
    });
  });
});

describe('histogram percentiles', () => {
  it('takes the nearest rank, negatives and zero included', () => {
    const buckets = new Map([
      ['z', 2],
      ['n35', 1],
      ['35', 1],
    ]);
    // values: -2.0, 0, 0, 2.0 (γ^35 ≈ 2.0)
    expect(histogramPercentile(buckets, 25)).toBeLessThan(-1.9);
    expect(histogramPercentile(buckets, 50)).toBe(0);
    expect(histogramPercentile(buckets, 75)).toBe(0);
    expect(histogramPercentile(buckets, 100)).toBeGreaterThan(1.9);
    expect(histogramPercentile(new Map(), 90)).toBe(0);
  });
});
