// No N+1: a 50-entry leaderboard with nested person and team fields costs the same fixed
// number of SQL statements as a 5-entry one. Every statement any pg client sends in this
// process through the store's pg driver (MikroORM's own copy of pg) is counted by
// wrapping its Client.prototype.query: pool.query and Kysely both end there. The writers
// that run off the request path on their own timers (board snapshots, batched audit) are
// not the request's statements and are left out, whenever they happen to land.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicyVersion } from '../../src/store/policies.ts';
import { NOW, POLICY } from '../engine/fixture.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
const PEOPLE = 60;
const TEAMS = 6;

let statements = 0;
const BACKGROUND_WRITE = /\b(insert into|delete from) (board_snapshots|audit_log)\b/i;
let Client: typeof pg.Client;
let original: pg.Client['query'];

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => NOW);
  const source = POLICY.replace('top 10', 'top 100');
  const analysis = analyzePolicy(source);
  if (!analysis.ir) throw new Error('fixture policy does not compile');
  await publishPolicyVersion(api.store, {
    version: 'n1',
    source,
    canonical: source,
    hash: analysis.hash as string,
    ir: analysis.ir,
    activate: true,
  });
  const rows: Record<string, unknown>[] = [];
  for (let t = 0; t < TEAMS; t++) rows.push({ type: 'team', team: `t${t}`, owner: `p00` });
  for (let i = 0; i < PEOPLE; i++) {
    const id = `p${String(i).padStart(2, '0')}`;
    rows.push({
      type: 'person',
      person: id,
      name: `Person ${i}`,
      team: `t${i % TEAMS}`,
      role: 'engineer',
      opted_in: true,
    });
    // i accepted and one rejected: distinct scores, so ranks are p59 … p00
    for (let k = 0; k <= i; k++) {
      rows.push({
        type: 'outcome',
        id: `o-${id}-${k}`,
        ts: '2026-11-12T10:00:00Z',
        person: id,
        outcome: k === 0 ? 'rejected' : 'accepted',
      });
    }
  }
  await ingestBatch(
    api.store,
    rows.map((data, i) => ({ line: i + 1, data })),
  );
  const client = await api.store.pool.connect();
  Client = client.constructor as typeof pg.Client;
  client.release();
  original = Client.prototype.query;
  Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    if (!BACKGROUND_WRITE.test(text)) statements++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
}, 120_000);

afterAll(async () => {
  if (Client) Client.prototype.query = original;
  await api?.stop();
});

const QUERY = `query($first: Int!) {
  leaderboard(name: "value", first: $first) {
    ... on LeaderboardConnection {
      edges { node { rank subjectId score person { id name role team { id name owner costCenter } } } }
    }
  }
}`;

async function countFor(first: number): Promise<{ count: number; entries: number }> {
  statements = 0;
  const res = await api.gql<{ leaderboard: { edges: unknown[] } }>(api.keys.governance.key, QUERY, {
    first,
  });
  expect(res.body.errors).toBeUndefined();
  return { count: statements, entries: res.body.data!.leaderboard.edges.length };
}

describe('leaderboard with nested person and team', () => {
  it('costs a fixed number of statements, whatever the page size', async () => {
    await countFor(50); // warm the evaluation cache and the rule set
    const small = await countFor(5);
    const large = await countFor(50);
    expect(small.entries).toBe(5);
    expect(large.entries).toBe(50);
    // key lookup, active policy + watermark, people (1 batch), teams (1 batch)
    expect(small.count).toBeGreaterThanOrEqual(3); // the counter sees the statements
    expect(large.count).toBe(small.count);
    expect(large.count).toBeLessThanOrEqual(8);
  });

  it('stays flat on a cold cache too (the evaluation is set-based)', async () => {
    await ingestBatch(api.store, [
      {
        line: 1,
        data: {
          type: 'outcome',
          id: 'o-extra',
          ts: '2026-11-12T11:00:00Z',
          person: 'p00',
          outcome: 'accepted',
        },
      },
    ]);
    const cold = await countFor(50);
    expect(cold.entries).toBe(50);
    // + per board window (current and previous): directory (people, teams) and the fact
    // sums, each org-wide read in a short transaction (begin, settings, select, commit)
    expect(cold.count).toBeLessThanOrEqual(24);
  });
});
