// The enforcement workers at start-up: the loops that evaluate people wait for what the
// server names (the boards' warm-up loads), the budget pass does not.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnforcementWorkers } from '../../src/api/workers.ts';
import { SWEEP_JOB } from '../../src/app/reevaluation.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;

beforeAll(async () => {
  store = await createTestStore();
});

afterAll(async () => {
  await store.destroy();
});

const sweepLeases = async () =>
  (
    await store.query<{ n: number }>('select count(*)::int as n from job_leases where name = $1', [
      SWEEP_JOB,
    ])
  )[0].n;

describe('startEnforcementWorkers with evaluateAfter', () => {
  it('starts the sweep only once the promise settles', async () => {
    let release!: () => void;
    const warmed = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workers = startEnforcementWorkers(store, {
      log: pino({ level: 'silent' }),
      evaluateAfter: warmed,
      budgetEveryMs: 20,
      drainEveryMs: 20,
    });
    try {
      // several budget passes' worth of time: the sweep would have taken its lease by now
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await sweepLeases()).toBe(0);
      release();
      let leases = 0;
      for (let i = 0; i < 100 && leases === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        leases = await sweepLeases();
      }
      expect(leases).toBe(1);
    } finally {
      await workers.stop();
    }
  });
});
