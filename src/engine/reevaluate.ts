// Evaluating a batch of people (those ingest just touched) with their teams, for
// escalations only (leaderboards are not re-ranked here): the people's own windows from
// their rollups, and team budget periods from per-person period totals (see
// UsageReader.teamBudgetCosts). Budget steps themselves belong to the budget pass
// (src/app/budget-holds.ts), which follows ingest more closely.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type { EvaluateResult } from '../policy/evaluate/types.ts';
import { budgetPeriods } from './budget-evaluation.ts';
import {
  escalationNeeds,
  factWindows,
  mergeSums,
  needsOf,
  subjectsOf,
  teamBudgetKeys,
  teamRuleReads,
  unknownPerson,
} from './facts.ts';
import type { Directory, FactSums, UsageReader } from './ports.ts';

export async function evaluatePeople(
  reader: UsageReader,
  rs: RuleSet,
  ids: readonly string[],
  now: Date,
  /** reads elapsed ms for `evaluatedMs` (tests inject one) */
  clock: () => number = () => performance.now(),
): Promise<{ result: EvaluateResult; directory: Directory; evaluatedMs: number }> {
  const tz = rs.ir.timezone;
  const reads = escalationNeeds(rs);
  const found = await reader.directory({ people: ids });
  const known = new Map(found.people.map((p) => [p.id, p]));
  const people = ids.map((id) => known.get(id) ?? unknownPerson(id));
  const personWindows = factWindows(reads.person, now, tz);
  const teamIds = found.teams.map((t) => t.id);
  const budgetKeys = teamBudgetKeys(rs);
  const periods =
    teamIds.length > 0
      ? budgetPeriods(
          [...reads.team.keys()].filter((k) => budgetKeys.has(k)),
          now,
          tz,
        )
      : [];
  const ruleWindows = teamIds.length > 0 ? factWindows(teamRuleReads(rs), now, tz) : [];
  // one after the other: re-evaluation runs beside ingest and should hold one core at most
  const personSums = personWindows.length
    ? (await reader.sumFacts(personWindows, ['person'], { people: ids })).person
    : undefined;
  const budgetSums = periods.length ? await reader.teamBudgetCosts(periods, teamIds) : undefined;
  // team rules read the members' usage like any team fact (budgets read spend per period)
  const ruleSums = ruleWindows.length
    ? (await reader.sumFacts(ruleWindows, ['team'], { teams: teamIds })).team
    : undefined;
  const teamSums = mergeSums(budgetSums, ruleSums);
  // facts the policy reads but escalations do not (board windows) are 0 here
  const subjects = subjectsOf(needsOf([rs]), people, found.teams, {
    person: personSums,
    team: teamSums satisfies FactSums | undefined,
  });
  // the one synchronous stretch: its length sizes the next batch (src/app/reevaluation.ts)
  const started = clock();
  const result = evaluate(rs, { now, subjects });
  return { result, directory: { people, teams: found.teams }, evaluatedMs: clock() - started };
}
