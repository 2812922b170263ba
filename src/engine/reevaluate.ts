// Evaluating a batch of people (those ingest just touched) with their teams, in a fixed
// number of reads for the whole batch: the directory of the batch, then one sum over the
// windows the policy reads, grouped by person and by team. Team sums cover every member of
// the batch's teams, so team budgets are exact. Org budgets are left to the full sweep.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type { EvaluateResult } from '../policy/evaluate/types.ts';
import { factWindows, merge, needsOf, subjectsOf, unknownPerson } from './facts.ts';
import type { Directory, FactGrouping, UsageReader } from './ports.ts';

export async function evaluatePeople(
  reader: UsageReader,
  rs: RuleSet,
  ids: readonly string[],
  now: Date,
): Promise<{ result: EvaluateResult; directory: Directory }> {
  const needs = needsOf([rs]);
  const tz = rs.ir.timezone;
  const found = await reader.directory({ people: ids });
  const known = new Map(found.people.map((p) => [p.id, p]));
  const people = ids.map((id) => known.get(id) ?? unknownPerson(id));
  const teams = needs.team.size > 0 ? found.teams : [];
  const groupings: FactGrouping[] = teams.length ? ['person', 'team'] : ['person'];
  const windows = factWindows(
    teams.length ? merge(needs.person, needs.team) : needs.person,
    now,
    tz,
  );
  const sums = windows.length
    ? await reader.sumFacts(windows, groupings, {
        people: ids,
        teams: teams.map((t) => t.id),
      })
    : {};
  const subjects = subjectsOf(needs, people, found.teams, sums);
  return {
    result: evaluate(rs, { now, subjects }),
    directory: { people, teams: found.teams },
  };
}
