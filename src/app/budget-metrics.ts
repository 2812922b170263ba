// Which budget figures an operator's metrics may carry. /metrics is read by monitoring
// systems, not by a governance role, so it obeys the rules for roles below governance:
// - person budgets are never exported;
// - a team budget is exported only for a team that is not restricted and has at least
//   min_group_size people;
// - the org budget is exported only when subtracting the exported team budgets from it
//   cannot isolate a hidden group: everyone outside the exported teams is either nobody,
//   or at least min_group_size people none of whom is in a restricted team. Otherwise it
//   is withheld (the team budgets are the finer signal for alerts).
//
// The figures are those of the budget passes (budget-holds.ts), kept here as each pass
// weighs them: a scrape reads memory and never evaluates the organisation. A full pass (the
// sweep) replaces them all, including what the privacy rules read (team sizes, restricted
// teams); a pass after ingest replaces the standings of the teams it weighed and the org's.
import type { Directory } from '../engine/ports.ts';
import type { RuleSet } from '../policy/compile/index.ts';
import type { BudgetState, EvaluateResult } from '../policy/evaluate/types.ts';
import { perStore } from './per-store.ts';

export type BudgetFigure = {
  /** the budget as the policy names it: "org", "each team", "team platform", … */
  budget: string;
  /** the team id, or "" for the org budget */
  team: string;
  currency: string;
  period: string;
  spent: number;
  limit: number;
  /** projected end-of-period spend */
  forecast: number;
};

export type BudgetFigures = {
  figures: BudgetFigure[];
  /** budgets left out, by reason (person, small_or_restricted_team, org_complement, project, pool) */
  withheld: Record<string, number>;
};

/** Who is in which team, as the privacy rules of the exported figures read it. */
type Membership = {
  /** the team of each person (null: none) */
  people: (string | null)[];
  restricted: Set<string>;
};

export type PassStandings = {
  /** the policy version weighed */
  policyHash: string;
  /** the pass's clock */
  at: Date;
  /** whether the pass weighed every subject (then `directory` is the whole directory) */
  all: boolean;
  result: Pick<EvaluateResult, 'subjects' | 'org'>;
  directory: Directory;
};

export type BudgetStandings = {
  /** Keeps what a budget pass weighed. */
  record(pass: PassStandings): void;
  /**
   * The figures of the passes so far under this policy version, and when the newest pass
   * ran; null before a full pass of this version (the privacy rules need the whole
   * directory).
   */
  figures(ruleSet: RuleSet, policyHash: string): (BudgetFigures & { at: Date }) | null;
};

export const budgetStandingsFor = perStore(createBudgetStandings);

/** Standings of one store's passes (budgetStandingsFor shares one per store). */
export function createBudgetStandings(): BudgetStandings {
  let kept: {
    policyHash: string;
    at: Date;
    membership: Membership;
    teams: Map<string, BudgetState[]>;
    org: BudgetState[] | null;
  } | null = null;
  return {
    record(pass) {
      if (pass.all) {
        kept = {
          policyHash: pass.policyHash,
          at: pass.at,
          membership: membershipOf(pass.directory),
          teams: new Map(),
          org: null,
        };
      } else if (kept?.policyHash !== pass.policyHash) return;
      else {
        kept.at = pass.at;
        // a team newly restricted is withheld at once; a team opened waits for the sweep
        for (const t of pass.directory.teams)
          if (t.sensitivity === 'restricted') kept.membership.restricted.add(t.id);
      }
      for (const subject of pass.result.subjects)
        if (subject.kind === 'team') kept.teams.set(subject.id, subject.budgets);
      if (pass.result.org) kept.org = pass.result.org.budgets;
    },
    figures(ruleSet, policyHash) {
      if (kept?.policyHash !== policyHash) return null;
      const teams = [...kept.teams].map(([id, budgets]) => ({ id, budgets }));
      return { ...budgetFiguresForMetrics(ruleSet, teams, kept.org, kept.membership), at: kept.at };
    },
  };
}

function membershipOf(directory: Directory): Membership {
  return {
    people: directory.people.map((p) => p.team),
    restricted: new Set(
      directory.teams.filter((t) => t.sensitivity === 'restricted').map((t) => t.id),
    ),
  };
}

export function budgetFiguresForMetrics(
  ruleSet: RuleSet,
  teams: readonly { id: string; budgets: readonly BudgetState[] }[],
  org: readonly BudgetState[] | null,
  membership: Membership,
): BudgetFigures {
  const k = ruleSet.ir.privacy.minGroupSize;
  const { restricted } = membership;
  const sizes = new Map<string, number>();
  for (const team of membership.people) if (team) sizes.set(team, (sizes.get(team) ?? 0) + 1);
  const visible = (team: string) => !restricted.has(team) && (sizes.get(team) ?? 0) >= k;

  const currency = ruleSet.ir.currency;
  const figures: BudgetFigure[] = [];
  const withheld: Record<string, number> = {};
  const withhold = (reason: string, n = 1) => {
    withheld[reason] = (withheld[reason] ?? 0) + n;
  };
  withhold('person', ruleSet.budgets.filter((b) => b.subject === 'person').length);

  const exportedTeams = new Set<string>();
  for (const subject of teams) {
    for (const state of subject.budgets) {
      if (!visible(subject.id)) {
        withhold('small_or_restricted_team');
        continue;
      }
      // a pool's spend less its team's own is its other teams' spend
      if (state.poolTeams) {
        withhold('pool');
        continue;
      }
      exportedTeams.add(subject.id);
      figures.push(figure(state, subject.id, state.unit === 'tokens' ? 'tokens' : currency));
    }
  }

  const hidden = membership.people.filter((team) => !team || !exportedTeams.has(team));
  const complementSafe =
    hidden.length === 0 ||
    (hidden.length >= k && !hidden.some((team) => team && restricted.has(team)));
  for (const state of org ?? []) {
    // a project may be one person's work
    if (state.project !== null) {
      withhold('project');
      continue;
    }
    if (exportedTeams.size > 0 && !complementSafe) {
      withhold('org_complement');
      continue;
    }
    figures.push(figure(state, '', state.unit === 'tokens' ? 'tokens' : currency));
  }
  figures.sort((a, b) => (a.budget + a.team < b.budget + b.team ? -1 : 1));
  return { figures, withheld };
}

function figure(
  state: {
    key: string;
    period: string;
    spent: number;
    limit: number;
    forecast: { value: number };
  },
  team: string,
  currency: string,
): BudgetFigure {
  return {
    budget: state.key,
    team,
    currency,
    period: state.period,
    spent: state.spent,
    limit: state.limit,
    forecast: state.forecast.value,
  };
}
