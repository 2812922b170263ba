// The organisation the privacy tests attack: min_group_size 3; platform (5 people) and data
// (3) are visible; tiny (2 people) is under k; security (3) is restricted. Everyone used
// model m1 this month (input 1 USD, output 2 USD per 1M tokens); person p<i> used i × 100k
// input tokens, so each person's figure is distinct and a leak shows as an exact match.
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import type { Store } from '../../src/store/db.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';

export const NOW = new Date('2026-11-20T12:00:00Z');

export const POLICY = `policy "privacy" version "1"
currency USD
timezone "UTC"
privacy { min_group_size 3  identities masked }

class standard "General"
model "m1" class standard price { input 1.00 output 2.00 }

leaderboard people "People" {
  subject person
  window month
  score = 1000 / log10(10 + tokens)
  top 50
}

leaderboard teams "Teams" {
  subject team
  window month
  score = 1000 / log10(10 + tokens)
  top 50
}

tier base "Base" { limit 10M tokens per month models standard }
assign base otherwise

budget each team { 1,000 USD per month }
budget org { 10,000 USD per month }
budget person "p1@acme.test" { 100 USD per month }

escalation quota {
  at 1% notify person "1% used"
}
escalation budget {
  at 0.001% notify team_owner
}
`;

export const TEAMS = [
  { team: 'platform', sensitivity: 'normal', owner: 'p1@acme.test', size: 5 },
  { team: 'data', sensitivity: 'normal', owner: 'p6@acme.test', size: 3 },
  { team: 'tiny', sensitivity: 'normal', owner: 'p9@acme.test', size: 2 },
  { team: 'security', sensitivity: 'restricted', owner: 'p11@acme.test', size: 3 },
] as const;

export type OrgPerson = { id: string; team: string; role: string; tokens: number };

export const PEOPLE: OrgPerson[] = (() => {
  const out: OrgPerson[] = [];
  let i = 1;
  for (const t of TEAMS)
    for (let j = 0; j < t.size; j++, i++)
      out.push({
        id: `p${i}@acme.test`,
        team: t.team,
        role: j === 0 ? 'lead' : 'engineer',
        tokens: i * 100_000,
      });
  return out;
})();

export const VISIBLE_TEAMS = ['platform', 'data'];
export const HIDDEN_PEOPLE = PEOPLE.filter((p) => !VISIBLE_TEAMS.includes(p.team));

/** Publishes the policy, loads the directory and this month's usage, raises escalations. */
export async function loadOrg(store: Store): Promise<void> {
  activePolicyFor(store).setClock(() => NOW);
  await publishPolicySource(store, { source: POLICY, activate: true });
  const rows = [
    ...TEAMS.map((t) => ({
      type: 'team',
      team: t.team,
      name: t.team,
      sensitivity: t.sensitivity,
      owner: t.owner,
    })),
    ...PEOPLE.map((p) => ({
      type: 'person',
      person: p.id,
      name: p.id.split('@')[0].toUpperCase(),
      team: p.team,
      role: p.role,
      opted_in: true,
    })),
    ...PEOPLE.map((p, i) => ({
      type: 'usage',
      id: `u-${i}`,
      ts: '2026-11-10T10:00:00Z',
      person: p.id,
      model: 'm1',
      input_tokens: p.tokens,
      output_tokens: 0,
    })),
  ].map((data, line) => ({ line, data }));
  const result = await ingestBatch(store, rows, { now: NOW.getTime() });
  if (result.totals.rejected > 0) throw new Error(JSON.stringify(result.results));
  await reevaluationFor(store).reevaluatePeople(PEOPLE.map((p) => p.id));
}
