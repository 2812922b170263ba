// The pricing API over HTTP: unpricedModels by role (governance sees all with people
// counts, a viewer only names used by min_group_size people, a member is refused), and
// repriceUsage for governance only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi } from './support.ts';

const POLICY = `policy "p" version "1"
currency USD
timezone "UTC"
privacy { min_group_size 2 }
class standard "S"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
tier t "T" { limit 1M tokens per month }
assign t otherwise
`;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
  await publishPolicySource(api.store, { source: POLICY, activate: true });
  const usage = (id: string, person: string, model: string) => ({
    line: 0,
    data: { type: 'usage', id, ts: '2026-11-20T10:00:00Z', person, model, input_tokens: 1000 },
  });
  await ingestBatch(
    api.store,
    [
      usage('a', 'ana@acme.test', 'claude-sonnet-4-5-20250929'),
      usage('b', 'bo@acme.test', 'claude-sonnet-4-5-20250929'),
      usage('c', 'cy@acme.test', 'rare-model'),
    ],
    { now: Date.parse('2026-11-22T00:00:00Z') },
  );
});
afterAll(async () => {
  await api?.stop();
});

const QUERY = `{ unpricedModels {
  __typename
  ... on QueryUnpricedModelsSuccess { data { model events people declaration } }
  ... on Forbidden { message }
} }`;

describe('unpricedModels', () => {
  it('lists every name with people counts for governance', async () => {
    const res = await api.gql(api.keys.governance.key, QUERY);
    expect(res.body.data?.unpricedModels).toEqual({
      __typename: 'QueryUnpricedModelsSuccess',
      data: [
        {
          model: 'claude-sonnet-4-5-20250929',
          events: 2,
          people: 2,
          declaration: 'add "claude-sonnet-4-5-2*" to the matches of model "claude-sonnet-4-5"',
        },
        {
          model: 'rare-model',
          events: 1,
          people: 1,
          declaration: 'model "rare-model" class <class> price { input <per 1M> output <per 1M> }',
        },
      ],
    });
  });

  it('shows a viewer only names used by min_group_size people, and refuses a member', async () => {
    const viewer = await api.gql(api.keys.viewer.key, QUERY);
    const rows = (
      viewer.body.data!.unpricedModels as { data: { model: string; people: unknown }[] }
    ).data;
    expect(rows.map((r) => [r.model, r.people])).toEqual([['claude-sonnet-4-5-20250929', null]]);
    const member = await api.gql(api.keys.member.key, QUERY);
    expect(member.body.data?.unpricedModels).toMatchObject({ __typename: 'Forbidden' });
  });
});

describe('repriceUsage', () => {
  const MUTATION = `mutation { repriceUsage {
    __typename
    ... on MutationRepriceUsageSuccess { data { days events changed unpriced costBefore costAfter } }
  } }`;

  it('is refused below governance and reprices for governance', async () => {
    const viewer = await api.gql(api.keys.viewer.key, MUTATION);
    expect(viewer.body.errors?.length ?? 0).toBeGreaterThan(0);
    await publishPolicySource(api.store, {
      source: POLICY.replace(
        'class standard price',
        'class standard matches "claude-sonnet-4-5-2*" price',
      ),
      activate: true,
    });
    const res = await api.gql(api.keys.governance.key, MUTATION);
    // 2 × 1,000 × $3 per 1M
    expect(res.body.data?.repriceUsage).toEqual({
      __typename: 'MutationRepriceUsageSuccess',
      data: {
        days: 1,
        events: 3,
        changed: 2,
        unpriced: 1,
        costBefore: '0.000000000000',
        costAfter: '0.006000000000',
      },
    });
  });
});
