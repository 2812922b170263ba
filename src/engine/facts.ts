// Collecting facts: which windows a rule set reads (derived from its compiled
// requirements), what those windows are at a clock `now` in the policy timezone, and the
// EvaluateInput (subjects with attributes and facts) built from the reader's sums.
//
// Window semantics (the README ("The governance engine")):
// - calendar periods (day, week, month, quarter, year): every local day from the first
//   day of the period containing `now` through the local day of `now`, inclusive;
// - trailing `Nd` windows: the last N local days, today included;
// - sub-day windows (`12h`, `90m`): raw events with now - span < ts <= now;
// - `<window>@<environment>`: the same days, usage in that environment only;
// - `<window>#<project>`: the same days, usage tagged with that project only;
// - `day-N`: the one local day N days before today (a detector's daily series).
import type { Requirements, RuleSet } from '../policy/compile/ruleset.ts';
import { detectorReads } from '../policy/evaluate/detectors.ts';
import type { EvaluateInput, FactsByWindow, SubjectInput } from '../policy/evaluate/types.ts';
import { budgetWindowKey, type SubjectKind } from '../policy/ir.ts';
import {
  PERIODS,
  parseDaysAgo,
  parseSeasonKey,
  parseWindowKey,
  periodBounds,
  seasonOn,
  windowKeyMinutes,
} from '../policy/windows.ts';
import type {
  Directory,
  DirectoryPerson,
  DirectoryTeam,
  FactGrouping,
  FactSums,
  FactWindow,
  GroupedFactSums,
  UsageReader,
} from './ports.ts';
import { teamDaySums } from './team-days.ts';
import { addDays, localDate } from './usage.ts';

/** Fact names needed per window key, for each kind of subject (and the org). */
export type Needs = Record<SubjectKind | 'org', Requirements>;

/** The union of what several rule sets read (impact replay collects once for two versions). */
export function needsOf(ruleSets: readonly RuleSet[]): Needs {
  const out: Needs = { person: new Map(), team: new Map(), org: new Map() };
  for (const rs of ruleSets) {
    for (const kind of ['person', 'team', 'org'] as const) {
      for (const [window, facts] of rs.required[kind]) {
        let set = out[kind].get(window);
        if (!set) {
          set = new Set();
          out[kind].set(window, set);
        }
        for (const f of facts) set.add(f);
      }
    }
  }
  return out;
}

/** What the leaderboards read (cohort, eligible, exclude and score formulas). */
export function boardNeeds(ruleSet: RuleSet): Needs {
  return ruleSet.requiredBy.boards;
}

/** What a team's budgets read: cost per budget period (and environment scope). */
export function teamBudgetReads(ruleSet: RuleSet): Requirements {
  return ruleSet.requiredBy.escalations.team;
}

/**
 * What escalations read (tier assignment and rule conditions, tier periods, budgets), not
 * the leaderboards: re-evaluating people after ingest needs no board windows.
 */
export function escalationNeeds(ruleSet: RuleSet): Needs {
  return ruleSet.requiredBy.escalations;
}

/** Window keys of the budgets each team has (its own, and pools it draws from). */
export function teamBudgetKeys(ruleSet: RuleSet): Set<string> {
  return new Set(
    ruleSet.ir.budgets
      .filter((b) => b.scope !== 'org' && b.scope !== 'project')
      .map((b) => budgetWindowKey(b)),
  );
}

/** What team rules read: their conditions' facts and their detectors' windows. */
export function teamRuleReads(ruleSet: RuleSet): Requirements {
  const out: Requirements = new Map();
  const need = (window: string, fact: string) => {
    const set = out.get(window) ?? new Set<string>();
    set.add(fact);
    out.set(window, set);
  };
  for (const r of ruleSet.rules) {
    if (r.ir.subject !== 'team') continue;
    for (const f of r.when.facts) need(f.window, f.name);
    if (r.ir.detect) for (const [window, fact] of detectorReads(r.ir.detect)) need(window, fact);
  }
  return out;
}

/** Two fact sums together (the second's values win where both hold a fact). */
export function mergeSums(a: FactSums | undefined, b: FactSums | undefined): FactSums | undefined {
  if (!a || !b) return a ?? b;
  const out: FactSums = new Map();
  for (const sums of [a, b])
    for (const [window, byId] of sums) {
      const into = out.get(window) ?? new Map<string, Record<string, number>>();
      out.set(window, into);
      for (const [id, values] of byId) into.set(id, { ...into.get(id), ...values });
    }
  return out;
}

/** Merges requirement maps: window → union of facts. */
export function merge(...reqs: Requirements[]): Requirements {
  const out: Requirements = new Map();
  for (const req of reqs) {
    for (const [window, facts] of req) {
      const set = out.get(window) ?? new Set<string>();
      for (const f of facts) set.add(f);
      out.set(window, set);
    }
  }
  return out;
}

/** The concrete window for a key at `now` in `timeZone`. */
export function factWindow(
  key: string,
  facts: Iterable<string>,
  now: Date,
  timeZone: string,
): FactWindow {
  const { base, project, environment } = parseWindowKey(key);
  const list = [...facts].sort();
  const today = localDate(now, timeZone);
  const seasons = parseSeasonKey(base);
  if (seasons) {
    // the season's days up to today (none before it starts; all of it once it has ended)
    const season = seasonOn(seasons, today);
    const from = season?.from ?? today;
    const end = addDays(today, 1);
    const until = season && season.until < end ? season.until : end;
    return {
      kind: 'days',
      from,
      to: until < from ? from : until,
      key,
      environment,
      project,
      facts: list,
    };
  }
  if ((PERIODS as readonly string[]).includes(base)) {
    const start = periodBounds(base as (typeof PERIODS)[number], now, timeZone).start;
    return {
      kind: 'days',
      from: localDate(start, timeZone),
      to: addDays(today, 1),
      key,
      environment,
      project,
      facts: list,
    };
  }
  const ago = parseDaysAgo(base);
  if (ago !== null) {
    return {
      kind: 'days',
      from: addDays(today, -ago),
      to: addDays(today, 1 - ago),
      key,
      environment,
      project,
      facts: list,
    };
  }
  const minutes = windowKeyMinutes(base);
  if (minutes === null) throw new RangeError(`not a window key: ${key}`);
  if (minutes % 1440 === 0) {
    return {
      kind: 'days',
      from: addDays(today, -(minutes / 1440 - 1)),
      to: addDays(today, 1),
      key,
      environment,
      project,
      facts: list,
    };
  }
  return {
    kind: 'span',
    start: new Date(now.getTime() - minutes * 60_000),
    end: now,
    key,
    environment,
    project,
    facts: list,
  };
}

/** Every window in `req`, concrete at `now`, sorted by key. */
export function factWindows(req: Requirements, now: Date, timeZone: string): FactWindow[] {
  return [...req.keys()].sort().map((key) => factWindow(key, req.get(key)!, now, timeZone));
}

/** Person attributes as the evaluator reads them (`role`, `team`, `attributes.region` …). */
export function personAttributes(p: DirectoryPerson): Record<string, unknown> {
  return {
    name: p.name,
    team: p.team,
    role: p.role,
    manager: p.manager,
    opted_in: p.optedIn,
    from_directory: p.fromDirectory,
    attributes: p.attributes,
  };
}

export function teamAttributes(t: DirectoryTeam): Record<string, unknown> {
  return {
    name: t.name,
    parent: t.parent,
    cost_center: t.costCenter,
    sensitivity: t.sensitivity,
    owner: t.owner,
  };
}

/** Facts for one subject: every required fact in every required window, 0 where no rows. */
export function factsFor(req: Requirements, sums: FactSums | undefined, id: string): FactsByWindow {
  const out: FactsByWindow = {};
  for (const [window, names] of req) {
    const found = sums?.get(window)?.get(id);
    const values: Record<string, number> = {};
    for (const name of names) values[name] = found?.[name] ?? 0;
    out[window] = values;
  }
  return out;
}

/**
 * Teams that share a budget pool with any of `teams` and are not among them: a pool weighs
 * its teams' usage together, so evaluating one of its teams reads the others too.
 */
export function poolPartners(ruleSet: RuleSet, teams: readonly string[]): string[] {
  const have = new Set(teams);
  const out = new Set<string>();
  for (const b of ruleSet.ir.budgets)
    if (b.scope === 'pool' && b.teams?.some((t) => have.has(t)))
      for (const t of b.teams) if (!have.has(t)) out.add(t);
  return [...out].sort();
}

/** Evaluator subjects for these people and teams, with the facts `needs` asks for. */
export function subjectsOf(
  needs: Pick<Needs, 'person' | 'team'>,
  people: readonly DirectoryPerson[],
  teams: readonly DirectoryTeam[],
  sums: Pick<GroupedFactSums, 'person' | 'team'>,
): SubjectInput[] {
  return [
    ...people.map(
      (p): SubjectInput => ({
        kind: 'person',
        id: p.id,
        attributes: personAttributes(p),
        facts: factsFor(needs.person, sums.person, p.id),
      }),
    ),
    ...teams.map(
      (t): SubjectInput => ({
        kind: 'team',
        id: t.id,
        attributes: teamAttributes(t),
        facts: factsFor(needs.team, sums.team, t.id),
      }),
    ),
  ];
}

export type Collected = { input: EvaluateInput; directory: Directory };

/**
 * Everyone: all people and teams, with the facts `needs` names (org facts when it names
 * any). A boards-only evaluation passes `boardNeeds`: its subjects carry no other facts.
 */
export async function collectOrg(reader: UsageReader, needs: Needs, now: Date, timeZone: string) {
  const groupings: FactGrouping[] = ['person'];
  if (needs.team.size > 0) groupings.push('team');
  if (needs.org.size > 0) groupings.push('org');
  const windows = factWindows(merge(needs.person, needs.team, needs.org), now, timeZone);
  const [directory, sums] = await Promise.all([
    reader.directory(),
    windows.length ? reader.sumFacts(windows, groupings) : Promise.resolve<GroupedFactSums>({}),
  ]);
  const subjects = subjectsOf(needs, directory.people, directory.teams, sums);
  const input: EvaluateInput = { now, subjects };
  if (needs.org.size > 0) input.org = { facts: factsFor(needs.org, sums.org, 'org') };
  return { input, directory } satisfies Collected;
}

/** A person not in the directory (no usage yet): evaluated with no attributes. */
export function unknownPerson(id: string): DirectoryPerson {
  return {
    id,
    name: null,
    team: null,
    role: null,
    manager: null,
    optedIn: false,
    fromDirectory: false,
    attributes: {},
  };
}

/**
 * One person, plus their team (for team budgets) and, when asked, the org totals. Reads
 * only that person's rows and their team's rows: the quota hot path. `teamReads` narrows
 * what is read for the team (facts the team needs but that are not read are 0).
 */
export async function collectPerson(
  reader: UsageReader,
  needs: Needs,
  personId: string,
  now: Date,
  timeZone: string,
  options: {
    org?: boolean;
    teamReads?: Requirements;
    /** teams sharing a budget pool with the person's team (read with it, not as subjects) */
    partners?: (team: string) => string[];
  } = {},
): Promise<Collected & { known: boolean }> {
  const directory = await reader.directory({ people: [personId] });
  const found = directory.people.find((p) => p.id === personId);
  const person = found ?? unknownPerson(personId);
  const team = person.team ? directory.teams.find((t) => t.id === person.team) : undefined;

  const teamReads = options.teamReads ?? needs.team;
  const withTeam = team !== undefined && teamReads.size > 0;
  const partners = withTeam && options.partners ? options.partners(team.id) : [];
  const personWindows = factWindows(needs.person, now, timeZone);
  const wantOrg = options.org === true && needs.org.size > 0;
  const none = Promise.resolve<GroupedFactSums>({});
  // three small reads in parallel: the person's own rows (its key range), the team's
  // members over the budget periods only, and the org totals when asked
  const [mine, ours, orgSums] = await Promise.all([
    found && personWindows.length
      ? reader.sumFacts(personWindows, ['person'], { people: [personId] })
      : none,
    withTeam
      ? reader.sumFacts(factWindows(teamReads, now, timeZone), ['team'], {
          teams: [team.id, ...partners],
        })
      : none,
    wantOrg ? reader.sumFacts(factWindows(needs.org, now, timeZone), ['org']) : none,
  ]);
  const sums: GroupedFactSums = { person: mine.person, team: ours.team };
  const subjects = subjectsOf(needs, [person], team ? [team] : [], sums);
  const input: EvaluateInput = { now, subjects };
  if (wantOrg) input.org = { facts: factsFor(needs.org, orgSums.org, 'org') };
  if (partners.length > 0)
    input.poolTeams = Object.fromEntries(
      partners.map((t) => [t, factsFor(needs.team, ours.team, t)]),
    );
  return {
    input,
    directory: { people: [person], teams: team ? [team] : [] },
    known: found !== undefined,
  };
}

/**
 * Every team with the facts boards read, made of team-days of at least `floor` people
 * (team-days.ts), beside the whole directory (privacy judges team sizes by it); no people
 * are subjects. Team boards below governance are ranked on this.
 */
export async function collectTeamDays(
  reader: UsageReader,
  ruleSet: RuleSet,
  now: Date,
  floor: number,
): Promise<Collected> {
  const needs = boardNeeds(ruleSet);
  const windows = factWindows(needs.team, now, ruleSet.ir.timezone);
  const directory = await reader.directory();
  const teams = directory.teams.map((t) => t.id);
  const { sums } = windows.length
    ? await teamDaySums(reader, windows, { teams, floor })
    : { sums: undefined };
  const subjects = subjectsOf({ person: new Map(), team: needs.team }, [], directory.teams, {
    team: sums,
  });
  return { input: { now, subjects }, directory };
}
