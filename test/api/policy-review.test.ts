// policyDiff and policyImpact over real HTTP: stored versions and source text as sides,
// masked identities below governance, typed errors for unknown versions and windows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { startTestApi, type TestApi } from './support.ts';

const OLD = `policy "tiny" version "A"
currency USD
timezone "UTC"
class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }
tier small "Small" { limit 1M tokens per month models standard }
tier big "Big" { limit 10M tokens per month models standard }
assign big when role == "engineer"
assign small otherwise
`;
const NEW = OLD.replace('version "A"', 'version "B"')
  .replace('input 1.00', 'input 2.00')
  .replace('role == "engineer"', 'role == "engineer" and team == "core"');

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
  await publishPolicySource(api.store, { source: OLD, activate: true });
  await publishPolicySource(api.store, { source: NEW });
  const rows = [
    { type: 'team', team: 'core' },
    { type: 'team', team: 'ops' },
    { type: 'person', person: 'ana@acme.test', team: 'core', role: 'engineer' },
    { type: 'person', person: 'di@acme.test', team: 'ops', role: 'engineer' },
    ...['ana', 'di'].map((p) => ({
      type: 'usage',
      id: `u-${p}`,
      ts: '2026-09-10T10:00:00Z',
      person: `${p}@acme.test`,
      model: 'm1',
      input_tokens: 1_000_000,
      output_tokens: 0,
    })),
  ].map((data, i) => ({ line: i + 1, data }));
  await ingestBatch(api.store, rows, { now: Date.parse('2026-11-22T12:00:00Z') });
}, 60_000);
afterAll(async () => {
  await api?.stop();
});

const DIFF = `query($from: PolicySideInput!, $to: PolicySideInput!) {
  policyDiff(from: $from, to: $to) {
    __typename
    ... on QueryPolicyDiffSuccess { data { equivalent semanticChanges from { label } changes { construct kind subject fields { field before after } } markdown } }
    ... on NotFound { code message }
    ... on PolicyInvalid { code }
  }
}`;

const IMPACT = `query($from: PolicySideInput!, $to: PolicySideInput!, $w: String!) {
  policyImpact(from: $from, to: $to, window: $w) {
    __typename
    ... on QueryPolicyImpactSuccess { data { hasData message identities tierChanges tierTransitions { from to count }
      tierMoves { person { id masked } from to } cost markdown html groups
      consequences { action before after newly noLonger } } }
    ... on InvalidWindow { code message window }
    ... on NotFound { code }
    ... on Forbidden { code }
  }
}`;

type Data = Record<
  string,
  { __typename: string; data?: Record<string, unknown>; code?: string; message?: string }
>;

describe('policy review over GraphQL', () => {
  it('diffs stored versions and unpublished source', async () => {
    const res = await api.gql<Data>(api.keys.viewer.key, DIFF, {
      from: { version: 'v1' },
      to: { source: NEW },
    });
    const d = res.body.data?.policyDiff.data as Record<string, unknown>;
    expect(d.equivalent).toBe(false);
    expect(d.semanticChanges).toBe(2);
    expect(d.changes).toContainEqual({
      construct: 'prices',
      kind: 'changed',
      subject: 'model "m1"',
      fields: [{ field: 'input', before: '1.00', after: '2.00' }],
    });
    expect(String(d.markdown)).toMatch(/^# Policy review/);
    const same = await api.gql<Data>(api.keys.viewer.key, DIFF, {
      from: { version: 'A' },
      to: { source: OLD },
    });
    expect(same.body.data?.policyDiff.data).toMatchObject({ equivalent: true, semanticChanges: 0 });
  });

  it('names unknown versions and rejects broken source', async () => {
    const res = await api.gql<Data>(api.keys.viewer.key, DIFF, {
      from: { version: 'v9' },
      to: { version: 'v1' },
    });
    expect(res.body.data?.policyDiff).toMatchObject({ __typename: 'NotFound', code: 'NOT_FOUND' });
    const bad = await api.gql<Data>(api.keys.viewer.key, DIFF, {
      from: { version: 'v1' },
      to: { source: 'tier {' },
    });
    expect(bad.body.data?.policyDiff).toMatchObject({ __typename: 'PolicyInvalid' });
  });

  it('replays a window, masked for viewers and named for governance', async () => {
    const viewer = await api.gql<Data>(api.keys.viewer.key, IMPACT, {
      from: { version: 'v1' },
      to: { version: 'v2' },
      w: '2026-Q3',
    });
    const v = viewer.body.data?.policyImpact.data as Record<string, unknown>;
    // both teams have one person, under min_group_size: below governance the replay covers
    // visible teams only, so there is nothing to show and no person is listed
    expect(v).toMatchObject({ identities: 'masked', tierChanges: 0, tierMoves: [] });
    expect(JSON.stringify(v)).not.toContain('@acme.test');
    // policy text the caller wrote is never replayed over real data below governance
    const own = await api.gql<Data>(api.keys.viewer.key, IMPACT, {
      from: { version: 'v1' },
      to: { source: NEW },
      w: '2026-Q3',
    });
    expect(own.body.data?.policyImpact).toMatchObject({ __typename: 'Forbidden' });
    const gov = await api.gql<Data>(api.keys.governance.key, IMPACT, {
      from: { version: 'v1' },
      to: { version: 'v2' },
      w: '2026-Q3',
    });
    const g = gov.body.data?.policyImpact.data as Record<string, unknown>;
    expect(g.identities).toBe('named');
    expect(g.tierMoves).toEqual([
      { person: { id: 'di@acme.test', masked: false }, from: 'big', to: 'small' },
    ]);
    expect((g.consequences as { action: string }[]).map((c) => c.action)).toEqual([
      'block',
      'require_approval',
      'require_justification',
      'notify',
    ]);
    expect(String(g.html)).toMatch(/^<!doctype html>/);
    expect(String(g.markdown)).toContain('## By team and role');
    expect(v.groups).toEqual({ byTeam: [], byRole: [] });
    const audit = await api.store.query<{ action: string }>(
      "select action from audit_log where action = 'policy.impact'",
    );
    expect(audit.length).toBeGreaterThan(0);
  });

  it('publishing a meaning that is already stored says "no semantic change"', async () => {
    const relaid = `# same meaning, new layout\n${OLD.replace('version "A"', 'version "A2"')}`;
    const res = await api.gql<Data>(
      api.keys.governance.key,
      'mutation($s: String!) { publishPolicy(source: $s) { __typename ... on PolicyUnchanged { code message existingId existingVersion } } }',
      { s: relaid },
    );
    expect(res.body.data?.publishPolicy).toMatchObject({
      __typename: 'PolicyUnchanged',
      code: 'NO_SEMANTIC_CHANGE',
      existingId: 1,
      existingVersion: 'A',
    });
    expect(res.body.data?.publishPolicy.message).toMatch(/^no semantic change/);
    const count = await api.store.query<{ n: number }>(
      'select count(*)::int as n from policy_versions',
    );
    expect(count[0].n).toBe(2);
  });

  it('says when a window has no usage, and names a bad window', async () => {
    const empty = await api.gql<Data>(api.keys.viewer.key, IMPACT, {
      from: { version: 'v1' },
      to: { version: 'v2' },
      w: '2026-Q1',
    });
    expect(empty.body.data?.policyImpact.data).toMatchObject({
      hasData: false,
      message: expect.stringMatching(/^no usage in window 2026-Q1/),
    });
    const bad = await api.gql<Data>(api.keys.viewer.key, IMPACT, {
      from: { version: 'v1' },
      to: { version: 'v2' },
      w: 'next-decade',
    });
    expect(bad.body.data?.policyImpact).toMatchObject({
      __typename: 'InvalidWindow',
      code: 'INVALID_WINDOW',
      window: 'next-decade',
    });
  });
});
