// Budgets: every budget of the active policy with limit, spent, remaining, percent, forecast
// and band, as this caller may see them. Facts come from the cached org evaluation; states
// are re-evaluated at the exact clock (forecasts move with time); approved money exceptions
// raise limits until they expire. Privacy (privacy.ts): below governance, budgets of hidden
// teams are left out, org-wide budgets are left out while any person is hidden (their spend
// is in the org total), a pool only when every team drawing from it could be shown, a
// personal budget only to its person, and a team's, pool's or the org's spend is rounded
// down to a tenth of its limit (two reads must not differ by one person's usage).
import { evaluateAt } from '../engine/cache.ts';
import type { BudgetState } from '../policy/evaluate/types.ts';
import type { Store } from '../store/db.ts';
import { activeExtras } from '../store/exceptions.ts';
import type { Session } from './caller.ts';
import { NoActivePolicyError } from './errors.ts';
import { perStore } from './per-store.ts';
import { coarseBudgetState, type Identity, privacyFor } from './privacy.ts';
import { readServiceFor } from './reads.ts';

export type BudgetRow = {
  subjectKind: 'org' | 'team' | 'person';
  subjectId: string | null;
  /** the subject as this caller sees it */
  shown: Identity | null;
  currency: string;
  /** people in the team (team budgets) */
  people: number | null;
  state: BudgetState;
  /** extra money of approved, unexpired exceptions for this subject */
  extraMoney: number;
};

export type BudgetList = {
  rows: BudgetRow[];
  suppressed: number;
  minGroupSize: number;
  stale: boolean;
};

export type Budgets = {
  list(session: Session, filter: { team?: string | null }): Promise<BudgetList>;
};

export const budgetsFor = perStore(createBudgets);

function createBudgets(store: Store): Budgets {
  const reads = readServiceFor(store);
  const privacy = privacyFor(store);
  return {
    async list(session, filter) {
      const { caller, audit } = session;
      const active = await reads.active();
      if (!active) throw new NoActivePolicyError();
      const { ruleSet, watermark } = active;
      const now = reads.now();
      const [{ evaluation, stale }, view] = await Promise.all([
        reads.cache.current(ruleSet, now, watermark),
        privacy.view(session),
      ]);
      const personBudgets = new Set(
        ruleSet.budgets.filter((b) => b.subject === 'person' && b.id).map((b) => b.id as string),
      );
      const result = evaluateAt(
        ruleSet,
        evaluation,
        now,
        (s) => s.kind === 'team' || personBudgets.has(s.id),
        true,
      );
      const sizes = new Map<string, number>();
      for (const p of evaluation.directory.people)
        if (p.team) sizes.set(p.team, (sizes.get(p.team) ?? 0) + 1);
      const currency = ruleSet.ir.currency;
      const rows: BudgetRow[] = [];
      let suppressed = 0;
      if (!filter.team) {
        for (const state of result.org?.budgets ?? []) {
          // a project may be one person's work: its budget is shown to governance only
          if (!view.named && (view.anyHidden || state.project !== null)) {
            suppressed++;
            continue;
          }
          rows.push({
            subjectKind: 'org',
            subjectId: null,
            shown: null,
            currency,
            people: null,
            state,
            extraMoney: 0,
          });
        }
      }
      const subjects = [...result.subjects].sort((a, b) =>
        a.kind === b.kind ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.kind === 'team' ? -1 : 1,
      );
      for (const s of subjects) {
        if (filter.team && !(s.kind === 'team' && s.id === filter.team)) continue;
        for (const state of s.budgets) {
          if (s.kind === 'person') {
            if (!view.named && s.id !== caller.person) {
              suppressed++;
              continue;
            }
            rows.push({
              subjectKind: 'person',
              subjectId: s.id,
              shown: view.identity(s.id),
              currency,
              people: 1,
              state,
              extraMoney: 0,
            });
            continue;
          }
          // team budgets: a restricted team is absent; a small team is counted as suppressed
          if (view.teamAbsent(s.id)) continue;
          const people = sizes.get(s.id) ?? 0;
          if (!view.named && (!view.teamVisible(s.id) || people < view.minGroupSize)) {
            suppressed++;
            continue;
          }
          // a pool sums its teams: shown below governance only when each of them could be
          const poolHidden = (state.poolTeams ?? []).some(
            (t) => !view.teamVisible(t) || (sizes.get(t) ?? 0) < view.minGroupSize,
          );
          if (!view.named && poolHidden) {
            suppressed++;
            continue;
          }
          rows.push({
            subjectKind: 'team',
            subjectId: s.id,
            shown: { id: s.id, masked: false },
            currency,
            people,
            state,
            extraMoney: 0,
          });
        }
      }
      const extras = await activeExtras(store, now, {
        people: rows.filter((r) => r.subjectKind === 'person').map((r) => r.subjectId as string),
        teams: rows.filter((r) => r.subjectKind === 'team').map((r) => r.subjectId as string),
      });
      // money exceptions raise money budgets only
      for (const r of rows)
        if (r.subjectKind !== 'org' && r.state.unit === 'money')
          r.extraMoney = extras.money.get(`${r.subjectKind}:${r.subjectId}`) ?? 0;
      // a group's live spend is rounded below governance (privacy.md, R13)
      if (!view.named)
        for (const r of rows) if (r.subjectKind !== 'person') r.state = coarseBudgetState(r.state);
      if (view.named)
        for (const r of rows)
          if (r.subjectKind === 'person' && r.subjectId && r.subjectId !== caller.person)
            await audit.record({ action: 'read.budget', subject: r.subjectId });
      return { rows, suppressed, minGroupSize: view.minGroupSize, stale };
    },
  };
}
