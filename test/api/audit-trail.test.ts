// Audited reads leave the request's critical path but are never lost: governance reads of
// named quotas are queued in the store's audit trail and written in batches. Here the
// trail's timer is set to an hour, so only the graceful shutdown can write them: every
// answered read must have its row once close() resolves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { auditTrailFor } from '../../src/app/audit.ts';
import { loadTinyOrg, NOW } from '../engine/fixture.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  auditTrailFor(api.store, { flushAfterMs: 3_600_000 });
  activePolicyFor(api.store).setClock(() => NOW);
  await loadTinyOrg(api.store);
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

const QUOTA = 'query($p: String) { quota(person: $p) { __typename ... on Quota { tier } } }';

describe('the audit trail', () => {
  it('answers audited reads before writing them, and writes every one on shutdown', async () => {
    await api.store.query('delete from audit_log');
    const people = ['ana', 'bo', 'cy', 'di'];
    const burst = Array.from({ length: 24 }, (_v, i) => people[i % people.length]);
    // 24 requests at once, six per person: each request records its own read
    const answers = await Promise.all(
      burst.map((p) =>
        api.gql<{ quota: { __typename: string } }>(api.keys.governance.key, QUOTA, { p }),
      ),
    );
    expect(answers.map((a) => a.body.data?.quota.__typename)).toEqual(burst.map(() => 'Quota'));
    // no batch is full and the timer is an hour away: all were answered, none written yet
    const before = await api.store.query<{ n: number }>(
      "select count(*)::int as n from audit_log where action = 'read.quota'",
    );
    expect(before[0].n).toBe(0);
    expect(auditTrailFor(api.store).pending()).toBe(24);

    await api.server.close();
    const rows = await api.store.query<{ subject: string; role: string; actor: string }>(
      "select subject, role, actor from audit_log where action = 'read.quota' order by subject",
    );
    expect(rows.map((r) => r.subject)).toEqual([...burst].sort());
    expect(new Set(rows.map((r) => `${r.role}|${r.actor}`))).toEqual(
      new Set([`governance|${api.keys.governance.id}`]),
    );
    expect(auditTrailFor(api.store).pending()).toBe(0);
  });
});
