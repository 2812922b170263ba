// The impact replay reads declared measures from the store and replays badges: who earns
// each under both versions, who newly and who no longer (computed by hand below).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ImpactReport, impactReplay } from '../../src/engine/impact.ts';
import { renderImpact } from '../../src/engine/impact-render.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable, type RuleSetIR } from '../../src/policy/ir.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { ir } from './fixture.ts';

const OLD = `policy "badges" version "A"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }
measure review_score { unit score  aggregate mean }
badge well_reviewed "Well reviewed" {
  window quarter
  when tasks >= 2 and review_score >= 4
}
`;
// the bar rises to 4.5, and a new badge for anyone with a review
const NEW = `${OLD.replace('version "A"', 'version "B"').replace('review_score >= 4', 'review_score >= 4.5')}
badge reviewed "Reviewed" { window quarter  when review_score > 0 }
`;

// ana's mean 4.75, bo's 4.25, cy's 3: well_reviewed A: ana, bo; B: ana; reviewed B: all three
const scores: [string, number[]][] = [
  ['ana', [4.5, 5]],
  ['bo', [4, 4.5]],
  ['cy', [3, 3]],
];

let store: TestStore;
let report: ImpactReport;
const NOW = new Date('2026-11-22T12:00:00Z');

beforeAll(async () => {
  store = await createTestStore();
  const rows: unknown[] = [];
  for (const [person, values] of scores) {
    rows.push({
      type: 'usage',
      id: `u-${person}`,
      ts: '2026-09-10T10:00:00Z',
      person,
      model: 'm1',
      input_tokens: 1000,
    });
    for (const [i, value] of values.entries())
      rows.push({
        type: 'outcome',
        id: `o-${person}-${i}`,
        ts: `2026-09-1${i}T11:00:00Z`,
        person,
        outcome: 'accepted',
        measures: { review_score: value },
      });
  }
  const A = ir(OLD);
  const result = await ingestBatch(
    store,
    rows.map((data, i) => ({ line: i + 1, data })),
    { prices: priceTable(A), timezone: 'UTC', now: NOW.getTime() },
  );
  expect(result.totals.rejected ?? 0).toBe(0);
  report = await impactReplay({
    reader: usageReader(store),
    from: { ir: A, label: 'old' },
    to: { ir: ir(NEW), label: 'new' },
    window: '2026-Q3',
    identity: (id) => ({ id, masked: false }),
    now: NOW,
  });
}, 60_000);

afterAll(async () => {
  await store?.destroy();
});

it('replays badges over stored measures', () => {
  expect(report.badges).toEqual([
    { badge: 'reviewed', label: 'Reviewed', before: 0, after: 3, newly: 3, noLonger: 0 },
    {
      badge: 'well_reviewed',
      label: 'Well reviewed',
      before: 2,
      after: 1,
      newly: 0,
      noLonger: 1,
    },
  ]);
  expect(renderImpact(report, 'text')).toContain('well_reviewed: 2 → 1 (0 newly, 1 no longer)');
});
