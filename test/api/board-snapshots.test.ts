// Persisted boards: a server writes its evaluated boards with their watermark; a server
// started afterwards on the same database answers its first board from them while it
// evaluates its own, a newer evaluation replaces them, and lower roles still get the
// masked board. The fresh server's own evaluation is held back (its fact read waits on a
// gate) so which board answers does not depend on timing.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { readServiceFor, warmLeaderboards } from '../../src/api/loaders.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { boardSnapshotsFor } from '../../src/app/board-snapshots.ts';
import { previousClock } from '../../src/engine/leaderboard.ts';
import { loadBoardSnapshot, saveBoardSnapshot } from '../../src/store/board-snapshots.ts';
import type { Store } from '../../src/store/db.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { loadTinyOrg, NOW } from '../engine/fixture.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const BOARD = `query($w: String) { leaderboard(name: "value", first: 10, window: $w) {
  ... on LeaderboardConnection { board { dataVersion stale } edges { node { rank subjectId score } } }
  ... on Problem { code message } } }`;

type BoardAnswer = {
  board: { dataVersion: string; stale: boolean };
  edges: { node: { rank: number; subjectId: string; score: number } }[];
};

type Running = { store: Store; server: RunningServer; release: () => void };

let database: TestDatabase;
let keys: { viewer: string; governance: string };

/** A server as `quotient serve` runs it (boards persisted); `held`: its fact reads wait. */
async function serve(held: boolean): Promise<Running> {
  const store = await database.open({ entities: apiEntities });
  activePolicyFor(store).setClock(() => NOW);
  boardSnapshotsFor(store).enable();
  let release = () => {};
  if (held) {
    const reader = readServiceFor(store).reader;
    const sumFacts = reader.sumFacts;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    reader.sumFacts = async (...args) => {
      await gate;
      return sumFacts(...args);
    };
  }
  const server = await startServer({ store, port: 0, logger: pino({ level: 'silent' }) });
  return { store, server, release };
}

async function stop(running: Running): Promise<void> {
  running.release();
  await running.server.close();
  await running.store.close();
}

/** A board as `key` reads it: the current window, or `window` (e.g. "2026-10"). */
async function board(running: Running, key: string, window?: string): Promise<BoardAnswer> {
  const response = await fetch(`${running.server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: BOARD, variables: { w: window ?? null } }),
  });
  const body = (await response.json()) as { data?: { leaderboard: BoardAnswer }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data?.leaderboard as BoardAnswer;
}

async function storedWatermark(store: Store): Promise<string[]> {
  const rows = await store.query<{ watermark: string }>(
    'select watermark::text as watermark from board_snapshots order by watermark',
  );
  return rows.map((r) => r.watermark);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const store = await database.open({ entities: apiEntities });
  await loadTinyOrg(store);
  keys = {
    viewer: (await createApiKey(store.em(), { role: 'viewer', name: 'wall' })).key,
    governance: (await createApiKey(store.em(), { role: 'governance', name: 'gov' })).key,
  };
  await store.close();
}, 120_000);

afterAll(async () => {
  await database?.drop();
});

describe('persisted boards', () => {
  let evaluated: BoardAnswer;
  let firstWatermark: string;

  it('are written after an evaluation, with its watermark (and at shutdown)', async () => {
    const first = await serve(false);
    expect(await storedWatermark(first.store)).toEqual([]);
    evaluated = await board(first, keys.governance);
    expect(evaluated.board.stale).toBe(false);
    expect(evaluated.edges.map((e) => e.node.subjectId)).toContain('ana');
    firstWatermark = evaluated.board.dataVersion;
    await stop(first);
    const store = await database.open({ entities: apiEntities });
    // this window and the previous one, both at the data's watermark
    expect(await storedWatermark(store)).toEqual([firstWatermark, firstWatermark]);
    await store.close();
  });

  it('answer the first request of a restarted server, and lower roles masked', async () => {
    const restarted = await serve(true);
    // its start-up warm-up returns once the persisted boards are read, its loads held
    expect((await warmLeaderboards(restarted.store)).boards).toBe(1);
    // its own evaluation is held: the answers can only come from the persisted boards
    const named = await board(restarted, keys.governance);
    expect(named).toEqual(evaluated);
    const masked = await board(restarted, keys.viewer);
    expect(masked.board).toEqual({ dataVersion: firstWatermark, stale: false });
    const ids = masked.edges.map((e) => e.node.subjectId);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(/^anon-[0-9a-f]{12}$/);
    expect(masked.edges.map((e) => e.node.score)).toEqual(
      evaluated.edges.filter((e) => e.node.subjectId !== 'cy').map((e) => e.node.score),
    );
    await stop(restarted);
  });

  it('are served stale when the data moved on, and replaced by the newer evaluation', async () => {
    const restarted = await serve(true);
    const accepted = await ingestBatch(restarted.store, [
      {
        line: 1,
        data: {
          type: 'outcome',
          id: 'o-bo-late',
          ts: '2026-11-20T11:00:00Z',
          person: 'bo',
          task: 'late',
          outcome: 'accepted',
        },
      },
    ]);
    expect(accepted.results[0].status).toBe('accepted');
    const old = await board(restarted, keys.governance);
    expect(old.board).toEqual({ dataVersion: firstWatermark, stale: true });
    expect(old.edges).toEqual(evaluated.edges);

    restarted.release();
    // the held evaluation finishes; the next request waits for nothing and is fresh
    const { ruleSet } = await activePolicyFor(restarted.store).require();
    const cache = readServiceFor(restarted.store).cache;
    for (const clock of [NOW, previousClock(ruleSet, 'value', NOW)])
      await cache.evaluation(ruleSet, clock, undefined, 'boards');
    const fresh = await board(restarted, keys.governance);
    expect(fresh.board.stale).toBe(false);
    expect(BigInt(fresh.board.dataVersion)).toBeGreaterThan(BigInt(firstWatermark));
    const bo = (answer: BoardAnswer) => answer.edges.find((e) => e.node.subjectId === 'bo');
    expect(bo(fresh)?.node.score).toBeGreaterThan(bo(old)?.node.score ?? 0);
    await stop(restarted);

    const store = await database.open({ entities: apiEntities });
    const stored = await storedWatermark(store);
    expect(stored.map(BigInt).some((w) => w > BigInt(firstWatermark))).toBe(true);
    await store.close();
  });

  it('keep a newer watermark over a late older write', async () => {
    const store = await database.open({ entities: apiEntities });
    const row = { policyHash: 'h', clockStamp: '2026-11-20', snapshot: { n: 2 } };
    await saveBoardSnapshot(store, { ...row, watermark: '20' });
    await saveBoardSnapshot(store, { ...row, watermark: '10', snapshot: { n: 1 } });
    expect(await loadBoardSnapshot(store, 'h', '2026-11-20')).toMatchObject({
      watermark: '20',
      snapshot: { n: 2 },
    });
    await saveBoardSnapshot(store, { ...row, watermark: '30', snapshot: { n: 3 } });
    expect(await loadBoardSnapshot(store, 'h', '2026-11-20')).toMatchObject({
      watermark: '30',
      snapshot: { n: 3 },
    });
    await store.close();
  });
});

describe('persisted explanations', () => {
  const EXPLAINED = `{ leaderboard(name: "value", first: 10) {
    ... on LeaderboardConnection { edges { node { subjectId explanation { facts { name value } } } } } } }`;
  type Explained = { edges: { node: { subjectId: string; explanation: unknown } }[] };

  async function explained(running: Running): Promise<Explained> {
    const response = await fetch(`${running.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.governance}` },
      body: JSON.stringify({ query: EXPLAINED }),
    });
    const body = (await response.json()) as { data?: { leaderboard: Explained }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    return body.data?.leaderboard as Explained;
  }

  it('are stored apart from the ranks and answer as the evaluation did', async () => {
    const first = await serve(false);
    const evaluated = await explained(first);
    expect(evaluated.edges.length).toBeGreaterThan(0);
    await stop(first);
    const store = await database.open({ entities: apiEntities });
    const rows = await store.query<{
      snapshot: { boards: Record<string, { shown: object }> };
      explanations: string;
    }>("select snapshot, explanations from board_snapshots where policy_hash <> 'h'");
    expect(rows.some((row) => Object.keys(row.snapshot.boards.value.shown).length > 0)).toBe(true);
    for (const row of rows) {
      // the ranks' JSON names the shown entries without their explanations, which are
      // beside it, one for each (a window may have nobody on the board)
      const shown = row.snapshot.boards.value.shown;
      for (const entry of Object.values(shown)) expect(entry).not.toHaveProperty('explanation');
      const explained = JSON.parse(row.explanations) as Record<string, object>;
      expect(Object.keys(explained.value).sort()).toEqual(Object.keys(shown).sort());
    }
    await store.close();
    // a restarted server whose own evaluation is held answers from the stored text
    const restarted = await serve(true);
    await warmLeaderboards(restarted.store);
    expect(await explained(restarted)).toEqual(evaluated);
    await stop(restarted);
  });

  it('still answer from a row written with them inline', async () => {
    const store = await database.open({ entities: apiEntities });
    const rows = await store.query<{
      policy_hash: string;
      clock_stamp: string;
      snapshot: { boards: Record<string, { shown: Record<string, object> }> };
      explanations: string;
    }>(
      "select policy_hash, clock_stamp, snapshot, explanations from board_snapshots where policy_hash <> 'h'",
    );
    for (const row of rows) {
      const explanations = JSON.parse(row.explanations) as Record<string, Record<string, object>>;
      for (const [board, b] of Object.entries(row.snapshot.boards))
        for (const [id, entry] of Object.entries(b.shown))
          b.shown[id] = { ...entry, explanation: explanations[board][id] };
      await store.query(
        'update board_snapshots set snapshot = $1::json, explanations = null where policy_hash = $2 and clock_stamp = $3',
        [JSON.stringify(row.snapshot), row.policy_hash, row.clock_stamp],
      );
    }
    await store.close();
    const first = await serve(true);
    await warmLeaderboards(first.store);
    const inline = await explained(first);
    first.release();
    // the server's own evaluation, once it has finished, answers the same
    const { ruleSet } = await activePolicyFor(first.store).require();
    const cache = readServiceFor(first.store).cache;
    for (const clock of [NOW, previousClock(ruleSet, 'value', NOW)])
      await cache.evaluation(ruleSet, clock, undefined, 'boards');
    expect(await explained(first)).toEqual(inline);
    expect(inline.edges.length).toBeGreaterThan(0);
    await stop(first);
  });
});

describe('persisted boards of past windows', () => {
  it('get the window before the previous one evaluated and persisted at start when none was', async () => {
    // as for a newly activated version: nothing persisted under the active policy
    const clean = await database.open({ entities: apiEntities });
    await clean.query('delete from board_snapshots');
    await clean.close();
    const running = await serve(false);
    const { evaluated } = await warmLeaderboards(running.store);
    await evaluated;
    const { hash } = await activePolicyFor(running.store).require();
    await stop(running);
    const store = await database.open({ entities: apiEntities });
    const stamps = await store.query<{ clock_stamp: string }>(
      'select clock_stamp from board_snapshots where policy_hash = $1 order by clock_stamp',
      [hash],
    );
    // now (November), the previous window (October) and the one before it (September)
    expect(stamps.map((r) => r.clock_stamp)).toEqual(['2026-09-30', '2026-10-31', '2026-11-20']);
    await store.close();
  });

  // last: it deletes the persisted boards the tests above read
  it("answer the previous window's board on a restarted server, the window before it read at start", async () => {
    // a server asked for October's board evaluates and persists October and September
    const first = await serve(false);
    const october = await board(first, keys.governance, '2026-10');
    expect(october.edges.length).toBeGreaterThan(0);
    await stop(first);
    const restarted = await serve(true);
    await warmLeaderboards(restarted.store);
    // gone from the database: only what the start-up read can answer now (the server's
    // own evaluation is held, so an unread window would wait for it)
    await restarted.store.query('delete from board_snapshots');
    expect(await board(restarted, keys.governance, '2026-10')).toEqual(october);
    await stop(restarted);
  });
});
