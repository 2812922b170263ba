// Evaluating a batch of people (those ingest just touched) with their teams, in a fixed
// number of reads for the whole batch: the directory of the batch, then one sum over the
// windows the policy reads, grouped by person and by team. Team sums cover every member of
// the batch's teams, so team budgets are exact. Org budgets are left to the full sweep.
import type { Requirements, RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type { EvaluateResult, FactsByWindow, SubjectInput } from '../policy/evaluate/types.ts';
import { factWindows, needsOf, personAttributes, teamAttributes, unknownPerson } from './facts.ts';
import type { Directory, FactGrouping, FactSums, UsageReader } from './ports.ts';

function union(a: Requirements, b: Requirements): Requirements {
  const out: Requirements = new Map();
  for (const req of [a, b]) {
    for (const [window, facts] of req) {
      const set = out.get(window) ?? new Set<string>();
      for (const f of facts) set.add(f);
      out.set(window, set);
    }
  }
  return out;
}

function factsFor(req: Requirements, sums: FactSums | undefined, id: string): FactsByWindow {
  const out: FactsByWindow = {};
  for (const [window, names] of req) {
    const found = sums?.get(window)?.get(id);
    out[window] = Object.fromEntries([...names].map((n) => [n, found?.[n] ?? 0]));
  }
  return out;
}

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
    teams.length ? union(needs.person, needs.team) : needs.person,
    now,
    tz,
  );
  const sums = windows.length
    ? await reader.sumFacts(windows, groupings, {
        people: ids,
        teams: teams.map((t) => t.id),
      })
    : {};
  const subjects: SubjectInput[] = [
    ...people.map(
      (p): SubjectInput => ({
        kind: 'person',
        id: p.id,
        attributes: personAttributes(p),
        facts: factsFor(needs.person, sums.person, p.id),
      }),
    ),
    ...found.teams.map(
      (t): SubjectInput => ({
        kind: 'team',
        id: t.id,
        attributes: teamAttributes(t),
        facts: factsFor(needs.team, sums.team, t.id),
      }),
    ),
  ];
  return {
    result: evaluate(rs, { now, subjects }),
    directory: { people, teams: found.teams },
  };
}
