// Impact replay of detector rules: adding a deviation rule (person and team) shows in the
// report as rules that would fire, computed over the window's real daily series. Runs on
// the embedded database, or on DATABASE_URL in a fresh database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { impactReplay } from '../../src/engine/impact.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { priceTable, type RuleSetIR } from '../../src/policy/ir.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { ir } from './fixture.ts';

const OLD = `policy "fixture" version "A"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }
tier everyone "Everyone" { limit 100M tokens per month models standard }
assign everyone otherwise
`;

const NEW = `${OLD.replace('version "A"', 'version "B"')}
rule unusual_tokens "Tokens far above the person's usual day" severity medium {
  detect deviation of tokens within 28d above 3.5 history 7d
  then notify manager
}
rule team_unusual_tokens "Team tokens far above its usual day" severity high {
  subject team
  detect deviation of tokens within 28d above 4 history 7d
  then notify team_owner
}
`;

// ana: 10k or 12k a day from Sep 16 to 29 (median 11k, MAD 1k), 60k on Sep 30;
// bo: 20k on Sep 30 only (a first day); team core: ana and bo together
function fixtureRows() {
  const rows: unknown[] = [
    { type: 'team', team: 'core', owner: 'ana' },
    { type: 'person', person: 'ana', team: 'core', role: 'engineer' },
    { type: 'person', person: 'bo', team: 'core', role: 'engineer' },
  ];
  const use = (person: string, day: number, tokens: number) =>
    rows.push({
      type: 'usage',
      id: `u-${person}-${day}`,
      ts: `2026-09-${String(day).padStart(2, '0')}T10:00:00Z`,
      person,
      team: 'core',
      model: 'm1',
      input_tokens: tokens,
    });
  for (let day = 16; day <= 29; day++) use('ana', day, day % 2 === 0 ? 10_000 : 12_000);
  use('ana', 30, 60_000);
  use('bo', 30, 20_000);
  return rows.map((data, i) => ({ line: i + 1, data }));
}

describe('impact replay of detector rules', () => {
  let store: TestStore;
  const A = ir(OLD);
  const B = ir(NEW);

  beforeAll(async () => {
    store = await createTestStore();
    const result = await ingestBatch(store, fixtureRows(), {
      prices: priceTable(A),
      timezone: 'UTC',
      now: new Date('2026-11-22T12:00:00Z').getTime(),
    });
    expect(result.totals.rejected ?? 0).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await store?.destroy();
  });

  it('counts the people and teams a new detector rule would flag, not a first day', async () => {
    const report = await impactReplay({
      reader: usageReader(store),
      from: { ir: A, label: 'old' },
      to: { ir: B, label: 'new' },
      window: '2026-Q3',
      identity: (id) => ({ id, masked: false }),
      now: new Date('2026-11-22T12:00:00Z'),
    });
    expect(report.window.evaluatedAt).toBe('2026-09-30T23:59:59.999Z');
    // ana: 60k > 11k + 3.5 × 1,482.6; bo has no history; the team: 80k > 11k + 4 × 1,482.6
    expect(report.rules).toEqual([
      { rule: 'team_unusual_tokens', severity: 'high', before: 0, after: 1, delta: 1 },
      { rule: 'unusual_tokens', severity: 'medium', before: 0, after: 1, delta: 1 },
    ]);
  });
});
