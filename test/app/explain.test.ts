// `explain` over the seeded demo organisation: a stored person's tier, quota, steps, rules
// and scores with the facts behind each, and who may ask (the role table), on a real
// database (embedded, or DATABASE_URL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { auditFor } from '../../src/app/audit.ts';
import type { Caller } from '../../src/app/caller.ts';
import { ForbiddenError, InvalidWindowError, NotFoundError } from '../../src/app/errors.ts';
import { explainFor } from '../../src/app/explain.ts';
import { seedDemo } from '../../src/store/seed.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const NOW = new Date('2026-11-20T12:00:00Z');
let store: TestStore;
/** a seeded person the active policy ranks on value_per_token */
let person: string;

const caller = (role: Caller['role'], bound: string | null = null): Caller => ({
  keyId: `k-${role}`,
  name: role,
  role,
  person: bound,
});
const session = (c: Caller) => ({ caller: c, audit: auditFor(store, c) });

beforeAll(async () => {
  store = await createTestStore();
  await seedDemo(store, { people: 60, teams: 6, days: 60, now: NOW });
  activePolicyFor(store).setClock(() => NOW);
  const rows = await store.query<{ person_id: string }>(
    `select person_id from outcome_events group by person_id order by count(*) desc, person_id limit 1`,
  );
  person = rows[0].person_id;
}, 240_000);
afterAll(async () => {
  await store?.destroy();
});

describe('explain', () => {
  it("gives a seeded person's tier, quota and score with the facts and rule behind each", async () => {
    const x = await explainFor(store).explain(session(caller('governance')), { person });
    expect(x.person).toEqual({ id: person, masked: false });
    expect(x.policy.name).toBe('halcyon-ai-governance');
    expect(x.window).toBeNull();
    expect(x.evaluatedAt).toBe(new Date(NOW.getTime()).toISOString());
    const r = x.result;
    // the tier names the assign rule that chose it
    expect(r.tier?.tier).toMatch(/\w/);
    expect(r.tier?.rule.index).toBeGreaterThanOrEqual(0);
    // the quota band with its rule, over real usage
    expect(r.quota?.used).toBeGreaterThan(0);
    expect(r.quota?.bandReason).toMatch(/%/);
    expect(x.effectiveLimit).toBe(r.quota?.limit);
    // the score with the facts and metrics it read
    const board = r.leaderboards.value_per_token;
    expect(board.explanation.formula).toContain('acceptance');
    expect(board.explanation.facts.map((f) => f.name)).toContain('accepted');
    expect(board.explanation.facts.find((f) => f.name === 'tokens')?.value).toBeGreaterThan(0);
    if (board.eligible) expect(board.rank).toBeGreaterThanOrEqual(1);
    const audited = await store.query<{ action: string; subject: string }>(
      `select action, subject from audit_log where action = 'person.explain'`,
    );
    expect(audited).toEqual([{ action: 'person.explain', subject: person }]);
  });

  it('evaluates at the end of a window, and narrows to one board', async () => {
    const x = await explainFor(store).explain(session(caller('admin')), {
      person,
      window: '2026-10',
      board: 'value_per_token',
    });
    expect(x.window).toEqual({ label: '2026-10', from: '2026-10-01', to: '2026-11-01' });
    expect(x.evaluatedAt).toBe('2026-10-31T23:59:59.999Z');
    expect(Object.keys(x.result.leaderboards)).toEqual(['value_per_token']);
    await expect(
      explainFor(store).explain(session(caller('admin')), { person, board: 'nope' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      explainFor(store).explain(session(caller('admin')), { person, window: 'someday' }),
    ).rejects.toBeInstanceOf(InvalidWindowError);
    await expect(
      explainFor(store).explain(session(caller('admin')), { person: 'nobody@nowhere.test' }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lets a member explain themselves only, and viewers and ingest keys no one', async () => {
    const own = await explainFor(store).explain(session(caller('member', person)), { person });
    expect(own.person).toEqual({ id: person, masked: false });
    await expect(
      explainFor(store).explain(session(caller('member', 'someone@else.test')), { person }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    for (const role of ['viewer', 'ingest'] as const)
      await expect(
        explainFor(store).explain(session(caller(role, person)), { person }),
      ).rejects.toBeInstanceOf(ForbiddenError);
  });
});
