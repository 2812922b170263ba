// Differential property: for random policies (tier, quota ladder, budgets at person, team,
// each-team and environment scopes, budget ladders, compliance rules), random usage,
// approved exceptions and clocks, the hot path (the one-statement snapshot plus the holds
// that the ingest re-evaluation keeps) answers every person exactly as a full evaluation of
// the same state does (evaluateOrg, then the same escalation and hold rules, in memory).
// Token budgets, project budgets (the organisation's usage of a project) and pools (several
// teams' usage together) go through the same budget pass as money budgets; request limits
// (per class and `any`, with or without inputTokens and a model) are weighed on both sides.
// The in-memory quota cache answers every person the same after one refresh: it holds each
// person from before any of the state was written, so the refresh has to bring it all in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { quotaFor } from '../../src/app/quota.ts';
import { quotaCacheFor } from '../../src/app/quota-cache.ts';
import { reevaluationFor } from '../../src/app/reevaluation.ts';
import { decideRequest } from '../../src/engine/decision.ts';
import { escalationsFrom, withExceptions } from '../../src/engine/escalations.ts';
import { evaluateOrg } from '../../src/engine/evaluation.ts';
import { holdsFrom, holdsOfPerson } from '../../src/engine/holds.ts';
import { checkQuotaWith, quotaPlan } from '../../src/engine/quota-check.ts';
import { activeExtras, createException, decideException } from '../../src/store/exceptions.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { readQuotaSnapshots } from '../../src/store/quota-snapshot.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore } from '../support/db.ts';

const TEAMS = ['red', 'blue', 'green'];
const PEOPLE = ['p1', 'p2', 'p3', 'p4', 'p5'];
const MODELS = ['cheap', 'mid', 'dear'];

const scenario = fc.record({
  tierLimitM: fc.integer({ min: 1, max: 20 }),
  quotaSteps: fc.subarray(
    [
      '  at 70%  notify person',
      '  at 90%  require justification',
      '  at 100% require approval by manager',
      '  at 120% block',
    ],
    { minLength: 0 },
  ),
  budgets: fc.subarray(
    [
      'budget each team { 20 USD per month }',
      'budget team "red" { 5 USD per month }',
      'budget person "p2@x.test" { 3 USD per month }',
      'budget each team environment "sandbox" { 2 USD per month }',
      'budget each team { 12M tokens per month }',
      'budget project "launch" { 3 USD per month }',
      'budget pool "shared" teams "red", "blue" { 6 USD per month }',
      'budget pool "reserve" teams "blue", "green" { 9M tokens per month }',
    ],
    { minLength: 1 },
  ),
  budgetSteps: fc.subarray(
    [
      '  at 80%  notify team_owner',
      '  at 95%  require approval by manager',
      '  at 100% require justification',
      '  at 110% block',
    ],
    { minLength: 1 },
  ),
  requestLimits: fc.subarray([
    'request economy { warn above 500k input  block above 2000k input }',
    'request premium { block above 1000k input }',
    'request any { warn above 1500k input "big" }',
  ]),
  rule: fc.constantFrom(null, 'require approval by security', 'block', 'require justification'),
  people: fc.array(fc.constantFrom(...TEAMS), { minLength: 5, maxLength: 5 }),
  usage: fc.array(
    fc.record({
      person: fc.constantFrom(...PEOPLE),
      model: fc.constantFrom(...MODELS),
      tokensK: fc.integer({ min: 1, max: 4000 }),
      day: fc.integer({ min: 1, max: 18 }),
      sandbox: fc.boolean(),
      launch: fc.boolean(),
    }),
    { minLength: 1, maxLength: 25 },
  ),
  flags: fc.array(fc.constantFrom(...PEOPLE), { maxLength: 6 }),
  tokenException: fc.option(
    fc.record({ person: fc.constantFrom(...PEOPLE), tokensM: fc.integer({ min: 1, max: 10 }) }),
  ),
  moneyException: fc.option(
    fc.record({ team: fc.constantFrom(...TEAMS), usd: fc.integer({ min: 1, max: 30 }) }),
  ),
  clockDay: fc.integer({ min: 18, max: 28 }),
  ask: fc.record({
    model: fc.constantFrom(...MODELS, 'unknown-model'),
    estimatedK: fc.integer({ min: 0, max: 3000 }),
    /** the input share of the estimate, in per mille (null: inputTokens not given) */
    inputShare: fc.option(fc.integer({ min: 0, max: 1000 })),
    noModel: fc.boolean(),
    sandbox: fc.boolean(),
    launch: fc.boolean(),
  }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function policyOf(s: Scenario): string {
  return `
policy "differential" version "p"
currency USD
timezone "Europe/London"
exceptions { max_duration 60d }
class economy "Economy"
class standard "Standard"
class premium "Premium"
model "cheap" class economy  price { input 0.50 output 0.50 }
model "mid"   class standard price { input 2.00 output 2.00 }
model "dear"  class premium  price { input 10.00 output 10.00 }
tier small "Small" { limit ${s.tierLimitM}M tokens per month models economy, standard }
tier big   "Big"   { limit ${s.tierLimitM * 3}M tokens per month models any }
assign big when role == "lead"
assign small otherwise
${s.budgets.join('\n')}
${s.requestLimits.join('\n')}
${s.quotaSteps.length ? `escalation quota {\n${s.quotaSteps.join('\n')}\n}` : ''}
escalation budget {
${s.budgetSteps.join('\n')}
}
${s.rule ? `rule flagged "Flagged" severity high {\n  when sensitive_flags within 30d >= 2\n  then ${s.rule}\n}` : ''}
`;
}

const email = (p: string) => `${p}@x.test`;

describe('the hot-path decision equals a full evaluation', () => {
  it('for every person, over random policies, usage, exceptions and clocks', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const store = await createTestStore();
        try {
          const now = new Date(`2026-10-${String(s.clockDay).padStart(2, '0')}T12:00:00Z`);
          const policy = activePolicyFor(store);
          policy.setClock(() => now);
          const published = await publishPolicySource(store, {
            source: policyOf(s),
            activate: true,
          });
          expect(published.kind, JSON.stringify(published)).toBe('published');
          // the cache holds everyone before anything else is written (refreshed only here)
          const cache = quotaCacheFor(store);
          cache.start({ refreshMs: null, maxStalenessMs: 3_600_000 });
          await cache.refresh();
          for (const p of PEOPLE.map(email))
            await quotaFor(store).decide({ personId: p, model: null, estimatedTokens: 0 });

          const rows: unknown[] = TEAMS.map((team) => ({
            type: 'team',
            team,
            owner: email('p1'),
            sensitivity: 'normal',
          }));
          for (const [i, p] of PEOPLE.entries())
            rows.push({
              type: 'person',
              person: email(p),
              team: s.people[i],
              role: i === 0 ? 'lead' : 'engineer',
              manager: i === 0 ? null : email('p1'),
              opted_in: true,
            });
          for (const [i, u] of s.usage.entries())
            rows.push({
              type: 'usage',
              id: `u-${i}`,
              ts: `2026-10-${String(u.day).padStart(2, '0')}T09:00:00Z`,
              person: email(u.person),
              model: u.model,
              input_tokens: u.tokensK * 1000,
              output_tokens: 0,
              environment: u.sandbox ? 'sandbox' : 'production',
              ...(u.launch ? { project: 'launch' } : {}),
            });
          for (const [i, p] of s.flags.entries())
            rows.push({
              type: 'compliance',
              id: `c-${i}`,
              ts: `2026-10-${String(s.clockDay - 1).padStart(2, '0')}T09:00:00Z`,
              person: email(p),
              flag: 'sensitive_data',
              severity: 'high',
            });
          const ingested = await ingestBatch(
            store,
            rows.map((data, i) => ({ line: i + 1, data })),
            { now: now.getTime() },
          );
          expect(ingested.totals.rejected, JSON.stringify(ingested.results)).toBe(0);

          const expires = new Date(now.getTime() + 7 * 86_400_000);
          const exceptions = [
            s.tokenException && {
              subjectKind: 'person' as const,
              subjectId: email(s.tokenException.person),
              extraTokens: s.tokenException.tokensM * 1_000_000,
              extraMoney: null,
            },
            s.moneyException && {
              subjectKind: 'team' as const,
              subjectId: s.moneyException.team,
              extraTokens: null,
              extraMoney: s.moneyException.usd,
            },
          ];
          for (const x of exceptions) {
            if (!x) continue;
            const created = await createException(
              store,
              {
                ...x,
                justification: 'property test',
                expiresAt: expires,
                approver: 'governance',
                requestedBy: null,
              },
              now,
            );
            await decideException(store, created.id, true, null, 'gov', now);
          }

          // the hot path: holds as the ingest re-evaluation keeps them
          await reevaluationFor(store).reevaluatePeople(PEOPLE.map(email));
          await cache.refresh();

          // the full evaluation of the same state
          const active = await policy.require();
          const rs = active.ruleSet;
          const full = await evaluateOrg(usageReader(store), rs, now);
          const extras = await activeExtras(store, now);
          const holds = holdsFrom(withExceptions(escalationsFrom(full.result), extras)).map(
            (h) => ({ ...h, escalationId: null, escalationStatus: null }),
          );
          const environment = s.ask.sandbox ? 'sandbox' : 'production';
          const project = s.ask.launch ? 'launch' : null;
          for (const p of PEOPLE.map(email)) {
            const estimatedTokens = s.ask.estimatedK * 1000;
            const inputTokens =
              s.ask.inputShare === null
                ? null
                : Math.floor((estimatedTokens * s.ask.inputShare) / 1000);
            const request = {
              personId: p,
              model: s.ask.noModel ? null : s.ask.model,
              estimatedTokens,
              inputTokens,
              environment,
              project,
            };
            // the database path (what checkQuota reads without the cache) and the cache's
            const [snapshot] = await readQuotaSnapshots(
              store,
              [p],
              quotaPlan(rs).windows(now),
              now,
            );
            const hot = checkQuotaWith(rs, snapshot, request, now);
            const cached = cache.answer(request, now);
            expect(cached, `${p} is answered from memory`).not.toBeNull();
            const subject = full.result.subjects.find((x) => x.kind === 'person' && x.id === p);
            const quota = subject?.quota ?? null;
            const team = full.directory.people.find((x) => x.id === p)?.team ?? null;
            const expected = decideRequest({
              quota: quota && {
                tier: quota.tier,
                limit: quota.limit,
                used: quota.used,
                allowedClasses: quota.allowedClasses,
              },
              ladder: rs.ladders.quota ?? null,
              exceptionTokens: extras.tokens.get(`person:${p}`) ?? 0,
              estimatedTokens: request.estimatedTokens,
              modelClass: s.ask.noModel ? null : (rs.ir.models[s.ask.model]?.class ?? null),
              noModel: s.ask.noModel,
              requestLimits: rs.ir.requestLimits,
              inputTokens: inputTokens ?? estimatedTokens,
              classPrices: quotaPlan(rs).classPrices,
              satisfied: new Set(),
              holds: holdsOfPerson(holds, p, team),
              environment,
              project,
            });
            const shape = (d: typeof expected) => ({
              decision: d.decision,
              band: d.band,
              reason: d.reason,
              effectiveLimit: d.effectiveLimit,
              binding: d.binding && { kind: d.binding.kind, name: d.binding.name },
              constraints: d.constraints.map((c) => [c.kind, c.name, c.decision, c.percent]),
              notice: d.notice,
              next: d.next.action,
            });
            expect(shape(hot), `${p} under\n${policyOf(s)}`).toEqual(shape(expected));
            if (cached)
              expect(shape(cached), `${p} from memory under\n${policyOf(s)}`).toEqual(
                shape(expected),
              );
          }
        } finally {
          quotaCacheFor(store).stop();
          await store.destroy();
        }
      }),
      // each run builds a database: report the first counterexample instead of shrinking it
      {
        numRuns: Number(process.env.DECISION_PROPERTY_RUNS ?? 8),
        endOnFailure: true,
        // DECISION_PROPERTY_SEED=<seed> [DECISION_PROPERTY_PATH=<path>] replays a reported failure
        ...(process.env.DECISION_PROPERTY_SEED
          ? {
              seed: Number(process.env.DECISION_PROPERTY_SEED),
              path: process.env.DECISION_PROPERTY_PATH,
            }
          : {}),
      },
    );
  }, 600_000);
});
