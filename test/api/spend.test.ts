// spendReport (chargeback) over a real server: spend by cost centre and model, a cost centre
// inherited from the parent team, roll-ups up the team tree, an exact total that reconciles
// with usage; below governance visible teams only, by team and cost centre only, small
// groups and team-days with fewer than min_group_size active people left out, and roll-ups
// adding up only what is shown. Expected figures are worked
// out by hand in chargeback-fixture.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

type Row = {
  costCenter: string | null;
  team: string | null;
  model: string | null;
  rollupOf: number | null;
  figures: { people: number; tokens: number; cost: { amount: string } };
};
type Report = {
  period: string;
  from: string;
  to: string;
  rows: Row[];
  total: { cost: { amount: string; currency: string }; tokens: number; requests: number };
  suppressedGroups: number;
};

async function spend(key: string, variables: Record<string, unknown>) {
  const res = await api.gql<{
    spendReport: { __typename: string; data?: Report; code?: string; message?: string };
  }>(
    key,
    `query($p: String, $by: [SpendDimension!]!, $r: Boolean) {
      spendReport(period: $p, by: $by, rollup: $r) { __typename
        ... on QuerySpendReportSuccess { data { period from to suppressedGroups
          rows { costCenter team model rollupOf figures { people tokens cost { amount } } }
          total { tokens requests cost { amount currency } } } }
        ... on Problem { code message } } }`,
    variables,
  );
  return res;
}

const cents = (amount: string) => Math.round(Number(amount) * 100);
const cells = (rows: Row[]) =>
  rows.map((r) => [r.costCenter ?? r.team, r.model, r.rollupOf, cents(r.figures.cost.amount)]);

describe('spendReport', () => {
  it('charges by cost centre and model, routing inheriting engineering’s cost centre', async () => {
    const res = await spend(api.keys.governance.key, {
      p: '2026-11',
      by: ['cost_center', 'model'],
    });
    const report = res.body.data?.spendReport.data as Report;
    expect(report).toMatchObject({ period: '2026-11', from: '2026-11-01', to: '2026-12-01' });
    expect(cells(report.rows)).toEqual([
      ['CC-100', 'm1', null, 240],
      ['CC-100', 'm2', null, 45],
      ['CC-ENG', 'm1', null, 90],
      ['CC-ENG', 'm2', null, 333],
      ['CC-LEG', 'm1', null, 10],
    ]);
    // exact decimals: 2.40 + 0.45 + 0.90 + 3.33 + 0.10
    expect(Number(report.total.cost.amount)).toBe(7.18);
    expect(report.total.cost.amount).toMatch(/^7\.180*$/);
    expect(report.total.requests).toBe(7);
  });

  it('reconciles with usage over the same days', async () => {
    const usage = await api.gql<{ usage: { edges: { node: { cost: { amount: string } } }[] } }>(
      api.keys.governance.key,
      '{ usage(filter: { from: "2026-11-01", to: "2026-12-01" }) { ... on UsageConnection { edges { node { cost { amount } } } } } }',
    );
    const report = (await spend(api.keys.governance.key, { p: '2026-11', by: ['team'] })).body.data
      ?.spendReport.data as Report;
    expect(report.total.cost.amount).toBe(usage.body.data?.usage.edges[0].node.cost.amount);
  });

  it('rolls teams up to their parents', async () => {
    const res = await spend(api.keys.governance.key, { p: '2026-11', by: ['team'], r: true });
    const report = res.body.data?.spendReport.data as Report;
    expect(cells(report.rows)).toEqual([
      ['engineering', null, null, 300],
      ['legal', null, null, 10],
      ['platform', null, null, 285],
      ['routing', null, null, 123],
      // engineering's own 3.00 + platform 2.85 + routing 1.23
      ['engineering', null, 3, 708],
    ]);
    expect(cents(report.total.cost.amount)).toBe(718);
  });

  it('shows a viewer visible teams only, and roll-ups of what is shown', async () => {
    // min_group_size 2: engineering (bo alone) is hidden, legal restricted; and every
    // November day so far had one person per team, a figure a viewer never gets
    // (docs/privacy.md, R11)
    const alone = await spend(api.keys.viewer.key, { p: '2026-11', by: ['team'], r: true });
    expect(alone.body.data?.spendReport.data?.rows).toEqual([]);
    // 25 November: ana and di (platform), ed and fay (routing) worked, and cy (legal)
    const day = [
      ['ana', 500_000],
      ['di', 300_000],
      ['ed', 200_000],
      ['fay', 100_000],
      ['cy', 700_000],
    ].map(([person, inputTokens]) => ({
      id: `nov25-${person}`,
      ts: '2026-11-25T10:00:00Z',
      person: `${person}@acme.test`,
      model: 'm1',
      inputTokens,
      outputTokens: 0,
    }));
    const recorded = await api.gql(
      api.keys.ingest.key,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
      { rows: day },
    );
    expect(recorded.body.data).toEqual({ recordUsage: { accepted: 5 } });
    const res = await spend(api.keys.viewer.key, { p: '2026-11', by: ['team'], r: true });
    const report = res.body.data?.spendReport.data as Report;
    expect(cells(report.rows)).toEqual([
      ['platform', null, null, 80],
      ['routing', null, null, 30],
      ['engineering', null, 2, 110],
    ]);
    expect(cents(report.total.cost.amount)).toBe(110);
    const byCentre = (await spend(api.keys.viewer.key, { p: '2026-11', by: ['cost_center'] })).body
      .data?.spendReport.data as Report;
    expect(cells(byCentre.rows)).toEqual([
      ['CC-100', null, null, 80],
      ['CC-ENG', null, null, 30],
    ]);
  });

  it('refuses model below governance, members, ingest, and bad input', async () => {
    const byModel = await spend(api.keys.viewer.key, {
      p: '2026-11',
      by: ['cost_center', 'model'],
    });
    expect(byModel.body.data?.spendReport).toMatchObject({ __typename: 'Forbidden' });
    const member = await spend(api.keys.member.key, { p: '2026-11', by: ['team'] });
    expect(member.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const ingest = await spend(api.keys.ingest.key, { p: '2026-11', by: ['team'] });
    expect(ingest.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const period = await spend(api.keys.governance.key, { p: 'november', by: ['team'] });
    expect(period.body.data?.spendReport).toMatchObject({ __typename: 'InvalidRequest' });
    expect(period.body.data?.spendReport.message).toContain('period: unknown window "november"');
    const rollup = await spend(api.keys.governance.key, { p: '2026-11', by: ['model'], r: true });
    expect(rollup.body.data?.spendReport.message).toContain('rollup');
  });
});
