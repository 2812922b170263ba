// Background work of one server instance: the budget pass (budget steps a fraction of a
// second behind ingest), re-evaluating people touched by ingest, the periodic escalation sweep (a singleton across instances, by lease), vacuuming the queues between them and webhook delivery.
// Each loop runs one round at a time; a failing round is logged and retried next round.
import type { Logger } from 'pino';
import { activePolicyFor } from '../app/active-policy.ts';
import { budgetHoldsFor } from '../app/budget-holds.ts';
import { escalationEventsFor } from '../app/escalation-events.ts';
import type { NotificationSettings } from '../app/notifications.ts';
import { reevaluationFor } from '../app/reevaluation.ts';
import type { Senders } from '../notify/index.ts';
import type { Store } from '../store/db.ts';
import { vacuumQueues } from '../store/jobs.ts';
import { describe } from './graphql-errors.ts';
import { digestRound, notifyRound } from './notification-delivery.ts';
import { isDatabaseUnavailable } from './unavailable.ts';
import { deliverDue } from './webhooks.ts';

export type WorkerOptions = {
  log: Logger;
  /** how often ingest's cost deltas are folded into budget holds (default 250 ms) */
  budgetEveryMs?: number;
  /** how often ingest-touched people are re-evaluated (default 1 s) */
  drainEveryMs?: number;
  /** how often the full sweep is attempted (default 5 min; ingest-driven changes do not wait for it) */
  sweepEveryMs?: number;
  /**
   * After a re-evaluation round that took t, the next waits at least this × t (default 4):
   * under sustained ingest, re-evaluation then takes at most a fifth of one connection's
   * time, and each round covers every person touched meanwhile, once.
   */
  drainRestFactor?: number;
  /** how often the queues ingest appends to are vacuumed (default 10 s) */
  vacuumEveryMs?: number;
  /** how often the outbox is polled (default 1 s) */
  deliverEveryMs?: number;
  /** how long stop() waits for running rounds (default 10 s) */
  stopGraceMs?: number;
  /** notifications to people (email, Slack, Teams); none: only webhooks are delivered */
  notifications?: {
    settings: NotificationSettings;
    senders: Senders;
    /** UTC hour of the daily digest (default 8) */
    digestHourUtc?: number;
  };
};

export type Workers = { stop(): Promise<void> };

export function startEnforcementWorkers(store: Store, options: WorkerOptions): Workers {
  const service = reevaluationFor(store);
  const policy = activePolicyFor(store);
  const log = options.log.child({ component: 'enforcement' });
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  const loop = (name: string, everyMs: number, round: () => Promise<unknown>, restFactor = 0) => {
    const run = () => {
      if (stopped) return;
      const started = Date.now();
      const p = round()
        .then((result) => {
          if (result && typeof result === 'object' && hasNews(result))
            log.info({ job: name, ...result }, name);
        })
        .catch((err) => {
          // the database away is expected (a stall, a restart, a backup holding it): one
          // warning line without a stack; anything else is an error with its stack
          if (isDatabaseUnavailable(err))
            log.warn(
              { job: name, reason: describe(err) },
              `${name}: database unavailable; retrying next round`,
            );
          else log.error({ err, job: name }, `${name} failed; retrying next round`);
        })
        .finally(() => {
          running.delete(p);
          if (stopped) return;
          timers.delete(timer);
          timer = setTimeout(run, nextRoundInMs(everyMs, Date.now() - started, restFactor));
          timer.unref();
          timers.add(timer);
        });
      running.add(p);
    };
    let timer = setTimeout(run, 0);
    timer.unref();
    timers.add(timer);
  };

  const budgets = budgetHoldsFor(store);
  // four times a second: logged only when a pass records a new step
  loop('budgets', options.budgetEveryMs ?? 250, async () => {
    const pass = await budgets.refresh();
    return pass.created > 0 ? pass : {};
  });
  loop(
    'reevaluate',
    options.drainEveryMs ?? 1_000,
    () => service.drainDirty(),
    options.drainRestFactor ?? 4,
  );
  loop('sweep', options.sweepEveryMs ?? 300_000, () => service.sweep());
  loop('vacuum-queues', options.vacuumEveryMs ?? 10_000, () => vacuumQueues(store));
  // a newly activated policy gets its holds now, not at the next periodic sweep
  loop('policy-watch', options.drainEveryMs ?? 1_000, () => service.sweepIfPolicyChanged());
  loop('deliver', options.deliverEveryMs ?? 1_000, () => deliverDue(store, { now: policy.now() }));
  const notifications = options.notifications;
  if (notifications) {
    loop('notify', options.deliverEveryMs ?? 1_000, () =>
      notifyRound(store, notifications.settings, notifications.senders, { now: policy.now() }),
    );
    loop('digest', 60_000, async () => {
      const done = await digestRound(
        store,
        notifications.settings,
        policy.now(),
        notifications.digestHourUtc ?? 8,
      );
      return done ?? {};
    });
  }

  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      // A sweep over a large organisation can outlast a shutdown; every round is idempotent
      // (unique escalation keys, the sweep lease expires), so a cut-short round is repeated
      // by the next start instead of holding SIGTERM hostage.
      let grace: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        grace = setTimeout(() => resolve('late'), options.stopGraceMs ?? 10_000);
      });
      if ((await Promise.race([Promise.allSettled([...running]), late])) === 'late') {
        log.warn({ rounds: running.size }, 'stopping with rounds still running');
      }
      clearTimeout(grace);
      notifications?.senders.close();
      await escalationEventsFor(store).close();
    },
  };
}

/**
 * When a loop's next round starts, after one that took `tookMs`: `everyMs` after the last
 * one started, at once when that one took longer (a budget pass under ingest, so a block
 * waits for no idle gap between passes), and never sooner than `restFactor` × its time.
 */
export function nextRoundInMs(everyMs: number, tookMs: number, restFactor: number): number {
  return Math.max(everyMs - tookMs, restFactor * tookMs, 0);
}

function hasNews(result: object): boolean {
  const r = result as Record<string, unknown>;
  // a round that did nothing is not logged: counts of 0 and empty lists (failed: []) say so
  const some = (v: unknown) => (Array.isArray(v) ? v.length > 0 : Boolean(v));
  return [
    r.people,
    r.created,
    r.newBadges,
    r.archivedSeasons,
    r.attempted,
    r.expiredExceptions,
    r.resolvedEscalations,
    r.queued,
    r.sent,
    r.failed,
    r.digests,
  ].some(some);
}
