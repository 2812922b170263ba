// Which budget figures an operator's metrics may carry. /metrics is read by monitoring
// systems, not by a governance role, so it obeys the rules for roles below governance:
// - person budgets are never exported;
// - a team budget is exported only for a team that is not restricted and has at least
//   min_group_size people;
// - the org budget is exported only when subtracting the exported team budgets from it
//   cannot isolate a hidden group: everyone outside the exported teams is either nobody,
//   or at least min_group_size people none of whom is in a restricted team. Otherwise it
//   is withheld (the team budgets are the finer signal for alerts).
import { evaluateAt } from '../engine/cache.ts';
import type { Evaluation } from '../engine/evaluation.ts';
import type { RuleSet } from '../policy/compile/index.ts';

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

export function budgetFiguresForMetrics(
  ruleSet: RuleSet,
  evaluation: Evaluation,
  now: Date,
): BudgetFigures {
  const k = ruleSet.ir.privacy.minGroupSize;
  const restricted = new Set(
    evaluation.directory.teams.filter((t) => t.sensitivity === 'restricted').map((t) => t.id),
  );
  const sizes = new Map<string, number>();
  for (const p of evaluation.directory.people)
    if (p.team) sizes.set(p.team, (sizes.get(p.team) ?? 0) + 1);
  const visible = (team: string) => !restricted.has(team) && (sizes.get(team) ?? 0) >= k;

  const result = evaluateAt(ruleSet, evaluation, now, (s) => s.kind === 'team', true);
  const currency = ruleSet.ir.currency;
  const figures: BudgetFigure[] = [];
  const withheld: Record<string, number> = {};
  const withhold = (reason: string, n = 1) => {
    withheld[reason] = (withheld[reason] ?? 0) + n;
  };
  withhold('person', ruleSet.budgets.filter((b) => b.subject === 'person').length);

  const exportedTeams = new Set<string>();
  for (const subject of result.subjects) {
    if (subject.kind !== 'team') continue;
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

  const hidden = evaluation.directory.people.filter((p) => !p.team || !exportedTeams.has(p.team));
  const complementSafe =
    hidden.length === 0 ||
    (hidden.length >= k && !hidden.some((p) => p.team && restricted.has(p.team)));
  for (const state of result.org?.budgets ?? []) {
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
