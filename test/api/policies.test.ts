// Policies over GraphQL: check without saving, publish (or the diagnostics), activate and
// roll back in one transaction each, recorded in the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

const policy = (version: string, price = '1.00') => `policy "tiny" version "${version}"
currency USD
class standard "General"
model "m1" class standard price { input ${price} output 2.00 }
tier baseline "Everyone" { limit 1M tokens per month models standard }
assign baseline otherwise
`;
const BROKEN = `policy "tiny" version "bad"
tier { limit 1M tokens per month }
`;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.stop();
});

const PUBLISH = `mutation($s: String!, $a: Boolean, $m: String) {
  publishPolicy(source: $s, activate: $a, message: $m) {
    __typename
    ... on PolicyVersion { id version status hash author note: message parent { id } }
    ... on PolicyInvalid { code message diagnostics { severity code message start { line column } } }
  }
}`;

describe('policies', () => {
  it('checks text without saving it', async () => {
    const ok = await api.gql(
      api.keys.viewer.key,
      'query($s: String!) { checkPolicy(source: $s) { ok hash diagnostics { code } } }',
      {
        s: policy('v1'),
      },
    );
    expect(ok.body.data).toMatchObject({ checkPolicy: { ok: true, diagnostics: [] } });
    expect((ok.body.data as { checkPolicy: { hash: string } }).checkPolicy.hash).toMatch(
      /^[0-9a-f]{64}$/,
    );
    const bad = await api.gql(
      api.keys.viewer.key,
      'query($s: String!) { checkPolicy(source: $s) { ok hash diagnostics { code start { line } } } }',
      {
        s: BROKEN,
      },
    );
    expect(bad.body.data).toMatchObject({ checkPolicy: { ok: false, hash: null } });
    const stored = await api.store.query('select id from policy_versions');
    expect(stored).toEqual([]);
  });

  it('returns PolicyInvalid with located diagnostics instead of publishing broken text', async () => {
    const res = await api.gql(api.keys.governance.key, PUBLISH, { s: BROKEN });
    const result = (res.body.data as { publishPolicy: Record<string, unknown> }).publishPolicy;
    expect(result.__typename).toBe('PolicyInvalid');
    expect(result.code).toBe('POLICY_INVALID');
    expect(result.message).toMatch(/^policy has \d+ errors?; first at 2:6: /);
    expect(result.diagnostics).toContainEqual(
      expect.objectContaining({ severity: 'error', start: { line: 2, column: 6 } }),
    );
    expect(await api.store.query('select id from policy_versions')).toEqual([]);
  });

  it('publishes, activates and rolls back, auditing each step', async () => {
    const v1 = await api.gql(api.keys.governance.key, PUBLISH, {
      s: policy('v1'),
      a: true,
      m: 'first',
    });
    expect(v1.body.data).toMatchObject({
      publishPolicy: {
        __typename: 'PolicyVersion',
        id: 1,
        version: 'v1',
        status: 'active',
        note: 'first',
        parent: null,
      },
    });
    const v2 = await api.gql(api.keys.governance.key, PUBLISH, { s: policy('v2', '3.00') });
    expect(v2.body.data).toMatchObject({
      publishPolicy: { id: 2, version: 'v2', status: 'draft', parent: { id: 1 } },
    });
    const author = (v2.body.data as { publishPolicy: { author: string } }).publishPolicy.author;
    expect(author).toBe(`test governance (${api.keys.governance.id})`);

    const activate = `mutation($v: String) { activatePolicy(version: $v) {
      __typename ... on MutationActivatePolicySuccess { data { id status } } ... on NotFound { message } } }`;
    expect((await api.gql(api.keys.governance.key, activate, { v: 'v2' })).body.data).toEqual({
      activatePolicy: {
        __typename: 'MutationActivatePolicySuccess',
        data: { id: 2, status: 'active' },
      },
    });
    const active = await api.gql(
      api.keys.member.key,
      '{ activePolicy { id version } policies { edges { node { id status } } } }',
    );
    expect(active.body.data).toEqual({
      activePolicy: { id: 2, version: 'v2' },
      policies: {
        edges: [{ node: { id: 2, status: 'active' } }, { node: { id: 1, status: 'retired' } }],
      },
    });
    // rollback: activate the older version
    await api.gql(api.keys.admin.key, activate, { v: 'v1' });
    const states = await api.store.query<{ id: number; status: string }>(
      'select id, status from policy_versions order by id',
    );
    expect(states).toEqual([
      { id: 1, status: 'active' },
      { id: 2, status: 'retired' },
    ]);
    // who activated each, as every reader sees it beside when
    const who = await api.gql(
      api.keys.viewer.key,
      '{ policies { edges { node { id activatedBy activatedAt } } } }',
    );
    const nodes = (
      who.body.data as {
        policies: { edges: { node: { id: number; activatedBy: string; activatedAt: string } }[] };
      }
    ).policies.edges.map((e) => e.node);
    expect(nodes.map((n) => [n.id, n.activatedBy])).toEqual([
      [2, `test governance (${api.keys.governance.id})`],
      [1, `test admin (${api.keys.admin.id})`],
    ]);
    expect(nodes.every((n) => n.activatedAt !== null)).toBe(true);
    const unknown = await api.gql(api.keys.governance.key, activate, { v: 'v9' });
    expect(unknown.body.data).toEqual({
      activatePolicy: { __typename: 'NotFound', message: 'policy version "v9" not found' },
    });

    const audit = await api.store.query<{ actor: string; action: string; subject: string }>(
      "select actor, action, subject from audit_log where action like 'policy.%' order by id",
    );
    expect(audit).toEqual([
      { actor: api.keys.governance.id, action: 'policy.publish', subject: 'policy#1' },
      { actor: api.keys.governance.id, action: 'policy.activate', subject: 'policy#1' },
      { actor: api.keys.governance.id, action: 'policy.publish', subject: 'policy#2' },
      { actor: api.keys.governance.id, action: 'policy.activate', subject: 'policy#2' },
      { actor: api.keys.admin.id, action: 'policy.rollback', subject: 'policy#1' },
    ]);
  });

  it('reads one version by id or label', async () => {
    const res = await api.gql(
      api.keys.viewer.key,
      `{
      byId: policy(id: 2) { ... on QueryPolicySuccess { data { version source } } }
      byLabel: policy(version: "v1") { ... on QueryPolicySuccess { data { id } } }
      missing: policy(id: 99) { __typename ... on NotFound { code what key } }
    }`,
    );
    expect(res.body.data).toEqual({
      byId: { data: { version: 'v2', source: policy('v2', '3.00') } },
      byLabel: { data: { id: 1 } },
      missing: { __typename: 'NotFound', code: 'NOT_FOUND', what: 'policy version', key: '#99' },
    });
  });
});
