// `quotient serve` evaluates the boards into the cache as it starts, so the first board
// request of a large organisation need not wait for a whole-org evaluation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { readServiceFor, warmLeaderboards } from '../../src/api/loaders.ts';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { loadTinyOrg, NOW } from '../engine/fixture.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => NOW);
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('warming the leaderboards', () => {
  it('does nothing without an active policy', async () => {
    expect((await warmLeaderboards(api.store)).boards).toBe(0);
  });

  it('evaluates this and the previous window, so the first request finds them cached', async () => {
    await loadTinyOrg(api.store);
    const cache = readServiceFor(api.store).cache;
    const before = cache.stats();
    expect((await warmLeaderboards(api.store)).boards).toBeGreaterThan(0);
    const warmed = cache.stats();
    // now and the board's previous window: two evaluations
    expect(warmed.misses - before.misses).toBe(2);

    const viewer = (await createApiKey(api.store.em(), { role: 'viewer', name: 'wall' })).key;
    const res = await api.gql<{ leaderboard: { edges?: unknown[] } }>(
      viewer,
      '{ leaderboard(name: "value", first: 5) { ... on LeaderboardConnection { edges { cursor } } } }',
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.leaderboard.edges?.length).toBeGreaterThan(0);
    const after = cache.stats();
    expect(after.misses).toBe(warmed.misses);
    expect(after.hits - warmed.hits).toBe(2);
  });
});
