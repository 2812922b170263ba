// A small hand-built organisation whose numbers are worked out by hand in the tests.
//
// Policy timezone Europe/London (GMT in November, so UTC days = local days). Clock:
// 2026-11-20T12:00:00Z. Teams: eng (normal, owner bo), legal (restricted).
//
// person  team   role      opted  November usage                     tokens   cost
// ana     eng    engineer  yes    m-std 100k in + 50k out (11-10)    150,000  0.2
// bo      eng    engineer  yes    m-std 300k in + 100k out (11-19)   400,000  0.5
// cy      legal  engineer  yes    m-eco 1M in (11-20)              1,000,000  0.1
// di      eng    analyst   no     m-eco 600k in (11-20, sandbox)     600,000  0.06
// ana also used m-std 1M in on 2026-10-15 (cost 1.0).
//
// Outcomes: November ana 4 accepted + 1 rejected (score 80), bo 1 + 1 (50), cy 2 accepted
// (100, excluded: restricted), di 3 accepted (100, not opted in). October: ana 1 + 1 (50),
// bo 3 accepted (100). So ana moves up one place, bo down one.
// Compliance: ana redaction_failure on 11-18 (inside `within 7d` of 11-20).
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { buildRuleSet, type RuleSet } from '../../src/policy/compile/index.ts';
import type { RuleSetIR } from '../../src/policy/ir.ts';
import type { Store } from '../../src/store/db.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicyVersion } from '../../src/store/policies.ts';

export const NOW = new Date('2026-11-20T12:00:00Z');

export const POLICY = `policy "tiny" version "1"
currency USD
timezone "Europe/London"
privacy { min_group_size 2  identities masked }

class standard "General"
class economy "Cheap"
model "m-std" class standard price { input 1.00 output 2.00 }
model "m-eco" class economy price { input 0.10 output 0.20 }

metric acceptance = accepted / max(accepted + rejected, 1)

leaderboard value "Value" {
  subject person
  window month
  cohort role
  eligible when tasks >= 1 and opted_in
  exclude when team.sensitivity == "restricted"
  score = 100 * acceptance
  top 10
}

tier basic "Basic" { limit 1M tokens per month  models economy }
tier pro "Pro" { limit 10M tokens per month  models economy, standard }
assign pro when role == "engineer"
assign basic otherwise

budget each team { 100 USD per month }
budget each team environment "sandbox" { 1 USD per month }
budget org { 1,000 USD per quarter }

escalation quota {
  at 50% notify person
  at 100% block
}
escalation budget {
  at 80% notify team_owner
}

rule leak "Leak" severity high {
  when redaction_failures within 7d > 0
  then notify security
}
`;

export function tinyPolicy(): { ir: RuleSetIR; ruleSet: RuleSet } {
  const analysis = analyzePolicy(POLICY);
  if (!analysis.ir) {
    throw new Error(analysis.diagnostics.map((d) => d.message).join('\n'));
  }
  return { ir: analysis.ir, ruleSet: buildRuleSet(analysis.ir) };
}

const usage = (
  id: string,
  person: string,
  ts: string,
  model: string,
  input: number,
  output: number,
  environment = 'production',
) => ({
  type: 'usage',
  id,
  ts,
  person,
  model,
  input_tokens: input,
  output_tokens: output,
  project: 'p1',
  environment,
});
const outcome = (id: string, person: string, ts: string, result: string) => ({
  type: 'outcome',
  id,
  ts,
  person,
  task: id,
  outcome: result,
});

export const ROWS: Record<string, unknown>[] = [
  { type: 'team', team: 'eng', name: 'Engineering', owner: 'bo', sensitivity: 'normal' },
  { type: 'team', team: 'legal', name: 'Legal', sensitivity: 'restricted' },
  { type: 'person', person: 'ana', name: 'Ana', team: 'eng', role: 'engineer', opted_in: true },
  { type: 'person', person: 'bo', name: 'Bo', team: 'eng', role: 'engineer', opted_in: true },
  { type: 'person', person: 'cy', name: 'Cy', team: 'legal', role: 'engineer', opted_in: true },
  { type: 'person', person: 'di', name: 'Di', team: 'eng', role: 'analyst', opted_in: false },
  usage('u1', 'ana', '2026-11-10T10:00:00Z', 'm-std', 100_000, 50_000),
  usage('u2', 'bo', '2026-11-19T10:00:00Z', 'm-std', 300_000, 100_000),
  usage('u3', 'cy', '2026-11-20T09:00:00Z', 'm-eco', 1_000_000, 0),
  usage('u4', 'di', '2026-11-20T08:00:00Z', 'm-eco', 600_000, 0, 'sandbox'),
  usage('u5', 'ana', '2026-10-15T10:00:00Z', 'm-std', 1_000_000, 0),
  ...[1, 2, 3, 4].map((i) => outcome(`o-ana-${i}`, 'ana', '2026-11-11T10:00:00Z', 'accepted')),
  outcome('o-ana-5', 'ana', '2026-11-11T10:00:00Z', 'rejected'),
  outcome('o-bo-1', 'bo', '2026-11-19T11:00:00Z', 'accepted'),
  outcome('o-bo-2', 'bo', '2026-11-19T11:00:00Z', 'rejected'),
  outcome('o-cy-1', 'cy', '2026-11-20T10:00:00Z', 'accepted'),
  outcome('o-cy-2', 'cy', '2026-11-20T10:00:00Z', 'accepted'),
  ...[1, 2, 3].map((i) => outcome(`o-di-${i}`, 'di', '2026-11-20T10:00:00Z', 'accepted')),
  outcome('o-ana-oct-1', 'ana', '2026-10-16T10:00:00Z', 'accepted'),
  outcome('o-ana-oct-2', 'ana', '2026-10-16T10:00:00Z', 'rejected'),
  ...[1, 2, 3].map((i) => outcome(`o-bo-oct-${i}`, 'bo', '2026-10-20T10:00:00Z', 'accepted')),
  {
    type: 'compliance',
    id: 'c1',
    ts: '2026-11-18T10:00:00Z',
    person: 'ana',
    flag: 'redaction_failure',
    severity: 'high',
  },
];

/** Publishes and activates the policy (so usage is priced), then loads the rows. */
export async function loadTinyOrg(store: Store): Promise<void> {
  const { ir } = tinyPolicy();
  const analysis = analyzePolicy(POLICY);
  await publishPolicyVersion(store, {
    version: '1',
    name: 'tiny',
    source: POLICY,
    canonical: POLICY,
    hash: analysis.hash as string,
    ir,
    activate: true,
  });
  const result = await ingestBatch(
    store,
    ROWS.map((data, i) => ({ line: i + 1, data })),
  );
  const bad = result.results.filter((r) => r.status !== 'accepted');
  if (bad.length) throw new Error(`fixture rows not accepted: ${JSON.stringify(bad)}`);
}

/** A policy text's IR; throws with the diagnostics when it does not compile. */
export function ir(text: string): RuleSetIR {
  const a = analyzePolicy(text);
  if (!a.ir) throw new Error(a.diagnostics.map((d) => d.message).join('; '));
  return a.ir;
}
