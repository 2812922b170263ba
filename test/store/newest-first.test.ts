// Lists that page newest first by id: past id 9 they must order by the number, not by the
// text the id is returned as ('9' sorts after '10' as text), or key-set pages skip rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, listAudit } from '../../src/store/audit.ts';
import { listEscalations } from '../../src/store/escalations.ts';
import { createException, listExceptions } from '../../src/store/exceptions.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.destroy();
});

const ROWS = 23;
const PAGE = 4;

/** Every page, following the last id as the cursor, as the GraphQL connections do. */
async function allPages(list: (beforeId: string | null) => Promise<{ id: string }[]>) {
  const ids: string[] = [];
  for (let beforeId: string | null = null; ; ) {
    const page = await list(beforeId);
    ids.push(...page.map((r) => r.id));
    if (page.length < PAGE) return ids;
    beforeId = page[page.length - 1].id;
  }
}

const newestFirst = (ids: string[]) => [...ids].sort((a, b) => Number(b) - Number(a));

describe('newest-first lists', () => {
  it('pages the audit log by number', async () => {
    await appendAudit(
      store,
      Array.from({ length: ROWS }, (_, i) => ({
        actor: null,
        role: 'admin',
        action: 'test.order',
        subject: `s${i}`,
        detail: {},
      })),
    );
    const ids = await allPages((beforeId) =>
      listAudit(
        store,
        {
          actions: ['test.order'],
          actionPrefix: null,
          actor: null,
          subject: null,
          from: null,
          to: null,
        },
        { beforeId, limit: PAGE },
      ),
    );
    expect(ids).toHaveLength(ROWS);
    expect(ids).toEqual(newestFirst(ids));
  });

  it('pages exceptions by number', async () => {
    const now = new Date('2026-11-20T12:00:00Z');
    for (let i = 0; i < ROWS; i++)
      await createException(
        store,
        {
          subjectKind: 'person',
          subjectId: `order-${i}`,
          extraTokens: 1000,
          extraMoney: null,
          justification: 'ordering',
          expiresAt: new Date('2026-12-01T00:00:00Z'),
          approver: 'manager',
          requestedBy: null,
        },
        now,
      );
    const ids = await allPages((beforeId) => listExceptions(store, {}, { beforeId, limit: PAGE }));
    expect(ids).toHaveLength(ROWS);
    expect(ids).toEqual(newestFirst(ids));
  });

  it('pages escalations by number', async () => {
    for (let i = 0; i < ROWS; i++)
      await store.query(
        `insert into escalations (key, source, action, subject_kind, subject_id, period_start,
                                  period_end, policy_hash)
         values ($1, 'rule', '{}'::jsonb, 'person', $2, now(), now(), 'h')`,
        [`order-${i}`, `order-${i}`],
      );
    const ids = await allPages((beforeId) => listEscalations(store, {}, { beforeId, limit: PAGE }));
    expect(ids).toHaveLength(ROWS);
    expect(ids).toEqual(newestFirst(ids));
  });
});
