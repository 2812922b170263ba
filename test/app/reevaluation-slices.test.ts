// Re-evaluation after ingest runs inside the server: each batch's evaluation holds the event
// loop, so batches are sized from the last one's evaluation time (an injected clock here)
// to stay near the slice, and the server answers requests between them. The escalations
// found are the same whatever the batch sizes: a sweep afterwards finds nothing new.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { createReevaluation, reevaluationFor } from '../../src/app/reevaluation.ts';
import { listEscalations } from '../../src/store/escalations.ts';
import { activatePolicySource, gqlData, startTestApi, type TestApi } from '../api/support.ts';

const POLICY = `
policy "slices" version "s1"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 0.10 output 0.10 }
tier everyone "Everyone" { limit 1,000 tokens per month models any }
assign everyone otherwise
escalation quota {
  at 70% notify person "70% of your monthly tokens used"
}
`;

const PEOPLE = Array.from({ length: 24 }, (_, i) => `p${String(i + 1).padStart(2, '0')}@acme.test`);

let api: TestApi;
const now = new Date('2026-10-20T12:00:00Z');

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => now);
  await activatePolicySource(api, POLICY);
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

async function ingest(tag: string, tokens: number) {
  await gqlData(
    api,
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: PEOPLE.map((person) => ({
        id: `slice-${tag}-${person}`,
        ts: '2026-10-19T10:00:00Z',
        person,
        model: 'm1',
        inputTokens: tokens,
      })),
    },
  );
}

/** A clock under which every evaluation takes `ms`. */
function clockTaking(ms: number) {
  let t = 0;
  let reads = 0;
  return () => {
    // read twice per evaluation: before and after
    reads++;
    if (reads % 2 === 0) t += ms;
    return t;
  };
}

describe('re-evaluation after ingest', () => {
  it('takes smaller batches when an evaluation outlasts the slice, and finds what one batch would', async () => {
    await ingest('a', 800);
    // 8 people took 100 ms, twice the slice: then 5 (the fewest) at a time
    const slow = createReevaluation(api.store, { sliceMs: 50, clock: clockTaking(100) });
    const report = await slow.drainDirty(8);
    expect(report).toMatchObject({ people: 24, created: 24, failed: [], batches: 5 });
    const rows = await listEscalations(api.store, {}, { limit: 100 });
    expect(rows.map((e) => e.subjectId).sort()).toEqual(PEOPLE);
    // the same escalations as a sweep of everyone finds: nothing new
    expect((await reevaluationFor(api.store).sweep({ force: true })).created).toBe(0);
  });

  it('keeps whole batches while evaluations fit in the slice', async () => {
    await ingest('b', 10);
    const fast = createReevaluation(api.store, { sliceMs: 50, clock: clockTaking(10) });
    // 8 people in 10 ms: 40 would fit, the limit is 8; the last take finds nobody
    expect(await fast.drainDirty(8)).toMatchObject({ people: 24, created: 0, batches: 3 });
  });
});
