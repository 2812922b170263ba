// /metrics end to end: a real server on a real database, the text parsed with a Prometheus
// text-format parser, and each family checked against figures computed by hand from the
// rows sent. Budgets obey the privacy rules of roles below governance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { budgetHoldsFor } from '../../src/app/budget-holds.ts';
import { escalationEventsFor } from '../../src/app/escalation-events.ts';
import { readServiceFor } from '../../src/app/reads.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { addWebhook } from '../../src/store/webhooks.ts';
import { type PromFamily, parsePrometheusText } from '../support/prometheus-text.ts';
import { startTestApi, type TestApi } from './support.ts';

const POLICY = `
policy "metrics-test" version "m1"
currency USD
timezone "UTC"
privacy { min_group_size 3 }
class standard "General"
model "claude-sonnet-4-5" class standard price { input 3.00 output 15.00 }
tier baseline "Everyone" { limit 1M tokens per month models standard }
assign baseline otherwise
budget each team { 1,000 USD per month }
budget person "ana@acme.test" { 100 USD per month }
budget org { 5,000 USD per month }
escalation quota {
  at 70%  notify person "70% of your monthly tokens used"
  at 90%  require justification
  at 100% require approval by manager
}
`;

const METRICS_KEY = 'metrics-key-for-tests-0123456789';

let api: TestApi;

async function scrape(key = METRICS_KEY, url = api.server.metricsUrl as string) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parsePrometheusText(await response.text());
}

/** The value of the one sample named `name` whose labels include `labels`. */
function value(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string>,
  sampleName = name,
) {
  const found = families
    .get(name)
    ?.samples.filter(
      (s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  if (found && found.length > 1)
    throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found?.[0]?.value;
}

async function gql(key: string, query: string, variables?: Record<string, unknown>) {
  const res = await api.gql(key, query, variables);
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data as Record<string, unknown>;
}

beforeAll(async () => {
  api = await startTestApi({ metrics: { key: METRICS_KEY } });
  activePolicyFor(api.store).setClock(() => new Date('2026-10-20T12:00:00Z'));
  await gql(
    api.keys.admin.key,
    `mutation($teams: [TeamInput!], $people: [PersonInput!]) {
      upsertDirectory(teams: $teams, people: $people) { __typename }
    }`,
    {
      teams: [
        { team: 'platform', name: 'Platform', owner: 'bo@acme.test' },
        { team: 'legal', name: 'Legal', sensitivity: 'restricted', owner: 'cy@acme.test' },
      ],
      people: [
        { person: 'ana@acme.test', team: 'platform', manager: 'bo@acme.test' },
        { person: 'bo@acme.test', team: 'platform' },
        { person: 'di@acme.test', team: 'platform', manager: 'bo@acme.test' },
        { person: 'cy@acme.test', team: 'legal' },
      ],
    },
  );
  await gql(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
}, 60_000);

afterAll(async () => {
  await escalationEventsFor(api.store).close();
  await api?.stop();
});

describe('/metrics', () => {
  it('asks for the metrics key or an admin key', async () => {
    const url = api.server.metricsUrl as string;
    expect((await fetch(url)).status).toBe(401);
    const member = await fetch(url, {
      headers: { authorization: `Bearer ${api.keys.member.key}` },
    });
    expect(member.status).toBe(403);
    expect(await member.text()).toContain('not a member key');
    expect(
      (await fetch(url, { headers: { authorization: 'Bearer wrong-metrics-key' } })).status,
    ).toBe(401);
    await scrape(api.keys.admin.key);
    await scrape(METRICS_KEY);
  });

  it('counts ingest by source and status, decisions by outcome, requests by operation', async () => {
    const before = await scrape();
    const accepted0 = value(before, 'quotient_ingest_events_total', {
      source: 'api',
      status: 'accepted',
    });
    // 1M input tokens of sonnet = 3 USD (ana); 2M output = 30 USD (di); 1M output = 15 USD (cy)
    const rows = [
      {
        id: 'm-1',
        ts: '2026-10-05T10:00:00Z',
        person: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 1_000_000,
        outputTokens: 0,
      },
      {
        id: 'm-2',
        ts: '2026-10-05T10:00:00Z',
        person: 'di@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 0,
        outputTokens: 2_000_000,
      },
      {
        id: 'm-3',
        ts: '2026-10-05T10:00:00Z',
        person: 'cy@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 0,
        outputTokens: 1_000_000,
      },
      // the same id again: a duplicate
      {
        id: 'm-1',
        ts: '2026-10-05T10:00:00Z',
        person: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 1_000_000,
        outputTokens: 0,
      },
      // far in the future: rejected
      {
        id: 'm-4',
        ts: '2999-01-01T00:00:00Z',
        person: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        inputTokens: 5,
        outputTokens: 0,
      },
    ];
    const ingested = await gql(
      api.keys.ingest.key,
      'mutation Ingest($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted duplicates rejected } } }',
      { rows },
    );
    expect(ingested.recordUsage).toEqual({ accepted: 3, duplicates: 1, rejected: 1 });
    for (let i = 0; i < 2; i++)
      await gql(
        api.keys.ingest.key,
        'query Gate { checkQuota(person: "di@acme.test", model: "claude-sonnet-4-5", estimatedTokens: 10) { ... on QuotaCheck { decision } } }',
      );
    const after = await scrape();
    expect(
      value(after, 'quotient_ingest_events_total', { source: 'api', status: 'accepted' }),
    ).toBe((accepted0 ?? 0) + 3);
    expect(
      value(after, 'quotient_ingest_events_total', { source: 'api', status: 'duplicate' }),
    ).toBe(1);
    expect(
      value(after, 'quotient_ingest_events_total', { source: 'api', status: 'rejected' }),
    ).toBe(1);
    // di used 2M of 1M: +10 tokens is past 100% (approval) but the ladder has no block step
    expect(value(after, 'quotient_quota_decisions_total', { decision: 'require_approval' })).toBe(
      2,
    );
    expect(
      value(after, 'quotient_http_requests_total', {
        endpoint: '/graphql',
        operation: 'Gate',
        status: '200',
      }),
    ).toBe(2);
    const H = 'quotient_http_request_duration_seconds';
    const gate = { endpoint: '/graphql', operation: 'Gate' };
    expect(value(after, H, gate, `${H}_count`)).toBe(2);
    expect(value(after, H, { ...gate, le: '+Inf' }, `${H}_bucket`)).toBe(2);
    expect(value(after, H, gate, `${H}_sum`)).toBeGreaterThan(0);
    expect(value(after, 'quotient_db_pool_connections', { state: 'max' })).toBe(
      api.store.maxConnections,
    );
  });

  it('reads escalations by step and queue depths, and budgets without restricted or personal figures', async () => {
    await addWebhook(api.store, 'all', 'http://127.0.0.1:9/unreachable', 'secret-for-tests');
    expect((await reevaluationFor(api.store).sweep()).created).toBe(9);
    const families = await scrape();
    // ana and cy used 1M of 1M (100%), di 2M (200%): each crossed 70, 90 and 100
    for (const [step, action] of [
      ['quota at 70%', 'notify'],
      ['quota at 90%', 'require_justification'],
      ['quota at 100%', 'require_approval'],
    ]) {
      expect(value(families, 'quotient_escalations', { step, action, status: 'open' })).toBe(3);
      expect(value(families, 'quotient_escalations_opened_total', { step, action })).toBe(3);
    }
    // one outbox row per escalation for the `all` webhook; no worker runs in this test
    expect(value(families, 'quotient_queue_depth', { queue: 'outbox_pending' })).toBe(9);
    expect(value(families, 'quotient_queue_depth', { queue: 'outbox_failed' })).toBe(0);
    expect(
      value(families, 'quotient_queue_depth', { queue: 'reevaluation' }),
    ).toBeGreaterThanOrEqual(0);

    // platform (3 people ≥ min_group_size 3): 3 + 30 = 33 USD of 1,000
    expect(
      value(families, 'quotient_budget_spent', { budget: 'each team', team: 'platform' }),
    ).toBeCloseTo(33, 6);
    expect(
      value(families, 'quotient_budget_limit', { budget: 'each team', team: 'platform' }),
    ).toBe(1000);
    const spent = families.get('quotient_budget_spent')?.samples ?? [];
    // nothing about legal (restricted), nothing per person, and no org total: org − platform
    // would be exactly legal's spend
    expect(spent.map((m) => m.labels.team)).toEqual(['platform']);
    expect(
      value(families, 'quotient_budget_withheld', { reason: 'small_or_restricted_team' }),
    ).toBe(1);
    expect(value(families, 'quotient_budget_withheld', { reason: 'person' })).toBe(1);
    expect(value(families, 'quotient_budget_withheld', { reason: 'org_complement' })).toBe(1);
  });

  it('times the budget passes that weighed something', async () => {
    const H = 'quotient_budget_pass_duration_seconds';
    const count = (families: Map<string, PromFamily>) => value(families, H, {}, `${H}_count`) ?? 0;
    const before = count(await scrape());
    await gql(
      api.keys.ingest.key,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { __typename } }',
      {
        rows: [
          {
            id: 'm-pass-1',
            ts: '2026-10-06T10:00:00Z',
            person: 'di@acme.test',
            model: 'claude-sonnet-4-5',
            inputTokens: 1_000,
            outputTokens: 0,
          },
        ],
      },
    );
    const pass = await budgetHoldsFor(api.store).refresh();
    expect(pass.teams + pass.org).toBeGreaterThan(0);
    expect(count(await scrape())).toBeGreaterThan(before);
  });

  it("exports the budget passes' figures and their age, and never evaluates the organisation to answer", async () => {
    const cache = readServiceFor(api.store).cache;
    const platform = { budget: 'each team', team: 'platform' };
    const evaluations = () => {
      const s = cache.stats();
      return s.hits + s.misses + s.stale;
    };
    const lookups = evaluations();
    const before = await scrape();
    const spent0 = value(before, 'quotient_budget_spent', platform) as number;
    expect(spent0).toBeGreaterThan(33);
    // the clock has not moved since the last pass
    expect(value(before, 'quotient_budget_figures_age_seconds', {})).toBe(0);
    // 10,000 input tokens of sonnet = 0.03 USD, not yet folded by a pass
    await gql(
      api.keys.ingest.key,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { __typename } }',
      {
        rows: [
          {
            id: 'm-figures-1',
            ts: '2026-10-07T10:00:00Z',
            person: 'bo@acme.test',
            model: 'claude-sonnet-4-5',
            inputTokens: 10_000,
            outputTokens: 0,
          },
        ],
      },
    );
    const unfolded = await scrape();
    expect(value(unfolded, 'quotient_budget_spent', platform)).toBe(spent0);
    expect(evaluations()).toBe(lookups);

    const clock = activePolicyFor(api.store);
    const passedAt = new Date('2026-10-20T12:00:00Z');
    try {
      await budgetHoldsFor(api.store).refresh();
      clock.setClock(() => new Date(passedAt.getTime() + 90_000));
      const after = await scrape();
      expect(value(after, 'quotient_budget_spent', platform)).toBeCloseTo(spent0 + 0.03, 6);
      expect(value(after, 'quotient_budget_figures_age_seconds', {})).toBe(90);
    } finally {
      clock.setClock(() => passedAt);
    }
    expect(evaluations()).toBe(lookups);
  });

  it('serves the metrics on a separate port without a key when asked to', async () => {
    const apart = await startTestApi({ metrics: { port: 0 } });
    try {
      expect(apart.server.metricsUrl).not.toContain(`:${apart.server.port}/`);
      const response = await fetch(apart.server.metricsUrl as string);
      expect(response.status).toBe(200);
      const families = parsePrometheusText(await response.text());
      expect(families.get('quotient_queue_depth')?.type).toBe('gauge');
      // and the API port no longer answers it
      expect((await fetch(`${apart.url}/metrics`)).status).toBe(404);
    } finally {
      await apart.stop();
    }
  });
});
