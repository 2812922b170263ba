// The quota decision state of one process, in memory: every person's rows as the quota
// statement reads them (usage over the policy's windows, directory entry, exceptions,
// satisfied steps) and every subject's holds, kept current by a refresher that reads the
// change log (src/store/quota-changes.ts) and reads again only what changed. checkQuota
// answers from it while its last refresh is younger than the staleness bound, and from the
// database otherwise; each server process keeps its own (docs/enforcement.md, "Freshness").
//
// Consistency: a refresh reads the changes committed after the previous refresh's
// snapshot, then reads the changed rows again (after that snapshot). A person read by a
// checkQuota statement joins the cache only if no refresh result arrived while the
// statement was out, so the next refresh covers every change the statement could miss.

import type { HoldState } from '../engine/holds.ts';
import type { FactWindow } from '../engine/ports.ts';
import {
  type CheckQuotaRequest,
  type CheckQuotaResult,
  checkQuotaWith,
  type QuotaInputs,
  type QuotaSnapshot,
  quotaPlan,
  snapshotAt,
  tierOfSnapshot,
} from '../engine/quota-check.ts';
import { reportQuotaCacheRefresh } from '../engine/telemetry.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { quotaStateOf } from '../policy/evaluate/index.ts';
import type { QuotaState, TierAssignment } from '../policy/evaluate/types.ts';
import type { Store } from '../store/db.ts';
import { allPersonIds } from '../store/directory.ts';
import { pruneQuotaChanges, readQuotaChanges } from '../store/quota-changes.ts';
import { readHoldStates, readQuotaInputs } from '../store/quota-snapshot.ts';
import { activePolicyFor } from './active-policy.ts';
import { perStore } from './per-store.ts';

export type QuotaCacheOptions = {
  /** how often the refresher reads the change log; null: only when refresh() is called */
  refreshMs: number | null;
  /** answers come from memory only while the last successful refresh is younger than this */
  maxStalenessMs: number;
  /** a failed refresh (checks fall back to the database until one succeeds) */
  onError?: (error: unknown) => void;
};

export type QuotaCache = {
  /** Starts keeping the state (and the refresher, with refreshMs); the first refresh loads everyone. */
  start(options: QuotaCacheOptions): void;
  /** Stops the refresher and forgets the state; answers come from the database again. */
  stop(): void;
  /** The answer from memory, or null: not started, stale, not cached, or windows that move. */
  answer(request: CheckQuotaRequest, now: Date): CheckQuotaResult | null;
  /** The person's snapshot and tier from memory, or null (as for answer). */
  standing(personId: string, now: Date): QuotaStanding | null;
  /** Taken before a checkQuota statement is sent; remember() needs it. */
  ticket(): number;
  /** Keeps the rows a checkQuota statement read, if no refresh result arrived meanwhile. */
  remember(
    ticket: number,
    personIds: readonly string[],
    read: readonly QuotaInputs[],
    windows: readonly FactWindow[],
    policyHash: string,
  ): void;
  /** Reads the change log once and applies it (the refresher calls this; tests too). */
  refresh(): Promise<void>;
  /** The refresh interval while started (null: manual), for the bench and metrics. */
  refreshMs(): number | null;
};

/** What a quota answer is computed from: the rule set, the person's snapshot and tier. */
export type QuotaStanding = {
  ruleSet: RuleSet;
  snapshot: QuotaSnapshot;
  tier: TierAssignment | null;
  /** the tier's quota state at `now` (null without a tier), when the cache kept it */
  quota?: QuotaState | null;
};

type Entry = {
  inputs: QuotaInputs;
  windowsKey: string;
  policyHash: string;
  /** the tier assigned from these rows, once a check has needed it */
  tier?: TierAssignment | null;
  /** a check asked for this person since the rows were loaded at start */
  asked: boolean;
  /** what checks computed from these rows, and the span of clocks it holds for */
  kept?: Kept;
};

/**
 * The parts of a person's answer that do not depend on the request, kept between checks:
 * the snapshot until the next exception, satisfied step or hold expires (or the holds
 * change), and the quota state within its period (all of it but the forecast, which moves
 * with the clock and is computed when read).
 */
type Kept = {
  ruleSet: RuleSet;
  holdsVersion: number;
  /** the snapshot holds for clocks in [from, until) */
  from: number;
  until: number;
  snapshot: QuotaSnapshot;
  /** the quota state (null: no tier) for clocks in [periodFrom, periodUntil) */
  quota?: { state: QuotaState | null; periodFrom: number; periodUntil: number };
};

/** The first instant after `at` at which snapshotAt's answer changes. */
function nextExpiry(inputs: QuotaInputs, holds: readonly HoldState[], at: number): number {
  let until = Number.POSITIVE_INFINITY;
  for (const e of inputs.exceptions)
    if (e.expiresAt > at && e.expiresAt < until) until = e.expiresAt;
  for (const s of inputs.satisfied)
    if (s.periodEnd > at && s.periodEnd < until) until = s.periodEnd;
  for (const h of holds) {
    const end = Date.parse(h.periodEnd);
    if (end > at && end < until) until = end;
  }
  return until;
}

/**
 * The quota state at `now` from one kept for its period: the forecast is computed when read.
 * A class, so that the getter lives on the prototype: an object literal with a getter costs
 * a slow property definition on every check.
 */
class QuotaAtClock implements QuotaState {
  readonly tier: QuotaState['tier'];
  readonly period: QuotaState['period'];
  readonly periodStart: QuotaState['periodStart'];
  readonly periodEnd: QuotaState['periodEnd'];
  readonly limit: QuotaState['limit'];
  readonly used: QuotaState['used'];
  readonly remaining: QuotaState['remaining'];
  readonly percent: QuotaState['percent'];
  readonly band: QuotaState['band'];
  readonly bandReason: QuotaState['bandReason'];
  readonly nextThreshold: QuotaState['nextThreshold'];
  readonly allowedClasses: QuotaState['allowedClasses'];
  readonly #rs: RuleSet;
  readonly #tier: TierAssignment;
  readonly #facts: QuotaSnapshot['facts'];
  readonly #now: Date;

  constructor(
    kept: QuotaState,
    rs: RuleSet,
    tier: TierAssignment,
    facts: QuotaSnapshot['facts'],
    now: Date,
  ) {
    this.tier = kept.tier;
    this.period = kept.period;
    this.periodStart = kept.periodStart;
    this.periodEnd = kept.periodEnd;
    this.limit = kept.limit;
    this.used = kept.used;
    this.remaining = kept.remaining;
    this.percent = kept.percent;
    this.band = kept.band;
    this.bandReason = kept.bandReason;
    this.nextThreshold = kept.nextThreshold;
    this.allowedClasses = kept.allowedClasses;
    this.#rs = rs;
    this.#tier = tier;
    this.#facts = facts;
    this.#now = now;
  }

  get forecast(): QuotaState['forecast'] {
    return (quotaStateOf(this.#rs, this.#tier, this.#facts, this.#now) as QuotaState).forecast;
  }
}

/** People read again per statement by a refresh. */
const RELOAD_BATCH = 500;
/** People read again by one refresh at most (more changed are dropped instead). */
const MAX_RELOAD = 5_000;
/** The change log keeps this long; a refresher idle for half of it starts afresh. */
const LOG_KEEP_MS = 10 * 60_000;
const PRUNE_EVERY_MS = 60_000;
/** More people than this and the cache holds only those asked since it last started over. */
const MAX_PEOPLE = 500_000;

export const quotaCacheFor = perStore(createQuotaCache);

const windowKeys = new WeakMap<readonly FactWindow[], string | null>();

/** The identity of a set of whole-day windows; null when one moves with the clock. */
function windowsKeyOf(windows: readonly FactWindow[]): string | null {
  let key = windowKeys.get(windows);
  if (key === undefined) {
    key = windows.every((w) => w.kind === 'days')
      ? windows.map((w) => (w.kind === 'days' ? `${w.key}:${w.from}:${w.to}` : '')).join('|')
      : null;
    windowKeys.set(windows, key);
  }
  return key;
}

const subjectKey = (kind: string, id: string) => `${kind}\u0000${id}`;

function createQuotaCache(store: Store): QuotaCache {
  const policy = activePolicyFor(store);
  let options: QuotaCacheOptions | null = null;
  let entries = new Map<string, Entry>();
  let holds = new Map<string, HoldState[]>();
  /** changes whenever `holds` does: a kept snapshot is good for one version */
  let holdsVersion = 0;
  /** the snapshot of the last applied change read; null: start afresh */
  let since: string | null = null;
  /** when the last successful refresh sent its change read (performance.now()) */
  let freshAt = Number.NEGATIVE_INFINITY;
  let lastPrune = 0;
  let generation = 0;
  let refreshing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  function forget() {
    entries = new Map();
    holds = new Map();
    holdsVersion++;
    since = null;
    freshAt = Number.NEGATIVE_INFINITY;
    generation++;
  }

  // the windows' identity for the minute of the last check: checks cost no plan lookups
  let windowsAt: { rs: RuleSet; minute: number; key: string | null } | null = null;
  function windowsKeyAt(rs: RuleSet, now: Date): string | null {
    const minute = Math.floor(now.getTime() / 60_000);
    if (windowsAt?.rs !== rs || windowsAt.minute !== minute)
      windowsAt = { rs, minute, key: windowsKeyOf(quotaPlan(rs).windows(now)) };
    return windowsAt.key;
  }

  function holdsOf(personId: string, teamId: string | null): HoldState[] {
    const own = holds.get(subjectKey('person', personId)) ?? [];
    const team = teamId === null ? [] : (holds.get(subjectKey('team', teamId)) ?? []);
    const org = holds.get(subjectKey('org', 'org')) ?? [];
    return own.length + team.length + org.length === 0 ? own : [...own, ...team, ...org];
  }

  function standing(personId: string, now: Date): QuotaStanding | null {
    if (!options || performance.now() - freshAt > options.maxStalenessMs) return null;
    const entry = entries.get(personId);
    const rs = policy.lastKnown();
    if (!entry || !rs || entry.policyHash !== rs.hash) return null;
    entry.asked = true;
    if (windowsKeyAt(rs, now) !== entry.windowsKey) return null;
    const at = now.getTime();
    let kept = entry.kept;
    if (
      !kept ||
      kept.ruleSet !== rs ||
      kept.holdsVersion !== holdsVersion ||
      at < kept.from ||
      at >= kept.until
    ) {
      const held = holdsOf(personId, entry.inputs.person?.team ?? null);
      kept = {
        ruleSet: rs,
        holdsVersion,
        from: at,
        until: nextExpiry(entry.inputs, held, at),
        snapshot: snapshotAt(entry.inputs, held, now),
      };
      entry.kept = kept;
    }
    const snapshot = kept.snapshot;
    // the assignment depends only on the rows and the windows, both fixed for the entry
    if (entry.tier === undefined) entry.tier = tierOfSnapshot(rs, snapshot, personId, now);
    const tier = entry.tier;
    let quota = kept.quota;
    if (!quota || at < quota.periodFrom || at >= quota.periodUntil) {
      const state = tier && quotaStateOf(rs, tier, snapshot.facts, now);
      quota = {
        state,
        // a period's bounds are the same for every clock inside it
        periodFrom: state ? Date.parse(state.periodStart) : Number.NEGATIVE_INFINITY,
        periodUntil: state ? Date.parse(state.periodEnd) : Number.POSITIVE_INFINITY,
      };
      kept.quota = quota;
    }
    return {
      ruleSet: rs,
      snapshot,
      tier,
      quota: quota.state && tier && new QuotaAtClock(quota.state, rs, tier, snapshot.facts, now),
    };
  }

  function setHolds(rows: readonly HoldState[]) {
    holdsVersion++;
    for (const h of rows) {
      const key = subjectKey(h.subject.kind, h.subject.id);
      const list = holds.get(key);
      if (list) list.push(h);
      else holds.set(key, [h]);
    }
  }

  async function reload(personIds: readonly string[], now: Date, asked: boolean) {
    const rs = policy.lastKnown();
    if (!rs) {
      entries = new Map();
      return;
    }
    const windows = quotaPlan(rs).windows(now);
    const windowsKey = windowsKeyOf(windows);
    for (let i = 0; i < personIds.length; i += RELOAD_BATCH) {
      const batch = personIds.slice(i, i + RELOAD_BATCH);
      const read = await readQuotaInputs(store, batch, windows, now, { holds: false });
      for (let j = 0; j < batch.length; j++) {
        const inputs = read[j].inputs;
        if (windowsKey === null || inputs.policyHash !== rs.hash) entries.delete(batch[j]);
        else entries.set(batch[j], { inputs, windowsKey, policyHash: rs.hash, asked });
      }
    }
  }

  async function apply(): Promise<void> {
    const sentAt = performance.now();
    if (since !== null && sentAt - freshAt > LOG_KEEP_MS / 2) forget();
    const changes = await readQuotaChanges(store, since);
    // from here on, a checkQuota statement still out may have missed what this read found
    generation++;
    const now = policy.now();
    if (since === null || changes.policy) {
      await policy.current();
      entries = new Map();
      holds = new Map();
      setHolds(await readHoldStates(store, 'all', now)); // (a new holds version)
      await reload(await allPersonIds(store), now, false);
    } else {
      if (changes.holders.length > 0) {
        const read = await readHoldStates(store, changes.holders, now);
        for (const s of changes.holders) holds.delete(subjectKey(s.kind, s.id));
        setHolds(read); // (a new holds version)
      }
      // people checks ask for are read again (up to a bound per refresh); the others are
      // dropped, and their next check reads the database: ingest that touches everyone
      // costs a refresh no more than the people gateways are asking about
      const changed = new Set<string>();
      for (const id of changes.people) if (entries.has(id)) changed.add(id);
      if (changes.teams.size > 0)
        for (const [id, entry] of entries) {
          const team = entry.inputs.person?.team;
          if (team != null && changes.teams.has(team)) changed.add(id);
        }
      const again: string[] = [];
      for (const id of changed) {
        if (entries.get(id)?.asked && again.length < MAX_RELOAD) again.push(id);
        else entries.delete(id);
      }
      await reload(again, now, true);
    }
    since = changes.snapshot;
    freshAt = sentAt;
    reportQuotaCacheRefresh((performance.now() - sentAt) / 1000);
    if (sentAt - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = sentAt;
      await pruneQuotaChanges(store, LOG_KEEP_MS);
    }
  }

  function schedule() {
    if (!options || options.refreshMs === null || timer) return;
    timer = setTimeout(() => {
      timer = null;
      cache
        .refresh()
        .catch((error: unknown) => options?.onError?.(error))
        .finally(schedule);
    }, options.refreshMs);
    timer.unref();
  }

  const cache: QuotaCache = {
    start(next) {
      options = next;
      schedule();
    },

    stop() {
      options = null;
      if (timer) clearTimeout(timer);
      timer = null;
      forget();
    },

    answer(request, now) {
      const found = standing(request.personId, now);
      return (
        found &&
        checkQuotaWith(found.ruleSet, found.snapshot, request, now, found.tier, found.quota)
      );
    },

    standing,

    ticket: () => generation,

    remember(ticket, personIds, read, windows, policyHash) {
      if (!options || since === null || ticket !== generation) return;
      const windowsKey = windowsKeyOf(windows);
      if (windowsKey === null) return;
      if (entries.size + personIds.length > MAX_PEOPLE) entries = new Map();
      for (let i = 0; i < personIds.length; i++)
        if (read[i].policyHash === policyHash)
          entries.set(personIds[i], { inputs: read[i], windowsKey, policyHash, asked: true });
    },

    refresh() {
      if (!options) return Promise.resolve();
      refreshing ??= apply()
        .catch((error: unknown) => {
          // a refresh applied in part leaves no trustworthy state: start afresh
          forget();
          throw error;
        })
        .finally(() => {
          refreshing = null;
        });
      return refreshing;
    },

    refreshMs: () => options?.refreshMs ?? null,
  };
  return cache;
}
