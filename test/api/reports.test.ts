// myReports: the manager view over a real server. Bo manages ana, di and ed (fay names no
// manager): Bo's member key sees those three named, with quota band and use, this month's
// metrics and a weekly trend (figures by hand from chargeback-fixture.ts plus one December
// row), and every read is audited. Someone who manages nobody sees nobody; a key bound to
// no person, a viewer and a bad trend length are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { auditTrailFor } from '../../src/app/audit.ts';
import { loadChargebackFixture } from './chargeback-fixture.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
let boKey = '';

beforeAll(async () => {
  api = await startTestApi();
  await loadChargebackFixture(api);
  boKey = (
    await createApiKey(api.store.em(), { role: 'member', name: 'bo', person: 'bo@acme.test' })
  ).key;
  // December to date (the clock is 5 December): ana uses 2.4M of her 4M tokens (60%: yellow)
  const december = await api.gql(
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: [
        {
          id: 'd1',
          ts: '2026-12-02T09:00:00Z',
          person: 'ana@acme.test',
          model: 'm1',
          inputTokens: 2_400_000,
          outputTokens: 0,
        },
      ],
    },
  );
  expect(december.body.data).toEqual({ recordUsage: { accepted: 1 } });
}, 120_000);
afterAll(async () => {
  await api?.stop();
});

type Point = { bucket: string; values: { metric: string; value: number }[] };
type Report = {
  id: string;
  name: string | null;
  team: string | null;
  band: string | null;
  quotaPercent: number | null;
  quotaUsed: number | null;
  quotaLimit: number | null;
  month: Point | null;
  trend: Point[];
};

async function myReports(key: string, weeks?: number) {
  const res = await api.gql<{
    myReports: {
      __typename: string;
      data?: { manager: string; metrics: string[]; trendFrom: string; reports: Report[] };
      message?: string;
    };
  }>(
    key,
    `query($w: Int) { myReports(weeks: $w) { __typename
      ... on QueryMyReportsSuccess { data { manager metrics trendFrom
        reports { id name team band quotaPercent quotaUsed quotaLimit
          month { bucket values { metric value } }
          trend { bucket values { metric value } } } } }
      ... on Problem { message } } }`,
    { w: weeks },
  );
  return res;
}

const value = (p: Point | null | undefined, metric: string) =>
  p?.values.find((v) => v.metric === metric)?.value;

describe('myReports', () => {
  it('shows a manager their direct reports named, with band, quota use, metrics and trend', async () => {
    const res = await myReports(boKey, 6);
    expect(res.body.errors).toBeUndefined();
    const data = res.body.data?.myReports.data;
    expect(data?.manager).toBe('bo@acme.test');
    expect(data?.trendFrom).toBe('2026-10-26');
    expect(data?.reports.map((r) => [r.id, r.name, r.team])).toEqual([
      ['ana@acme.test', 'Ana Ruiz', 'platform'],
      ['di@acme.test', 'Di Novak', 'platform'],
      ['ed@acme.test', 'Ed Park', 'routing'],
    ]);
    const ana = data?.reports[0] as Report;
    expect(ana).toMatchObject({
      band: 'yellow',
      quotaPercent: 60,
      quotaUsed: 2_400_000,
      quotaLimit: 4_000_000,
    });
    // December to date: 2.4M tokens, no task; 2.40 USD over max(0 accepted, 1)
    expect(ana.month?.bucket).toBe('2026-12-01');
    expect(value(ana.month, 'tokens_per_task')).toBe(2_400_000);
    expect(value(ana.month, 'cost_per_accepted')).toBeCloseTo(2.4, 10);
    // weeks from 26 October: 31 Oct 1M tokens; 3 accepted of 3 over 1.5M; 1 rejected over
    // 110k; two quiet weeks; 2.4M this week
    expect(
      ana.trend.map((p) => [p.bucket, value(p, 'tokens_per_task'), value(p, 'acceptance')]),
    ).toEqual([
      ['2026-10-26', 1_000_000, 0],
      ['2026-11-02', 500_000, 1],
      ['2026-11-09', 110_000, 0],
      ['2026-11-16', 0, 0],
      ['2026-11-23', 0, 0],
      ['2026-11-30', 2_400_000, 0],
    ]);
    const ed = data?.reports[2] as Report;
    expect(ed).toMatchObject({ band: 'green', quotaPercent: 0 });
    // every report read is audited under bo's key
    await auditTrailFor(api.store).flush();
    const audited = await api.store.query<{ subject: string; role: string }>(
      `select subject, role from audit_log where action = 'read.reports' order by subject`,
    );
    expect(audited).toEqual([
      { subject: 'ana@acme.test', role: 'member' },
      { subject: 'di@acme.test', role: 'member' },
      { subject: 'ed@acme.test', role: 'member' },
    ]);
  });

  it('shows nobody to a person who manages nobody', async () => {
    const res = await myReports(api.keys.member.key);
    expect(res.body.data?.myReports.data?.reports).toEqual([]);
  });

  it('refuses a key bound to no person, a viewer, and a bad trend length', async () => {
    const unbound = await myReports(api.keys.governance.key);
    expect(unbound.body.data?.myReports.__typename).toBe('Forbidden');
    const viewer = await myReports(api.keys.viewer.key);
    expect(viewer.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const weeks = await myReports(boKey, 0);
    expect(weeks.body.data?.myReports.message).toContain(
      'weeks: must be a whole number from 1 to 26',
    );
  });
});
