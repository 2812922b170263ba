// Detector rules through the real re-evaluation after ingest, on a real server and store:
// a person far above their own baseline escalates to their manager with the detector's
// figures, a newcomer whose first day is large is not flagged, and a team rule weighs the
// team's members together and escalates to the team's owner (after ingest and in the
// sweep). The clock is injected; nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { messageFor, type Role } from '../../src/app/notifications.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { evaluateOrg } from '../../src/engine/evaluation.ts';
import { type EscalationRow, listEscalations } from '../../src/store/escalations.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import {
  activatePolicySource,
  gqlData,
  MEMBER_PERSON,
  seedDirectory,
  startTestApi,
  type TestApi,
} from '../api/support.ts';

const POLICY = `
policy "detectors" version "t1"
currency USD
timezone "UTC"
privacy { min_group_size 3 }
class standard "General"
model "m1" class standard price { input 0.10 output 0.10 }
tier everyone "Everyone" { limit 1000M tokens per month models any }
assign everyone otherwise
rule unusual_tokens "Tokens far above the person's usual day" severity medium {
  detect deviation of tokens within 28d above 3.5 history 7d
  then notify manager
}
rule team_unusual_tokens "Team tokens far above its usual day" severity high {
  subject team
  detect deviation of tokens within 28d above 4 history 7d
  then notify team_owner
}
`;

let api: TestApi;
const clock = new Date('2026-10-20T12:00:00Z');

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  await seedDirectory(api);
  await activatePolicySource(api, POLICY);
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

async function ingest(rows: { person: string; day: string; tokens: number }[]) {
  await gqlData(
    api,
    api.keys.ingest.key,
    'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
    {
      rows: rows.map((r, i) => ({
        id: `det-${r.person}-${r.day}-${i}`,
        ts: `${r.day}T10:00:00Z`,
        person: r.person,
        model: 'm1',
        inputTokens: r.tokens,
      })),
    },
  );
}

const escalations = () => listEscalations(api.store, { rule: undefined }, { limit: 100 });

describe('detector rules after ingest', () => {
  it('flag a person far above their baseline and their team, not a newcomer on a first day', async () => {
    // Ana's days before today (thousands): median 10.5k, MAD 1k; threshold 10.5k + 3.5 × 1,482.6
    const usual = [10, 12, 11, 13, 9, 10, 30, 10];
    await ingest(
      usual.map((k, i) => ({
        person: MEMBER_PERSON,
        day: `2026-10-${String(12 + i).padStart(2, '0')}`,
        tokens: k * 1000,
      })),
    );
    await reevaluationFor(api.store).drainDirty();
    expect((await escalations()).filter((e) => e.source === 'rule')).toEqual([]);

    // today: Ana at 50k, and Di, new, at 500k on her first day
    await ingest([
      { person: MEMBER_PERSON, day: '2026-10-20', tokens: 50_000 },
      { person: 'di@acme.test', day: '2026-10-20', tokens: 500_000 },
    ]);
    await reevaluationFor(api.store).drainDirty();
    const found = (await escalations()).filter((e) => e.source === 'rule');
    expect(found.map((e) => [e.rule, e.subjectKind, e.subjectId]).sort()).toEqual([
      ['team_unusual_tokens', 'team', 'platform'],
      ['unusual_tokens', 'person', MEMBER_PERSON],
    ]);
    const ana = found.find((e) => e.rule === 'unusual_tokens')!;
    expect(ana.action).toMatchObject({ kind: 'notify', audiences: ['manager'] });
    expect(ana.facts.detector).toMatchObject({
      detector: 'deviation',
      fact: 'tokens',
      value: 50_000,
      baseline: 10_500,
      history: 8,
      minHistory: 7,
      fired: true,
    });
    expect((ana.facts.detector as { threshold: number }).threshold).toBeCloseTo(15_689.1, 6);
    expect((ana.facts.detector as { text: string }).text).toContain(
      'deviation: tokens today 50,000 > 15,689.1 = median 10,500',
    );
    // the team's day is its members' together: 550k against the same usual days
    const team = found.find((e) => e.rule === 'team_unusual_tokens')!;
    expect(team.facts.detector).toMatchObject({ value: 550_000, baseline: 10_500, history: 8 });
    // the manager is told the figures; the team owner which detector fired (R16)
    const told = (row: EscalationRow, role: Role) =>
      Object.fromEntries(
        messageFor({ ...row, manager: null, teamOwner: null }, role, 'http://console.test').facts,
      );
    expect(told(ana, 'manager').Detected).toContain('deviation: tokens today 50,000 > 15,689.1');
    expect(told(team, 'team_owner')).toMatchObject({ Detector: 'deviation within 28d' });
    expect(told(team, 'team_owner')).not.toHaveProperty('Detected');
  });

  it("shows a team rule's figures to governance only (R16)", async () => {
    const query = `{ escalations(subjectKind: "team", first: 10) { edges { node { rule facts } } } }`;
    type Answer = {
      escalations: { edges: { node: { rule: string; facts: Record<string, unknown> } }[] };
    };
    const seen = async (key: string) =>
      (await gqlData<Answer>(api, key, query)).escalations.edges.map((e) => e.node);
    const [full] = await seen(api.keys.governance.key);
    expect(full.facts.detector).toMatchObject({ value: 550_000, baseline: 10_500 });
    // platform has three people, the policy's min_group_size: its viewers see the escalation
    const [shown] = await seen(api.keys.viewer.key);
    expect(shown.rule).toBe('team_unusual_tokens');
    expect(shown.facts.detector).toEqual({
      detector: 'deviation',
      fact: 'tokens',
      window: '28d',
      minHistory: 7,
      fired: true,
    });
    expect(JSON.stringify(shown.facts)).not.toMatch(/550|10500|baseline|threshold/);
  });

  it('the sweep finds the same escalations (idempotent by key), teams included', async () => {
    const active = await activePolicyFor(api.store).current();
    const swept = await evaluateOrg(usageReader(api.store), active!.ruleSet, clock, {
      only: 'escalations',
    });
    const fired = swept.result.subjects.flatMap((s) => s.rules.map((r) => [s.id, r.rule]));
    expect(fired.sort()).toEqual([
      [MEMBER_PERSON, 'unusual_tokens'],
      ['platform', 'team_unusual_tokens'],
    ]);
    const report = await reevaluationFor(api.store).sweep({ force: true });
    expect(report.created).toBe(0);
    expect((await escalations()).filter((e) => e.source === 'rule')).toHaveLength(2);
  });
});
