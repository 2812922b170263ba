// Budgets on their own, from spend per period (the budget pass: see src/app/budget-holds.ts).
// Pure. The same evaluator as everywhere else weighs the budgets; the subjects carry only
// their budget spend, so their other verdicts (quota, rules, boards) mean nothing here and
// only budget steps are kept.
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { type EvaluateResult, evaluate } from '../policy/evaluate/index.ts';
import { budgetWindowKey, type Period } from '../policy/ir.ts';
import { parseWindowKey, periodBounds } from '../policy/windows.ts';
import { type EscalationDraft, escalationsFrom } from './escalations.ts';
import { factsFor, needsOf, subjectsOf } from './facts.ts';
import type { BudgetPeriod, Directory, FactSums } from './ports.ts';
import { localDate } from './usage.ts';

/** The current period of each budget window key ("month", "month@sandbox", "quarter#launch"). */
export function budgetPeriods(
  keys: readonly string[],
  now: Date,
  timeZone: string,
  /** window keys that only org-wide budgets read (spend kept as one total) */
  orgWide: ReadonlySet<string> = new Set(),
): BudgetPeriod[] {
  return keys.map((key) => {
    const { base, environment, project } = parseWindowKey(key);
    const bounds = periodBounds(base as Period, now, timeZone);
    return {
      key,
      environment,
      project,
      from: localDate(bounds.start, timeZone),
      until: localDate(bounds.end, timeZone),
      perPerson: !orgWide.has(key),
    };
  });
}

/** The current period of every budget the rule set declares, whatever its scope. */
export function budgetPeriodsOf(rs: RuleSet, now: Date): BudgetPeriod[] {
  const keys = new Set(rs.ir.budgets.map(budgetWindowKey));
  const perSubject = new Set(
    rs.ir.budgets.filter((b) => b.scope !== 'org' && b.scope !== 'project').map(budgetWindowKey),
  );
  const orgWide = new Set([...keys].filter((k) => !perSubject.has(k)));
  return budgetPeriods([...keys].sort(), now, rs.ir.timezone, orgWide);
}

export function isBudgetStep(d: EscalationDraft): boolean {
  return d.source === 'ladder' && d.ladder === 'budget';
}

/**
 * The budget steps crossed by these people, teams and (with org spend) the organisation,
 * and the budgets' standings they were read from.
 */
export function weighBudgets(
  rs: RuleSet,
  now: Date,
  directory: Directory,
  spend: { person: FactSums; team: FactSums; org: FactSums | null },
): { steps: EscalationDraft[]; result: EvaluateResult } {
  const needs = needsOf([rs]);
  const input = {
    now,
    subjects: subjectsOf(needs, directory.people, directory.teams, spend),
    org: spend.org ? { facts: factsFor(needs.org, spend.org, 'org') } : undefined,
  };
  const result = evaluate(rs, input);
  return { steps: escalationsFrom(result).filter(isBudgetStep), result };
}
