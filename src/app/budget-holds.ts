// The budget pass: budget steps follow ingest within a fraction of a second. Ingest appends
// cost deltas (src/store/budget-spend.ts); each pass folds them into per-person period
// spend, re-weighs the budgets of the people they touched, those people's teams and the
// organisation, records the steps crossed and replaces those subjects' budget holds, which
// checkQuota reads. Re-evaluation of people (rules, the person's own quota) runs beside it
// at its own pace, and the sweep re-weighs everyone's budgets the same way.
//
// Spend is read and holds are written under one lock, so of two passes the later writes
// from the later totals: a slow pass cannot put back a hold that a newer one lifted, nor
// lift one a newer one set.
import { budgetPeriodsOf, weighBudgets } from '../engine/budget-evaluation.ts';
import type { SubjectRef } from '../engine/escalations.ts';
import { withExceptions } from '../engine/escalations.ts';
import { poolPartners, unknownPerson } from '../engine/facts.ts';
import { holdsFrom } from '../engine/holds.ts';
import type { Directory } from '../engine/ports.ts';
import { reportBudgetPass } from '../engine/telemetry.ts';
import type { IrBudget } from '../policy/ir.ts';
import {
  budgetSpend,
  fillBudgetPeriods,
  foldCostDeltas,
  withBudgetHoldsLock,
} from '../store/budget-spend.ts';
import type { Store } from '../store/db.ts';
import { activeExtras } from '../store/exceptions.ts';
import { writeHolds } from '../store/holds.ts';
import { usageReader } from '../store/usage-reader.ts';
import { activePolicyFor } from './active-policy.ts';
import { budgetStandingsFor } from './budget-metrics.ts';
import { recordFound } from './escalation-records.ts';
import { perStore } from './per-store.ts';

export type BudgetPass = {
  /** people, teams and org (0 or 1) whose budgets were weighed */
  people: number;
  teams: number;
  org: number;
  /** budget holds written */
  holds: number;
  /** escalations recorded for the first time */
  created: number;
};

export type BudgetHolds = {
  /**
   * Folds ingest's cost deltas and re-weighs the budgets of whoever they touched, and of
   * `people` (after a decision that changed their limits or their team).
   */
  refresh(options?: { people?: readonly string[] }): Promise<BudgetPass>;
  /** Re-weighs every budget of every subject (the sweep, a newly active policy). */
  refreshAll(): Promise<BudgetPass>;
};

export const budgetHoldsFor = perStore(createBudgetHolds);

const ORG: SubjectRef = { kind: 'org', id: 'org' };

/** Who person-scoped budgets cover: everyone (`budget each person`) or the people named. */
function personBudgetSubjects(budgets: readonly IrBudget[]): Set<string> | 'all' {
  const own = budgets.filter((b) => b.subject === 'person');
  if (own.some((b) => b.scope === 'each')) return 'all';
  return new Set(own.flatMap((b) => (b.id === null ? [] : [b.id])));
}

function createBudgetHolds(store: Store): BudgetHolds {
  const policy = activePolicyFor(store);
  const reader = usageReader(store);
  const standings = budgetStandingsFor(store);

  async function pass(extra: readonly string[] | 'all'): Promise<BudgetPass> {
    const report: BudgetPass = { people: 0, teams: 0, org: 0, holds: 0, created: 0 };
    const active = await policy.current();
    const rs = active?.ruleSet;
    if (!rs || rs.ir.budgets.length === 0) {
      // nothing to weigh: drop the deltas (periods are filled afresh when budgets appear)
      await foldCostDeltas(store);
      if (extra === 'all')
        await withBudgetHoldsLock(store, (db) => writeHolds(db, 'budget', 'all', []));
      return report;
    }
    const now = policy.now();
    const periods = budgetPeriodsOf(rs, now);
    await fillBudgetPeriods(store, periods);
    const changed = await foldCostDeltas(store);
    let directory: Directory;
    if (extra === 'all') {
      directory = await reader.directory();
    } else {
      const ids = [...new Set([...changed, ...extra])].sort();
      if (ids.length === 0) return report;
      const found = await reader.directory({ people: ids });
      const known = new Map(found.people.map((p) => [p.id, p]));
      directory = {
        people: ids.map((id) => known.get(id) ?? unknownPerson(id)),
        teams: found.teams,
      };
    }
    const whole = directory;
    // a person is weighed only where a budget covers people one by one: a pass after ingest
    // touches thousands of people, but their spend moves team and org budgets, which are
    // weighed from the team and org sums
    const weighed = personBudgetSubjects(rs.ir.budgets);
    if (weighed !== 'all')
      directory = { ...directory, people: directory.people.filter((p) => weighed.has(p.id)) };
    // a pool weighs all its teams together: its other teams are weighed (and held) with these
    const partners = poolPartners(
      rs,
      directory.teams.map((t) => t.id),
    );
    if (partners.length > 0)
      directory.teams.push(...(await reader.directory({ teams: partners })).teams);
    const people = directory.people.map((p) => p.id);
    const teams = directory.teams.map((t) => t.id);
    // project budgets are the organisation's too (its usage of the project)
    const withOrg = rs.ir.budgets.some((b) => b.scope === 'org' || b.scope === 'project');
    const extras = await activeExtras(store, now, extra === 'all' ? null : { people, teams });
    const drafts = await withBudgetHoldsLock(store, async (db) => {
      const spend = await budgetSpend(db, periods, {
        people: extra === 'all' ? 'all' : people,
        teams: extra === 'all' ? 'all' : teams,
        org: withOrg,
      });
      const weighing = weighBudgets(rs, now, directory, {
        ...spend,
        org: withOrg ? spend.org : null,
      });
      standings.record({
        policyHash: active.hash,
        at: now,
        all: extra === 'all',
        result: weighing.result,
        directory: whole,
      });
      const found = withExceptions(weighing.steps, extras);
      const holds = holdsFrom(found);
      const evaluated: SubjectRef[] | 'all' =
        extra === 'all'
          ? 'all'
          : [
              ...people.map((id) => ({ kind: 'person' as const, id })),
              ...teams.map((id) => ({ kind: 'team' as const, id })),
              ...(withOrg ? [ORG] : []),
            ];
      await writeHolds(db, 'budget', evaluated, holds);
      report.holds = holds.length;
      return found;
    });
    report.people = people.length;
    report.teams = teams.length;
    report.org = withOrg ? 1 : 0;
    report.created = (await recordFound(store, drafts, directory, now)).length;
    return report;
  }

  async function timed(extra: readonly string[] | 'all'): Promise<BudgetPass> {
    const started = performance.now();
    const report = await pass(extra);
    if (report.people + report.teams + report.org > 0)
      reportBudgetPass({
        seconds: (performance.now() - started) / 1000,
        people: report.people,
        teams: report.teams,
      });
    return report;
  }

  return {
    refresh: (options = {}) => timed(options.people ?? []),
    refreshAll: () => timed('all'),
  };
}
