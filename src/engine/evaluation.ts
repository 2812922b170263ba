// Evaluating a rule set over real data: the whole organisation (boards, budgets, impact
// replay) or one person (the quota hot path). Facts come from the reader; the verdicts
// come from the pure evaluator in src/policy, so `quotient policy eval` and the service
// can never disagree.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type { EvaluateInput, EvaluateResult, SubjectResult } from '../policy/evaluate/types.ts';
import {
  collectOrg,
  collectPerson,
  escalationNeeds,
  factsFor,
  factWindows,
  merge,
  needsOf,
  poolPartners,
  subjectsOf,
  teamAttributes,
  teamBudgetReads,
} from './facts.ts';
import type { Directory, FactGrouping, GroupedFactSums, UsageReader } from './ports.ts';

export type Evaluation = {
  result: EvaluateResult;
  /** the people and teams evaluated */
  directory: Directory;
  /** what was fed to the evaluator (facts per window), for explanations and replay */
  input: EvaluateInput;
};

export type PersonEvaluation = Evaluation & {
  person: SubjectResult;
  /** the person's team, when they have one */
  team: SubjectResult | null;
  /** false when the person is not in the directory yet (evaluated with no attributes) */
  known: boolean;
};

function toDate(now: Date | string | number): Date {
  const d = now instanceof Date ? now : new Date(now);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a valid clock: ${String(now)}`);
  return d;
}

/**
 * Every person and team at `now`: tiers, quotas, budgets (org too), rules and boards; with
 * `only: 'escalations'`, no boards or metric reports, reading only what escalations weigh.
 */
export async function evaluateOrg(
  reader: UsageReader,
  ruleSet: RuleSet,
  now: Date | string | number,
  options: { only?: 'escalations' } = {},
): Promise<Evaluation> {
  const clock = toDate(now);
  const needs = options.only ? escalationNeeds(ruleSet) : needsOf([ruleSet]);
  const { input, directory } = await collectOrg(reader, needs, clock, ruleSet.ir.timezone);
  return { result: evaluate(ruleSet, input, options), directory, input };
}

/** How the sweep is cut: people per slice, and what runs between slices. */
export type Slices = { people: number; between: () => Promise<void> };

/**
 * Everyone's escalations, a slice of people at a time: the teams' and the org's facts are
 * read once, then each slice's people are read, evaluated (escalations only) and handed to
 * `take`, and dropped. The sweep so holds one slice's facts and results instead of the whole
 * organisation's, and the server answers requests between slices. Equal to
 * `evaluateOrg(…, { only: 'escalations' })`: without boards a person's result reads only
 * their own facts and the teams'; each slice carries every team, and `take` gets the teams'
 * and the org's results (and errors) from the first slice only.
 */
export async function sweepOrg(
  reader: UsageReader,
  ruleSet: RuleSet,
  now: Date | string | number,
  slices: Slices,
  take: (part: EvaluateResult) => void,
): Promise<{ evaluated: number; directory: Directory }> {
  const clock = toDate(now);
  const timeZone = ruleSet.ir.timezone;
  const needs = escalationNeeds(ruleSet);
  const groupings: FactGrouping[] = [];
  if (needs.team.size > 0) groupings.push('team');
  if (needs.org.size > 0) groupings.push('org');
  const groupWindows = factWindows(merge(needs.team, needs.org), clock, timeZone);
  const [directory, groups] = await Promise.all([
    reader.directory(),
    groupings.length > 0 && groupWindows.length > 0
      ? reader.sumFacts(groupWindows, groupings)
      : Promise.resolve<GroupedFactSums>({}),
  ]);
  const teams = subjectsOf(needs, [], directory.teams, groups);
  const teamIds = new Set(directory.teams.map((t) => t.id));
  const personWindows = factWindows(needs.person, clock, timeZone);
  const { people } = directory;
  const size = Math.max(1, slices.people);
  for (let from = 0; from === 0 || from < people.length; from += size) {
    if (from > 0) await slices.between();
    const slice = people.slice(from, from + size);
    const sums =
      slice.length > 0 && personWindows.length > 0
        ? await reader.sumFacts(personWindows, ['person'], { people: slice.map((p) => p.id) })
        : {};
    const input: EvaluateInput = {
      now: clock,
      subjects: [...subjectsOf(needs, slice, [], sums), ...teams],
    };
    if (from === 0 && needs.org.size > 0)
      input.org = { facts: factsFor(needs.org, groups.org, 'org') };
    const part = evaluate(ruleSet, input, { only: 'escalations' });
    if (from > 0) {
      part.subjects = part.subjects.filter((r) => r.kind !== 'team');
      part.errors = part.errors.filter((e) => !teamIds.has(e.subject));
    }
    take(part);
  }
  return { evaluated: people.length + directory.teams.length, directory };
}

/**
 * One person at `now`, with their team (team budgets; `team: false` skips reading them)
 * and, with `org: true`, org budgets.
 * Reads only that person's rows and, for the team, only what its budgets need (cost per
 * budget period): other team facts are 0 here. Leaderboard entries in this result are
 * within this small input and mean nothing: use evaluateOrg for boards.
 */
export async function evaluatePerson(
  reader: UsageReader,
  ruleSet: RuleSet,
  personId: string,
  now: Date | string | number,
  options: { org?: boolean; team?: boolean } = {},
): Promise<PersonEvaluation> {
  const clock = toDate(now);
  const { input, directory, known } = await collectPerson(
    reader,
    needsOf([ruleSet]),
    personId,
    clock,
    ruleSet.ir.timezone,
    {
      org: options.org,
      // `team: false` skips the team's rows (its budgets then read 0): a quota needs none
      teamReads: options.team === false ? new Map() : teamBudgetReads(ruleSet),
      partners: (team) => poolPartners(ruleSet, [team]),
    },
  );
  const result = evaluate(ruleSet, input);
  const person = result.subjects.find((s) => s.kind === 'person' && s.id === personId);
  if (!person) {
    const why = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new Error(`evaluation of person ${personId} failed: ${why || 'no result'}`);
  }
  const team = result.subjects.find((s) => s.kind === 'team') ?? null;
  return { result, directory, input, person, team, known };
}

/** These teams at `now`, over their members' current usage: budgets and team rules. */
export async function evaluateTeams(
  reader: UsageReader,
  ruleSet: RuleSet,
  teamIds: readonly string[],
  now: Date | string | number,
): Promise<EvaluateResult> {
  const clock = toDate(now);
  const windows = factWindows(ruleSet.required.team, clock, ruleSet.ir.timezone);
  // a pool weighs all its teams: its other teams are evaluated with these
  teamIds = [...teamIds, ...poolPartners(ruleSet, teamIds)];
  const wanted = new Set(teamIds);
  const [directory, sums] = await Promise.all([
    reader.directory({ teams: teamIds }),
    windows.length
      ? reader.sumFacts(windows, ['team'], { teams: teamIds })
      : Promise.resolve<GroupedFactSums>({}),
  ]);
  return evaluate(ruleSet, {
    now: clock,
    subjects: directory.teams
      .filter((t) => wanted.has(t.id))
      .map((t) => ({
        kind: 'team' as const,
        id: t.id,
        attributes: teamAttributes(t),
        facts: Object.fromEntries(
          windows.map((w) => [
            w.key,
            Object.fromEntries(w.facts.map((f) => [f, sums.team?.get(w.key)?.get(t.id)?.[f] ?? 0])),
          ]),
        ),
      })),
  });
}
