// Pricing use cases: which provider names are unpriced (and what to declare for them), and
// repricing stored usage under the active policy (`quotient reprice`, the `repriceUsage`
// mutation). Every reprice run is audited (`usage.reprice`: who, which days, how many
// events changed), also one stopped by an error, with the days it finished.
//
// Privacy: model names and event counts are not personal, and the counts are org-wide.
// Governance sees every unpriced name with its counts. A viewer sees only names used by
// at least min_group_size people, so a name used by one or two people does not reveal
// their volume; members and ingest keys see nothing. Repricing is governance work.
import { picoToDecimal } from '../policy/price.ts';
import { declarationToAdd } from '../policy/suggest-model.ts';
import type { Store } from '../store/db.ts';
import { activeIngestSettings, activePolicyIr } from '../store/prices.ts';
import { repriceDay, unpricedModelCounts, usageDays } from '../store/pricing.ts';
import { writeAudit } from './audit.ts';
import type { Caller } from './caller.ts';
import {
  ForbiddenError,
  InvalidArgumentError,
  InvalidRequestError,
  NoActivePolicyError,
} from './errors.ts';
import { can, type Role } from './roles.ts';

export type PricingCaller = { role: Role };

export type UnpricedModel = {
  model: string;
  events: number;
  /** distinct people; null below governance */
  people: number | null;
  /** the declaration that would price this name */
  declaration: string;
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function checkDay(name: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
    throw new InvalidArgumentError(name, `${name}: "${value}" is not a date (YYYY-MM-DD)`);
  return value;
}

/** Unpriced provider names since a local day (all time without), most events first. */
export async function listUnpricedModels(
  store: Store,
  caller: PricingCaller,
  args: { since?: string | null },
): Promise<UnpricedModel[]> {
  const governance = can(caller.role, 'governance');
  if (!governance && caller.role !== 'viewer')
    throw new ForbiddenError(`role "${caller.role}" may not read organisation-wide usage`);
  const since = checkDay('since', args.since);
  const ir = await activePolicyIr(store);
  const { prices } = await activeIngestSettings(store);
  const minGroup = ir?.privacy.minGroupSize ?? 5;
  const rows = await unpricedModelCounts(store, since);
  return rows
    .filter((r) => governance || r.people >= minGroup)
    .map((r) => ({
      model: r.model,
      events: r.events,
      people: governance ? r.people : null,
      declaration: declarationToAdd(prices, r.model),
    }));
}

export type RepriceResult = {
  days: number;
  events: number;
  changed: number;
  unpriced: number;
  /** exact decimal strings in the policy currency */
  costBefore: string;
  costAfter: string;
  currency: string;
};

export type RepriceArgs = { since?: string | null; until?: string | null };

/** Who reprices: a key's caller, or null for the local command (it holds the database). */
export type RepriceCaller = Pick<Caller, 'keyId' | 'role'> | null;

/**
 * Prices stored usage again under the active policy, one local day per transaction (so a
 * stopped run leaves whole days done and the rest as they were; running it again finishes
 * the job and changes nothing more). `onDay` reports progress after each day.
 */
export async function repriceUsage(
  store: Store,
  caller: RepriceCaller,
  args: RepriceArgs,
  onDay?: (done: number, total: number) => void,
): Promise<RepriceResult> {
  if (caller !== null && !can(caller.role, 'governance'))
    throw new ForbiddenError('repricing stored usage is governance work');
  const since = checkDay('since', args.since);
  const until = checkDay('until', args.until);
  if (since && until && since >= until)
    throw new InvalidRequestError([
      { field: 'until', message: `must be after since (${since}); until is exclusive` },
    ]);
  const ir = await activePolicyIr(store);
  if (!ir) throw new NoActivePolicyError();
  const { prices, timezone } = await activeIngestSettings(store);
  const days = await usageDays(store, since, until);
  const result = { days: days.length, events: 0, changed: 0, unpriced: 0 };
  let before = 0n;
  let after = 0n;
  let done = 0;
  const audit = (error: unknown) =>
    writeAudit(store, caller, [
      {
        action: 'usage.reprice',
        subject: `${since ?? 'start'}..${until ?? 'end'}`,
        detail: {
          since,
          until,
          policy: ir.meta.version,
          daysDone: done,
          days: days.length,
          events: result.events,
          changed: result.changed,
          unpriced: result.unpriced,
          costBefore: picoToDecimal(before),
          costAfter: picoToDecimal(after),
          currency: ir.currency,
          ...(error === null ? {} : { stopped: String(error) }),
        },
      },
    ]);
  onDay?.(0, days.length);
  try {
    for (const d of days) {
      const day = await repriceDay(store, d, prices, timezone);
      result.events += day.events;
      result.changed += day.changed;
      result.unpriced += day.unpriced;
      before += day.costBefore;
      after += day.costAfter;
      done++;
      onDay?.(done, days.length);
    }
  } catch (error) {
    // the days already done stay repriced: the log says how far it got
    if (done > 0) await audit(error);
    throw error;
  }
  await audit(null);
  return {
    ...result,
    costBefore: picoToDecimal(before),
    costAfter: picoToDecimal(after),
    currency: ir.currency,
  };
}
