// The in-memory quota state (src/app/quota-cache.ts): each kind of change is reflected
// after one refresh, and the answer from memory then equals the answer of a fresh read of
// the database. Refreshes are called by the test (no refresher timer) and the staleness
// bound is an hour, so nothing depends on timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { budgetHoldsFor } from '../../src/app/budget-holds.ts';
import { quotaFor } from '../../src/app/quota.ts';
import { type QuotaCache, quotaCacheFor } from '../../src/app/quota-cache.ts';
import {
  type CheckQuotaRequest,
  type CheckQuotaResult,
  checkQuotaWith,
  quotaPlan,
} from '../../src/engine/quota-check.ts';
import { createException, decideException } from '../../src/store/exceptions.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { readQuotaSnapshots } from '../../src/store/quota-snapshot.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const policyWith = (tierLimitM: number) => `
policy "quota-cache-test" version "t${tierLimitM}"
currency USD
timezone "UTC"
exceptions { max_duration 30d }
class standard "General"
model "cheap" class standard price { input 0.01 output 0.01 }
model "dear" class standard price { input 10.00 output 10.00 }
tier everyone "Everyone" { limit ${tierLimitM}M tokens per month models any }
assign everyone otherwise
budget each team { 10 USD per month }
escalation quota {
  at 100% block
}
escalation budget {
  at 110% block
}
rule sensitive "Sensitive data" severity high {
  when sensitive_flags within 7d >= 3
  then require approval by security
}
`;

const PEOPLE = ['ana@x.test', 'di@x.test', 'cy@x.test'];
const now = new Date('2026-10-20T12:00:00Z');
let store: TestStore;
let cache: QuotaCache;
let line = 0;

async function ingest(rows: Record<string, unknown>[]) {
  const result = await ingestBatch(
    store,
    rows.map((data) => ({ line: ++line, data })),
    { now: now.getTime() },
  );
  expect(result.totals.rejected, JSON.stringify(result.results)).toBe(0);
}

const use = (person: string, model: string, tokensM: number) =>
  ingest([
    {
      type: 'usage',
      id: `u-${line}`,
      ts: '2026-10-05T09:00:00Z',
      person,
      model,
      input_tokens: tokensM * 1_000_000,
      output_tokens: 0,
    },
  ]);

const person = (id: string, team: string) => ({ type: 'person', person: id, team, opted_in: true });

const request = (personId: string): CheckQuotaRequest => ({
  personId,
  model: 'cheap',
  estimatedTokens: 1000,
});

/** The answer from memory; fails when the cache does not hold the person. */
function fromMemory(personId: string) {
  const answer = cache.answer(request(personId), now);
  expect(answer, `${personId} is answered from memory`).not.toBeNull();
  return answer as NonNullable<typeof answer>;
}

/** The answer of a fresh read of the database (what checkQuota answers without the cache). */
async function fromDatabase(personId: string) {
  const rs = await activePolicyFor(store).require();
  const [snapshot] = await readQuotaSnapshots(
    store,
    [personId],
    quotaPlan(rs.ruleSet).windows(now),
    now,
  );
  return checkQuotaWith(rs.ruleSet, snapshot, request(personId), now);
}

/** After a refresh: every person is answered from memory exactly as from the database. */
async function expectCurrent() {
  for (const p of PEOPLE) {
    const { decision, band, reason, binding, constraints, next, effectiveLimit } =
      await fromDatabase(p);
    expect(fromMemory(p), p).toMatchObject({
      decision,
      band,
      reason,
      binding,
      constraints,
      next,
      effectiveLimit,
    });
  }
}

beforeAll(async () => {
  store = await createTestStore();
  activePolicyFor(store).setClock(() => now);
  const published = await publishPolicySource(store, { source: policyWith(10), activate: true });
  expect(published.kind).toBe('published');
  await ingest([
    { type: 'team', team: 'platform', owner: 'ana@x.test', sensitivity: 'normal' },
    { type: 'team', team: 'legal', owner: 'cy@x.test', sensitivity: 'normal' },
    person('ana@x.test', 'platform'),
    person('di@x.test', 'platform'),
    person('cy@x.test', 'legal'),
    // in memory from the first refresh, never asked about
    person('ed@x.test', 'legal'),
  ]);
  // budget periods start with the policy: later passes fold spend into them
  await budgetHoldsFor(store).refreshAll();
  cache = quotaCacheFor(store);
  cache.start({ refreshMs: null, maxStalenessMs: 3_600_000 });
  // the first refresh reads everyone in the directory
  await cache.refresh();
  for (const p of PEOPLE) expect((await quotaFor(store).decide(request(p))).decision).toBe('allow');
  await expectCurrent();
}, 120_000);

afterAll(async () => {
  cache?.stop();
  await store?.destroy();
});

describe('the quota cache after one refresh', () => {
  it('reflects new usage past the quota block', async () => {
    await use('cy@x.test', 'cheap', 11);
    expect(fromMemory('cy@x.test').decision).toBe('allow'); // not refreshed yet
    await cache.refresh();
    const answer = fromMemory('cy@x.test');
    expect(answer.decision).toBe('block');
    expect(answer.reason).toMatch(/everyone limit/);
    await expectCurrent();
  });

  it('reflects a budget hold written by the budget pass', async () => {
    // platform: 12 USD of 10, past the 110% block
    await use('di@x.test', 'dear', 1.2);
    await budgetHoldsFor(store).refresh();
    expect(fromMemory('ana@x.test').decision).toBe('allow');
    await cache.refresh();
    const answer = fromMemory('ana@x.test');
    expect(answer.decision).toBe('block');
    expect(answer.binding).toMatchObject({ kind: 'budget' });
    await expectCurrent();
  });

  it('reflects an approved exception', async () => {
    const created = await createException(
      store,
      {
        subjectKind: 'person',
        subjectId: 'cy@x.test',
        extraTokens: 5_000_000,
        extraMoney: null,
        justification: 'launch week',
        expiresAt: new Date(now.getTime() + 7 * 86_400_000),
        approver: 'governance',
        requestedBy: null,
      },
      now,
    );
    await cache.refresh();
    expect(fromMemory('cy@x.test').decision).toBe('block'); // requested, not approved
    await decideException(store, created.id, true, null, 'gov', now);
    await cache.refresh();
    expect(fromMemory('cy@x.test')).toMatchObject({
      decision: 'allow',
      effectiveLimit: 15_000_000,
    });
    await expectCurrent();
  });

  it("gives quota(person) from the same standing as checkQuota's answer", async () => {
    const governance = { keyId: 'k-gov', name: 'gov', role: 'governance' as const, person: null };
    const read = () => quotaFor(store).personQuota(governance, 'cy@x.test');
    const quota = await read();
    const answer = fromMemory('cy@x.test');
    expect(quota).toMatchObject({
      effectiveLimit: 15_000_000,
      band: answer.band,
      state: { used: answer.quota?.used, limit: answer.quota?.limit },
      named: true,
    });
    expect((await quota.exceptions()).map((e) => e.justification)).toEqual(['launch week']);
    // memory, not another statement: new usage shows after the refresh, as for checkQuota
    await use('cy@x.test', 'cheap', 1);
    expect((await read()).state.used).toBe(quota.state.used);
    await cache.refresh();
    expect((await read()).state.used).toBe(quota.state.used + 1_000_000);
    // and stale memory reads the database, with the same figures
    cache.start({ refreshMs: null, maxStalenessMs: -1 });
    try {
      expect((await read()).state.used).toBe(quota.state.used + 1_000_000);
    } finally {
      cache.start({ refreshMs: null, maxStalenessMs: 3_600_000 });
    }
    await expectCurrent();
  });

  it('reflects a person moved to another team', async () => {
    expect(fromMemory('ana@x.test').decision).toBe('block');
    await ingest([person('ana@x.test', 'legal')]);
    await cache.refresh();
    expect(fromMemory('ana@x.test').decision).toBe('allow');
    await expectCurrent();
  });

  it('reflects a newly activated policy', async () => {
    const published = await publishPolicySource(store, {
      source: policyWith(100),
      activate: true,
    });
    expect(published.kind).toBe('published');
    await cache.refresh();
    // everyone is read again under the new policy
    expect(fromMemory('di@x.test')).toMatchObject({
      effectiveLimit: 100_000_000,
      policyHash: (await activePolicyFor(store).require()).hash,
    });
    await budgetHoldsFor(store).refreshAll();
    await cache.refresh();
    await expectCurrent();
  });

  it('drops a changed person no check asked about, and reads them on their next check', async () => {
    // past the 100M tier of the policy activated above
    await use('ed@x.test', 'cheap', 120);
    await cache.refresh();
    expect(cache.answer(request('ed@x.test'), now)).toBeNull();
    expect((await quotaFor(store).decide(request('ed@x.test'))).decision).toBe('block');
    expect(fromMemory('ed@x.test').decision).toBe('block');
  });

  it('keeps what a check computed only until an exception in it expires', async () => {
    // a second exception for cy, ending an hour after `now`, the same day
    const created = await createException(
      store,
      {
        subjectKind: 'person',
        subjectId: 'cy@x.test',
        extraTokens: 2_000_000,
        extraMoney: null,
        justification: 'one more hour',
        expiresAt: new Date(now.getTime() + 3_600_000),
        approver: 'governance',
        requestedBy: null,
      },
      now,
    );
    await decideException(store, created.id, true, null, 'gov', now);
    await cache.refresh();
    const later = new Date(now.getTime() + 90 * 60_000);
    const atClock = async (clock: Date) => {
      const rs = await activePolicyFor(store).require();
      const [snapshot] = await readQuotaSnapshots(
        store,
        ['cy@x.test'],
        quotaPlan(rs.ruleSet).windows(clock),
        clock,
      );
      return checkQuotaWith(rs.ruleSet, snapshot, request('cy@x.test'), clock);
    };
    // asked at `now` first, so the later answer could only be wrong by reusing it
    const before = fromMemory('cy@x.test').effectiveLimit;
    const kept = cache.answer(request('cy@x.test'), later);
    expect(kept?.effectiveLimit).toBe(before - 2_000_000);
    // the whole answer, the quota state's forecast at that clock included (a getter on the
    // kept state's prototype, which toEqual would not read)
    const withForecast = (r: CheckQuotaResult | null) =>
      r && { ...r, quota: r.quota && { ...r.quota, forecast: r.quota.forecast } };
    expect(withForecast(kept)).toEqual(withForecast(await atClock(later)));
    expect(withForecast(cache.answer(request('cy@x.test'), now))).toEqual(
      withForecast(await atClock(now)),
    );
  });

  it('answers from the database when the state is stale or the day moved', async () => {
    const fresh = quotaCacheFor(store);
    expect(fresh.answer(request('di@x.test'), now)).not.toBeNull();
    // another day: the windows moved, so the rows in memory are not the ones to weigh
    expect(fresh.answer(request('di@x.test'), new Date(now.getTime() + 86_400_000))).toBeNull();
    // a bound below zero: no refresh is young enough
    fresh.start({ refreshMs: null, maxStalenessMs: -1 });
    expect(fresh.answer(request('di@x.test'), now)).toBeNull();
    fresh.start({ refreshMs: null, maxStalenessMs: 3_600_000 });
    expect(fresh.answer(request('di@x.test'), now)).not.toBeNull();
  });
});
