// The impact replay reads each version's season: moving a season's end changes the facts a
// `window season` badge reads, and the replay shows who earns it under each version.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ImpactReport, impactReplay } from '../../src/engine/impact.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable, type RuleSetIR } from '../../src/policy/ir.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { ir } from './fixture.ts';

const OLD = `policy "seasons" version "A"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }
season early "Early September" { from "2026-09-01"  until "2026-09-16" }
badge busy "Busy season" { window season  when tokens >= 2k }
`;
// the season runs to the end of the month
const NEW = OLD.replace('version "A"', 'version "B"').replace('"2026-09-16"', '"2026-10-01"');

let store: TestStore;
let report: ImpactReport;
const NOW = new Date('2026-11-22T12:00:00Z');

beforeAll(async () => {
  store = await createTestStore();
  // ana 1k early and 1k late in September; bo 3k early
  const rows = [
    ['ana', '2026-09-05', 1000],
    ['ana', '2026-09-20', 1000],
    ['bo', '2026-09-05', 3000],
  ].map(([person, day, tokens], i) => ({
    line: i + 1,
    data: {
      type: 'usage',
      id: `u-${i}`,
      ts: `${day}T10:00:00Z`,
      person,
      model: 'm1',
      input_tokens: tokens,
    },
  }));
  const A = ir(OLD);
  const result = await ingestBatch(store, rows, {
    prices: priceTable(A),
    timezone: 'UTC',
    now: NOW.getTime(),
  });
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

it('replays a season badge over each version’s season', () => {
  // at the end of Q3: the old season ended on the 15th (bo only), the new one holds both
  expect(report.badges).toEqual([
    { badge: 'busy', label: 'Busy season', before: 1, after: 2, newly: 1, noLonger: 0 },
  ]);
});
