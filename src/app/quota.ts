// Quota decisions: checkQuota (GraphQL and POST /v1/quota/check), a person's quota, and the
// bands shown on people and teams. Every one of them answers from decideRequest (via
// checkQuotaWith) or the same band rule over exception-raised limits, so they cannot differ.
import { bandFor, type Constraint } from '../engine/decision.ts';
import { evaluateTeams } from '../engine/evaluation.ts';
import {
  type CheckQuotaRequest,
  type CheckQuotaResult,
  checkQuotaWith,
  quotaPlan,
  snapshotAt,
  tierOfSnapshot,
} from '../engine/quota-check.ts';
import { reportQuotaDecision } from '../engine/telemetry.ts';
import { quotaStateOf } from '../policy/evaluate/index.ts';
import type { Band, QuotaState, TierAssignment } from '../policy/evaluate/types.ts';
import type { Store } from '../store/db.ts';
import { activeExtras, type ExceptionRow, listExceptions } from '../store/exceptions.ts';
import { readQuotaInputs, readQuotaSnapshots } from '../store/quota-snapshot.ts';
import { usageReader } from '../store/usage-reader.ts';
import { activePolicyFor } from './active-policy.ts';
import type { Caller } from './caller.ts';
import { ForbiddenError, InvalidRequestError, NotFoundError } from './errors.ts';
import { perStore } from './per-store.ts';
import { type QuotaStanding, quotaCacheFor } from './quota-cache.ts';
import { can, seesNames } from './roles.ts';

export type { CheckQuotaResult };

/**
 * checkQuota statements on their way at once; further checks wait and share the next. One
 * batches best (more checks per statement, fewer server CPU ms per check); a check waits at
 * most one statement.
 */
const READS_IN_FLIGHT = 1;
/** people per checkQuota statement */
const MAX_READ_BATCH = 64;

export type QuotaCheckArgs = {
  person: string;
  /** absent: no model class is checked and no cost estimated */
  model?: string | null;
  /** input plus expected output tokens (default: inputTokens) */
  estimatedTokens?: number | null;
  /** the request's input tokens, which request limits weigh (default: estimatedTokens) */
  inputTokens?: number | null;
  environment?: string | null;
  project?: string | null;
};

/**
 * Who may ask checkQuota, and what a well-formed question is. Ingest keys (gateways),
 * governance and admin ask for anyone; a member only for their own person; viewers not at all.
 */
export function quotaCheckRequest(caller: Caller, args: QuotaCheckArgs): CheckQuotaRequest {
  if (!can(caller.role, 'writeEvents') && !can(caller.role, 'self'))
    throw new ForbiddenError(
      `role "${caller.role}" may not check quotas (allowed for: ingest, admin, member, governance)`,
    );
  if (caller.role === 'member' && caller.person !== args.person)
    throw new ForbiddenError(`role "${caller.role}" may check quotas only for its own person`);
  const problems: { field: string; message: string }[] = [];
  const sizes = [
    ['estimatedTokens', args.estimatedTokens],
    ['inputTokens', args.inputTokens],
  ] as const;
  for (const [field, value] of sizes) {
    if (value == null) continue;
    if (!Number.isSafeInteger(value)) problems.push({ field, message: 'must be a whole number' });
    else if (value < 0) problems.push({ field, message: 'must not be negative' });
  }
  if (args.estimatedTokens == null && args.inputTokens == null)
    problems.push({
      field: 'estimatedTokens',
      message: 'give estimatedTokens (input plus expected output), inputTokens, or both',
    });
  else if (
    args.estimatedTokens != null &&
    args.inputTokens != null &&
    args.inputTokens > args.estimatedTokens
  )
    problems.push({
      field: 'inputTokens',
      message: 'must not exceed estimatedTokens (which counts input and output)',
    });
  if (args.model != null && !args.model.trim())
    problems.push({
      field: 'model',
      message: 'is empty: leave it out when the model is not known',
    });
  if (!args.person.trim()) problems.push({ field: 'person', message: 'is empty' });
  if (args.environment != null && !['production', 'sandbox'].includes(args.environment))
    problems.push({ field: 'environment', message: 'must be production or sandbox' });
  if (problems.length > 0) throw new InvalidRequestError(problems);
  return {
    personId: args.person,
    model: args.model ?? null,
    estimatedTokens: (args.estimatedTokens ?? args.inputTokens) as number,
    inputTokens: args.inputTokens ?? null,
    environment: args.environment ?? null,
    project: args.project?.trim() || null,
  };
}

export type QuotaService = {
  /**
   * The decision for one request: from the quota cache when it is started and fresh, else
   * in one batched statement shared with concurrent checks.
   */
  check(caller: Caller, args: QuotaCheckArgs): Promise<CheckQuotaResult>;
  /** The decision for an already validated request (workers, benches, tests). */
  decide(request: CheckQuotaRequest): Promise<CheckQuotaResult>;
  /** A person's quota: a member's own, anyone's for governance (audited by the caller's adapter). */
  personQuota(caller: Caller, person: string | null): Promise<PersonQuota>;
  /** Quota bands of people (null without a tier), from the same decision as checkQuota. */
  personBands(ids: readonly string[]): Promise<(BandInfo | null)[]>;
  /** Each team's worst budget band, over exception-raised limits. */
  teamBands(ids: readonly string[]): Promise<(BandInfo | null)[]>;
};

export type BandInfo = {
  band: Band;
  percent: number;
  /** a person's tokens used this quota period and their exception-raised limit */
  used?: number;
  limit?: number;
};

export type PersonQuota = {
  personId: string;
  tier: TierAssignment;
  state: QuotaState;
  /** the band over the exception-raised limit: the same band checkQuota and Person.band give */
  band: Band;
  effectiveLimit: number;
  /** the person's active exceptions (read on the first call) */
  exceptions(): Promise<ExceptionRow[]>;
  /** true when the caller read someone else's quota (the adapter audits it) */
  named: boolean;
};

export const quotaFor = perStore(createQuotaService);

/**
 * A team's or the organisation's budget percent is a group figure: with a small team, or
 * the org total beside the visible teams', it gives away someone else's spend. Below
 * governance a shared budget's constraint says which step holds, not how far along it is.
 */
function withoutGroupFigures(caller: Caller, result: CheckQuotaResult): CheckQuotaResult {
  if (seesNames(caller.role)) return result;
  const group = (c: Constraint) =>
    c.kind === 'budget' && c.subject !== null && c.subject.kind !== 'person';
  // most answers carry no group budget: nothing to hide, no copy
  if (!result.constraints.some(group) && !(result.binding && group(result.binding))) return result;
  const hide = (c: Constraint): Constraint => (group(c) ? { ...c, percent: null } : c);
  return {
    ...result,
    binding: result.binding && hide(result.binding),
    constraints: result.constraints.map(hide),
  };
}

const WORST: Record<Band, number> = { green: 0, yellow: 1, red: 2 };

function createQuotaService(store: Store): QuotaService {
  const policy = activePolicyFor(store);
  const reader = usageReader(store);
  const cache = quotaCacheFor(store);

  // checkQuota answers from the quota cache when it is started and fresh (quota-cache.ts);
  // otherwise it reads in batches. A check joins the next statement to be sent, never one
  // already on its way, so the snapshot it gets is taken after it was asked: it sees every
  // write committed before it. While a statement is out, arrivals wait and go together in
  // the next one (one round trip and one plan for many checks under load, no wait when idle).
  type Waiting = {
    personId: string;
    /** the caller's answer from the person's standing (a throw rejects this one only) */
    resolve(standing: QuotaStanding, now: Date): void;
    reject(error: unknown): void;
  };
  let waiting: Waiting[] = [];
  let reading = 0;

  function pump() {
    while (reading < READS_IN_FLIGHT && waiting.length > 0) {
      const batch = waiting.length <= MAX_READ_BATCH ? waiting : waiting.slice(0, MAX_READ_BATCH);
      waiting = batch === waiting ? [] : waiting.slice(MAX_READ_BATCH);
      reading++;
      checkBatch(batch).finally(() => {
        reading--;
        pump();
      });
    }
  }

  async function checkBatch(batch: readonly Waiting[]): Promise<void> {
    const now = policy.now();
    try {
      let ruleSet = policy.lastKnown() ?? (await policy.require()).ruleSet;
      const people = batch.map((w) => w.personId);
      const read = async () => {
        const ticket = cache.ticket();
        const windows = quotaPlan(ruleSet).windows(now);
        const rows = await readQuotaInputs(store, people, windows, now, { holds: true });
        const inputs = rows.map((r) => r.inputs);
        cache.remember(ticket, people, inputs, windows, ruleSet.hash);
        return rows.map((r) => snapshotAt(r.inputs, r.holds, now));
      };
      let snapshots = await read();
      if (snapshots[0].policyHash !== ruleSet.hash) {
        // the active policy changed since we cached it: rebuild and read again
        ruleSet = (await policy.require()).ruleSet;
        snapshots = await read();
      }
      for (let i = 0; i < batch.length; i++) {
        try {
          const snapshot = snapshots[i];
          batch[i].resolve(
            {
              ruleSet,
              snapshot,
              tier: tierOfSnapshot(ruleSet, snapshot, batch[i].personId, now),
            },
            now,
          );
        } catch (error) {
          batch[i].reject(error);
        }
      }
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }

  function fromMemory(request: CheckQuotaRequest): CheckQuotaResult | null {
    const remembered = cache.answer(request, policy.now());
    if (remembered) reportQuotaDecision(remembered.decision, 'memory');
    return remembered;
  }

  async function fromDatabase(request: CheckQuotaRequest): Promise<CheckQuotaResult> {
    const result = await new Promise<CheckQuotaResult>((resolve, reject) => {
      waiting.push({
        personId: request.personId,
        resolve: ({ ruleSet, snapshot, tier }, now) =>
          resolve(checkQuotaWith(ruleSet, snapshot, request, now, tier)),
        reject,
      });
      pump();
    });
    reportQuotaDecision(result.decision, 'database');
    return result;
  }

  const service: QuotaService = {
    // not async: an answer from memory (nearly every check under load) settles without an
    // await between the request and its answer; what throws still rejects
    check(caller, args) {
      try {
        const request = quotaCheckRequest(caller, args);
        const remembered = fromMemory(request);
        return remembered
          ? Promise.resolve(withoutGroupFigures(caller, remembered))
          : fromDatabase(request).then((result) => withoutGroupFigures(caller, result));
      } catch (error) {
        return Promise.reject(error);
      }
    },

    decide(request) {
      try {
        return Promise.resolve(fromMemory(request) ?? fromDatabase(request));
      } catch (error) {
        return Promise.reject(error);
      }
    },

    async personQuota(caller, person) {
      const personId = person ?? caller.person;
      if (!personId) throw new ForbiddenError('this key is bound to no person: pass `person`');
      if (personId !== caller.person && !seesNames(caller.role))
        throw new ForbiddenError(
          `role "${caller.role}" may read only its own quota; other people's need a governance key`,
        );
      // the standing checkQuota decides from (memory when fresh, else the batched statement):
      // the two cannot disagree, and a read costs what a check costs
      const now = policy.now();
      const { ruleSet, snapshot, tier } =
        cache.standing(personId, now) ??
        (await new Promise<QuotaStanding>((resolve, reject) => {
          waiting.push({ personId, resolve, reject });
          pump();
        }));
      if (!snapshot.person) throw new NotFoundError('person', personId);
      const quota = tier && quotaStateOf(ruleSet, tier, snapshot.facts, now);
      if (!tier || !quota)
        throw new NotFoundError(
          'quota (no tier assigned by the active policy) for person',
          personId,
        );
      const effectiveLimit = quota.limit + snapshot.exceptionTokens;
      const percent = effectiveLimit > 0 ? (quota.used / effectiveLimit) * 100 : 100;
      let exceptions: Promise<ExceptionRow[]> | null = null;
      return {
        personId,
        tier,
        state: quota,
        band: bandFor(ruleSet.ladders.quota ?? null, percent),
        effectiveLimit,
        // read when asked for: most reads want the figures only
        exceptions: () => {
          exceptions ??= listExceptions(
            store,
            { subjectId: personId, activeAt: now },
            { limit: 100 },
          ).then((rows) => rows.filter((e) => e.subjectKind === 'person'));
          return exceptions;
        },
        named: personId !== caller.person,
      };
    },

    async personBands(ids) {
      const active = await policy.current();
      if (!active || ids.length === 0) return ids.map(() => null);
      const now = policy.now();
      const rs = active.ruleSet;
      const plan = quotaPlan(rs);
      const snapshots = await readQuotaSnapshots(store, ids, plan.windows(now), now);
      return ids.map((id, i) => {
        const result = checkQuotaWith(
          rs,
          snapshots[i],
          { personId: id, model: '', estimatedTokens: 0 },
          now,
        );
        if (!result.quota) return null;
        return {
          band: result.band,
          percent: (result.quota.used / Math.max(result.effectiveLimit, 1)) * 100,
          used: result.quota.used,
          limit: result.effectiveLimit,
        };
      });
    },

    async teamBands(ids) {
      const active = await policy.current();
      if (!active || ids.length === 0) return ids.map(() => null);
      const now = policy.now();
      const rs = active.ruleSet;
      const evaluation = await evaluateTeams(reader, rs, ids, now);
      const extras = await activeExtras(store, now, { teams: [...ids] });
      const ladder = rs.ladders.budget ?? null;
      const byId = new Map<string, BandInfo>();
      for (const s of evaluation.subjects) {
        if (s.kind !== 'team' || s.budgets.length === 0) continue;
        let worst: BandInfo | null = null;
        for (const b of s.budgets) {
          // approved exceptions raise the team's budgets: money ones by money, token ones by tokens
          const extra =
            (b.unit === 'tokens' ? extras.tokens : extras.money).get(`team:${s.id}`) ?? 0;
          const percent = b.limit + extra > 0 ? (b.spent / (b.limit + extra)) * 100 : 0;
          const band = bandFor(ladder, percent);
          if (
            !worst ||
            WORST[band] > WORST[worst.band] ||
            (band === worst.band && percent > worst.percent)
          )
            worst = { band, percent };
        }
        if (worst) byId.set(s.id, worst);
      }
      return ids.map((id) => byId.get(id) ?? null);
    },
  };
  return service;
}
