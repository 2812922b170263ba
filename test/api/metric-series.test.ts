// metrics(subject, …): the policy's declared metrics over time buckets, by the policy's own
// formulas, over a real server. Figures are worked out by hand from chargeback-fixture.ts:
// acceptance = accepted / max(accepted + rejected, 1), tokens_per_task = tokens /
// max(tasks, 1), cost_per_accepted = cost / max(accepted, 1). Below governance: visible
// teams only, made of team-days on which at least min_group_size (2) of the team used
// tokens (for usage facts) or reported outcomes (for outcome facts), points made of none
// left out; person series are governance's (audited) or a member's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrailFor } from '../../src/app/audit.ts';
import { loadChargebackFixture } from './chargeback-fixture.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  await loadChargebackFixture(api);
}, 120_000);
afterAll(async () => {
  await api?.stop();
});

type Point = {
  bucket: string;
  subject: string;
  masked: boolean;
  people: number;
  values: { metric: string; value: number }[];
};
type Series = {
  metrics: string[];
  to: string;
  points: Point[];
  suppressedPoints: number;
  minGroupSize: number | null;
};

async function series(key: string, variables: Record<string, unknown>) {
  const res = await api.gql<{
    metrics: { __typename: string; data?: Series; code?: string; message?: string };
  }>(
    key,
    `query($s: MetricSubject!, $ids: [String!], $m: [String!], $from: String, $to: String, $b: UsageBucket) {
      metrics(subject: $s, ids: $ids, metrics: $m, from: $from, to: $to, bucket: $b) { __typename
        ... on QueryMetricsSuccess { data { metrics to suppressedPoints minGroupSize
          points { bucket subject masked people values { metric value } } } }
        ... on Problem { code message } } }`,
    variables,
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data?.metrics as NonNullable<typeof res.body.data>['metrics'];
}

const NOVEMBER = { from: '2026-11-01', to: '2026-12-01', b: 'month' };
const table = (s: Series | undefined) =>
  (s?.points ?? []).map((p) => [
    p.bucket,
    p.subject,
    p.people,
    ...p.values.map((v) => Math.round(v.value * 10_000) / 10_000),
  ]);

describe('metrics', () => {
  it('gives governance a named person series by the policy formulas, audited', async () => {
    const r = await series(api.keys.governance.key, {
      s: 'person',
      ids: ['ana@acme.test'],
      ...NOVEMBER,
    });
    // declared metrics in dependency order, ties by name
    expect(r.data?.metrics).toEqual(['acceptance', 'cost_per_accepted', 'tokens_per_task']);
    // 3 accepted of 4; 2.45 USD over 3 accepted; 1,610,000 tokens over 4 tasks
    expect(table(r.data)).toEqual([['2026-11-01', 'ana@acme.test', 1, 0.75, 0.8167, 402_500]]);
    await auditTrailFor(api.store).flush();
    const [row] = await api.store.query<{ n: string }>(
      `select count(*)::text as n from audit_log where action = 'read.metrics' and subject = 'ana@acme.test'`,
    );
    expect(row.n).toBe('1');
  });

  it('buckets by ISO week, the first clipped to the range', async () => {
    const r = await series(api.keys.governance.key, {
      s: 'person',
      ids: ['ana@acme.test'],
      m: ['tokens_per_task', 'acceptance'],
      from: '2026-11-01',
      to: '2026-11-16',
      b: 'week',
    });
    expect(r.data?.metrics).toEqual(['tokens_per_task', 'acceptance']);
    expect(table(r.data)).toEqual([
      ['2026-10-26', 'ana@acme.test', 0, 0, 0],
      ['2026-11-02', 'ana@acme.test', 1, 500_000, 1],
      ['2026-11-09', 'ana@acme.test', 1, 110_000, 0],
    ]);
  });

  it('adds teams and the org up from their people', async () => {
    const teams = await series(api.keys.governance.key, {
      s: 'team',
      ids: ['platform', 'routing', 'engineering'],
      ...NOVEMBER,
    });
    expect(table(teams.data)).toEqual([
      ['2026-11-01', 'engineering', 1, 0, 3, 1_000_000],
      ['2026-11-01', 'platform', 2, 0.8, 0.7125, 382_000],
      ['2026-11-01', 'routing', 2, 0, 1.23, 315_000],
    ]);
    const org = await series(api.keys.governance.key, { s: 'org', ...NOVEMBER });
    // 6 people, 3,640,000 tokens, 7 tasks, 4 accepted of 7, 7.18 USD
    expect(table(org.data)).toEqual([['2026-11-01', 'org', 6, 0.5714, 1.795, 520_000]]);
  });

  it('shows a viewer visible teams made of team-days of two or more, and an org of those', async () => {
    const teams = await series(api.keys.viewer.key, { s: 'team', ...NOVEMBER });
    // engineering (one member) hidden, legal restricted. The only team-day with two people
    // is platform's 3 November: ana and di reported 4 accepted outcomes, but only di used
    // tokens, so that day's usage is in no figure; routing never had two on one day
    expect(table(teams.data)).toEqual([['2026-11-01', 'platform', 2, 1, 0, 0]]);
    expect(teams.data?.suppressedPoints).toBe(1);
    const weekly = await series(api.keys.viewer.key, {
      s: 'team',
      ids: ['platform', 'engineering', 'legal'],
      m: ['acceptance'],
      from: '2026-11-02',
      to: '2026-11-16',
      b: 'week',
    });
    // platform's second week has ana alone: left out
    expect(table(weekly.data)).toEqual([['2026-11-02', 'platform', 2, 1]]);
    expect(weekly.data?.suppressedPoints).toBe(1);
    expect(weekly.data?.minGroupSize).toBe(2);
    const org = await series(api.keys.viewer.key, { s: 'org', ...NOVEMBER });
    expect(table(org.data)).toEqual([['2026-11-01', 'org', 2, 1, 0, 0]]);
    // the current month stops before today (5 December): only closed days count
    const open = await series(api.keys.viewer.key, {
      s: 'org',
      from: '2026-12-01',
      to: '2026-12-10',
      b: 'month',
    });
    expect(open.data?.to).toBe('2026-12-05');
    const governance = await series(api.keys.governance.key, {
      s: 'org',
      from: '2026-12-01',
      to: '2026-12-10',
      b: 'month',
    });
    expect(governance.data?.to).toBe('2026-12-10');
    const orgWeekly = await series(api.keys.viewer.key, {
      s: 'org',
      m: ['tokens_per_task'],
      from: '2026-11-09',
      to: '2026-11-16',
      b: 'week',
    });
    // that week no visible team had two people on one day
    expect(orgWeekly.data?.points).toEqual([]);
  });

  it('gives a member their own series only, and refuses people to viewers', async () => {
    const own = await series(api.keys.member.key, { s: 'person', m: ['acceptance'], ...NOVEMBER });
    expect(table(own.data)).toEqual([['2026-11-01', 'ana@acme.test', 1, 0.75]]);
    const other = await series(api.keys.member.key, {
      s: 'person',
      ids: ['di@acme.test'],
      ...NOVEMBER,
    });
    expect(other.__typename).toBe('Forbidden');
    const viewer = await series(api.keys.viewer.key, { s: 'person', ...NOVEMBER });
    expect(viewer.__typename).toBe('Forbidden');
  });

  it('names bad input', async () => {
    const unknown = await series(api.keys.governance.key, { s: 'org', m: ['speed'] });
    expect(unknown).toMatchObject({ __typename: 'InvalidRequest' });
    expect(unknown.message).toContain('metrics: the active policy declares no metric "speed"');
    const dates = await series(api.keys.governance.key, {
      s: 'org',
      from: '2026-11-10',
      to: '2026-11-01',
    });
    expect(dates.message).toContain('to: must be after from');
    const many = await series(api.keys.governance.key, {
      s: 'org',
      from: '2024-01-01',
      to: '2026-01-01',
      b: 'day',
    });
    expect(many.message).toContain('bucket:');
  });
});
