// Re-evaluation: after ingest (the people it touched), on a decision that changes a limit,
// and in the periodic sweep (everyone, with time-based rules). Each round records the
// escalations it finds (idempotent by key), replaces the evaluated subjects' rule holds
// (what checkQuota weighs besides the tier and budgets), and announces new escalations;
// the sweep also records newly earned badges for announcement (badge-announcements.ts)
// and archives the final standings of ended seasons (seasons.ts).
// Budget steps belong to the budget pass (budget-holds.ts), which each round asks to
// re-weigh the same people, and the sweep everyone.
import { isBudgetStep } from '../engine/budget-evaluation.ts';
import { type EscalationDraft, escalationsFrom, withExceptions } from '../engine/escalations.ts';
import { sweepOrg } from '../engine/evaluation.ts';
import { holdsFrom } from '../engine/holds.ts';
import { evaluatePeople } from '../engine/reevaluate.ts';
import type { Store } from '../store/db.ts';
import type { EscalationRow } from '../store/escalations.ts';
import { resolveEndedEscalations } from '../store/escalations.ts';
import { activeExtras, expireExceptions } from '../store/exceptions.ts';
import { replaceHolds } from '../store/holds.ts';
import { lastDirtySeq, markDirty, releaseLease, takeDirtyPeople, tryLease } from '../store/jobs.ts';
import { usageReader } from '../store/usage-reader.ts';
import { activePolicyFor } from './active-policy.ts';
import { recordNewBadgeAwards } from './badge-announcements.ts';
import { budgetHoldsFor } from './budget-holds.ts';
import { recordFound } from './escalation-records.ts';
import { perStore } from './per-store.ts';
import { archiveEndedSeasons } from './seasons.ts';

export const SWEEP_JOB = 'escalation-sweep';

export type SweepReport = {
  skipped: boolean;
  reason?: string;
  at: string;
  evaluated: number;
  created: number;
  expiredExceptions: number;
  resolvedEscalations: number;
  /** badge awards newly earned (per badge, person and window), queued for announcement */
  newBadges: number;
  /** season boards whose ended season's final standings were archived */
  archivedSeasons: number;
};

export type DrainReport = {
  people: number;
  created: number;
  failed: string[];
  /** batches taken: each one evaluation, sized to hold the event loop about `sliceMs` */
  batches: number;
};

export type ReevaluationOptions = {
  /**
   * How long one batch's evaluation may hold the event loop (default 50 ms): the server
   * answers requests between batches, so the next batch is sized from the last one's time.
   */
  sliceMs?: number;
  /** reads elapsed ms (tests inject one) */
  clock?: () => number;
};

/** Batch sizes: the first of a service, and the fewest people a batch takes. */
const FIRST_BATCH = 50;
const MIN_BATCH = 5;
/** People per slice of the sweep's evaluation: each slice holds the event loop once. */
const SWEEP_SLICE = 1_000;

/** Lets the event loop answer what is waiting (requests, timers) before the next batch. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Reevaluation = {
  /** Evaluates these people (and their teams), records what they crossed, replaces their holds. */
  reevaluatePeople(people: readonly string[]): Promise<EscalationRow[]>;
  /** Re-evaluates the people ingest marked since the last drain. */
  drainDirty(limit?: number): Promise<DrainReport>;
  /**
   * The periodic sweep: everyone (forecasts, time-based rules, org budgets), expiries, ended
   * periods. Runs only under the job lease, so of N instances one sweeps at a time; `force`
   * skips the lease (records stay idempotent either way).
   */
  sweep(options?: { force?: boolean; holder?: string }): Promise<SweepReport>;
  /**
   * Sweeps when the active policy changed since this service last swept (null otherwise):
   * holds record the policy that made them, and the hot path ignores another policy's, so
   * a newly activated version needs its holds at once, not at the next periodic sweep.
   */
  sweepIfPolicyChanged(): Promise<SweepReport | null>;
};

export const reevaluationFor = perStore(createReevaluation);

/** A service of its own (another instance's, in tests); reevaluationFor shares one per store. */
export function createReevaluation(store: Store, options: ReevaluationOptions = {}): Reevaluation {
  const sliceMs = options.sliceMs ?? 50;
  const clock = options.clock ?? (() => performance.now());
  const policy = activePolicyFor(store);
  const reader = usageReader(store);
  const budgets = budgetHoldsFor(store);
  const holder = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let sweptHash: string | null = null;
  // people per batch, carried from round to round
  let batch = FIRST_BATCH;

  /** Re-evaluates people, and how long their evaluation held the event loop. */
  async function reevaluate(
    people: readonly string[],
  ): Promise<{ created: EscalationRow[]; evaluatedMs: number }> {
    const active = await policy.current();
    if (!active || people.length === 0) return { created: [], evaluatedMs: 0 };
    const now = policy.now();
    const { result, directory, evaluatedMs } = await evaluatePeople(
      reader,
      active.ruleSet,
      people,
      now,
      clock,
    );
    const extra = await activeExtras(store, now, {
      people,
      teams: directory.teams.map((t) => t.id),
    });
    const drafts = withExceptions(
      escalationsFrom(result).filter((d) => !isBudgetStep(d)),
      extra,
    );
    const created = await recordFound(store, drafts, directory, now);
    await replaceHolds(
      store,
      'rule',
      result.subjects.map((s) => ({ kind: s.kind, id: s.id })),
      holdsFrom(drafts),
    );
    await budgets.refresh({ people });
    return { created, evaluatedMs };
  }

  const service: Reevaluation = {
    async reevaluatePeople(people) {
      return (await reevaluate(people)).created;
    },

    async drainDirty(limit = 500) {
      const report: DrainReport = { people: 0, created: 0, failed: [], batches: 0 };
      // an exception that just expired lowers a limit: its people are re-evaluated now
      await markDirty(store, await expireExceptions(store, policy.now()));
      // a round takes only what was queued before it began: under sustained ingest the
      // queue never empties, and an unbounded round never rested (see drainRestFactor)
      const end = await lastDirtySeq(store);
      if (end === null) return report;
      for (;;) {
        const size = Math.max(1, Math.min(batch, limit));
        const people = await takeDirtyPeople(store, size, end);
        if (people.length === 0) break;
        report.people += people.length;
        report.batches++;
        try {
          const { created, evaluatedMs } = await reevaluate(people);
          report.created += created.length;
          // next batch: as many people as fit in the slice at this batch's pace
          if (people.length === size)
            batch = Math.max(
              MIN_BATCH,
              Math.min(limit, Math.floor((size * sliceMs) / Math.max(evaluatedMs, 1))),
            );
        } catch (error) {
          // put them back for the next round; the sweep catches them in any case
          await markDirty(store, people).catch(() => {});
          report.failed.push(error instanceof Error ? error.message : String(error));
          break;
        }
        if (people.length < size) break;
        await yieldToEventLoop();
      }
      return report;
    },

    async sweep(options = {}) {
      const now = policy.now();
      const me = options.holder ?? holder;
      const report: SweepReport = {
        skipped: false,
        at: now.toISOString(),
        evaluated: 0,
        created: 0,
        expiredExceptions: 0,
        resolvedEscalations: 0,
        newBadges: 0,
        archivedSeasons: 0,
      };
      if (!options.force && !(await tryLease(store, SWEEP_JOB, me, 10 * 60_000))) {
        return { ...report, skipped: true, reason: 'another instance holds the sweep lease' };
      }
      try {
        report.expiredExceptions = (await expireExceptions(store, now)).length;
        report.resolvedEscalations = await resolveEndedEscalations(store, now);
        const active = await policy.current();
        if (!active) {
          await replaceHolds(store, 'rule', 'all', []);
          await budgets.refreshAll();
          return { ...report, reason: 'no active policy' };
        }
        sweptHash = active.hash;
        // a slice of people at a time: the sweep holds one slice's facts, not everyone's
        const found: EscalationDraft[] = [];
        const { evaluated, directory } = await sweepOrg(
          reader,
          active.ruleSet,
          now,
          { people: SWEEP_SLICE, between: yieldToEventLoop },
          (part) => {
            for (const d of escalationsFrom(part)) if (!isBudgetStep(d)) found.push(d);
          },
        );
        report.evaluated = evaluated;
        const drafts = withExceptions(found, await activeExtras(store, now));
        const created = await recordFound(store, drafts, directory, now);
        await replaceHolds(store, 'rule', 'all', holdsFrom(drafts));
        report.created = created.length + (await budgets.refreshAll()).created;
        report.newBadges = await recordNewBadgeAwards(store, now);
        report.archivedSeasons = await archiveEndedSeasons(store, now);
        return report;
      } finally {
        if (!options.force) await releaseLease(store, SWEEP_JOB, me, report);
      }
    },

    async sweepIfPolicyChanged() {
      const active = await policy.current();
      if (!active || active.hash === sweptHash) return null;
      const report = await service.sweep();
      // another instance holds the lease and sweeps: it evaluates the same active version
      if (report.skipped) sweptHash = active.hash;
      return report;
    },
  };
  return service;
}
