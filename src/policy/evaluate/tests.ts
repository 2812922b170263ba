// Runs a policy's `test` blocks against its compiled rule set, and measures coverage.
// Test facts: a bare fact (`tokens 40k`) holds in every calendar window (day … year, not
// environment scopes such as month@sandbox, unless the given says `environment "sandbox"`:
// then its facts are that environment's usage); a windowed fact (`tokens within 1d 5k`) sets
// that trailing window; any fact the policy reads and the test leaves out is 0. The
// organisation's facts (for `budget org`) are the sum of the given teams'; expectations
// address it as the subject "org" (`expect person "org" band budget green`).
// The clock is the test's `now`, else 2026-06-16 00:00 in the policy timezone: the
// midpoint of a 30-day month, so month forecasts double the month-to-date figure.

import type { Expr, FactValue, GivenAttribute, PolicyFile, TestDecl } from '../ast.ts';
import { type CompiledFormula, compileFormula, type Facts } from '../compile/codegen.ts';
import type { RuleSet } from '../compile/ruleset.ts';
import { factDisplayName, measureFact, parseMeasureFact } from '../ir.ts';
import {
  daysAgoKey,
  durationMinutes,
  localMidnight,
  PERIODS,
  parseSeasonKey,
  parseWindowKey,
  windowKey,
} from '../windows.ts';
import { runDetector } from './detectors.ts';
import { attributeView, evaluate } from './index.ts';
import { requestVerdict, requestVerdictText } from './request-limits.ts';
import type { BudgetState, EvaluateResult, SubjectInput, SubjectResult } from './types.ts';

export type TestOutcome = {
  name: string;
  passed: boolean;
  /** one line per failed expectation, with line:col */
  failures: string[];
};

export type Coverage = {
  /** declared measures no exercised formula reads */
  measures: string[];
  metrics: string[];
  rules: string[];
  tiers: string[];
  assignments: string[];
  escalationSteps: string[];
  leaderboards: string[];
  badges: string[];
  budgets: string[];
  /** request limit steps, e.g. "premium warn", "any block" */
  requestLimits: string[];
};

export type TestReport = {
  results: TestOutcome[];
  passed: number;
  failed: number;
  uncovered: Coverage;
};

/** Value of a constant test expression: numbers, money, percent (as a fraction), durations (minutes). */
export function constValue(e: Expr): number | string | boolean | null {
  switch (e.kind) {
    case 'Number':
      return e.value;
    case 'Money':
      return e.amount;
    case 'Percent':
      return e.value / 100;
    case 'Duration':
      return durationMinutes(e.amount, e.unit);
    case 'StringExpr':
      return e.value;
    case 'Bool':
      return e.value;
    case 'Paren':
      return constValue(e.inner);
    case 'Unary': {
      const v = constValue(e.operand);
      return e.op === '-' && typeof v === 'number'
        ? -v
        : e.op === 'not' && typeof v === 'boolean'
          ? !v
          : null;
    }
    case 'Binary': {
      const a = constValue(e.left);
      const b = constValue(e.right);
      if (typeof a !== 'number' || typeof b !== 'number') return null;
      if (e.op === '+') return a + b;
      if (e.op === '-') return a - b;
      if (e.op === '*') return a * b;
      if (e.op === '/') return b === 0 ? 0 : a / b;
      return null;
    }
    default:
      return null;
  }
}

function attributesOf(list: GivenAttribute[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const a of list) {
    const value = a.value ? constValue(a.value) : true;
    // scope the facts, see factsOf
    if (a.name.text === 'environment' || a.name.text === 'project') continue;
    if (a.name.text.startsWith('attributes.'))
      extra[a.name.text.slice('attributes.'.length)] = value;
    else out[a.name.text] = value;
  }
  if (Object.keys(extra).length) out.attributes = extra;
  return out;
}

function scopeOf(list: GivenAttribute[], name: 'environment' | 'project'): string | null {
  const a = list.find((x) => x.name.text === name);
  const v = a?.value ? constValue(a.value) : null;
  return typeof v === 'string' ? v : null;
}

function factsOf(
  rs: RuleSet,
  kind: 'person' | 'team',
  given: FactValue[],
  environment: string | null,
  project: string | null,
): SubjectInput['facts'] {
  const facts: SubjectInput['facts'] = {};
  const windows = new Set<string>(PERIODS);
  for (const key of rs.required[kind].keys()) windows.add(key);
  // project budgets are the organisation's: a team given `project "x"` carries its share
  for (const key of rs.required.org.keys())
    if (project !== null && parseWindowKey(key).project === project) windows.add(key);
  for (const w of windows) facts[w] = {};
  for (const [w, names] of rs.required[kind]) for (const n of names) facts[w][n] = 0;
  // bare facts fill the plain calendar windows (and the season), and with `environment "x"` (`project "p"`)
  // also that environment's (project's) scopes (month@x, month#p); other scopes stay 0
  const calendar = [...windows].filter((w) => {
    const key = parseWindowKey(w);
    return (
      ((PERIODS as readonly string[]).includes(key.base) || parseSeasonKey(key.base) !== null) &&
      (key.environment === null || key.environment === environment) &&
      (key.project === null || key.project === project)
    );
  });
  for (const f of given) {
    if (f.daily) {
      // the last value is yesterday's
      f.daily.forEach((day, i) => {
        const v = constValue(day);
        const key = daysAgoKey(f.daily!.length - i);
        facts[key] ??= {};
        facts[key][f.fact.text] = typeof v === 'number' ? v : 0;
      });
      continue;
    }
    const v = constValue(f.value);
    const value = typeof v === 'number' ? v : 0;
    // a declared measure's value is its aggregate (`review_score 4.2`: the mean is 4.2)
    const measure = rs.ir.measures?.[f.fact.text];
    const name = measure ? measureFact(f.fact.text, measure) : f.fact.text;
    if (f.window) {
      const key = windowKey(durationMinutes(f.window.amount, f.window.unit));
      facts[key] ??= {};
      facts[key][name] = value;
    } else {
      for (const w of calendar) facts[w][name] = value;
    }
  }
  return facts;
}

function at(x: { range: { start: { line: number; column: number } } }): string {
  return `${x.range.start.line}:${x.range.start.column}`;
}

const BAND_ORDER = { green: 0, yellow: 1, red: 2 } as const;

function worstBand(budgets: BudgetState[]): string | null {
  if (budgets.length === 0) return null;
  return budgets.reduce((a, b) => (BAND_ORDER[b.band] > BAND_ORDER[a.band] ? b : a)).band;
}

/** In tests the organisation's facts are the sum of the given teams' facts. */
function orgFacts(rs: RuleSet, subjects: SubjectInput[]): SubjectInput['facts'] {
  const facts: SubjectInput['facts'] = {};
  for (const [w, names] of rs.required.org) {
    facts[w] = {};
    for (const n of names) facts[w][n] = 0;
  }
  for (const t of subjects.filter((x) => x.kind === 'team')) {
    for (const [w, values] of Object.entries(t.facts)) {
      if (!facts[w]) continue;
      for (const n of Object.keys(facts[w])) facts[w][n] += values[n] ?? 0;
    }
  }
  return facts;
}

function orgResult(org: NonNullable<EvaluateResult['org']>): SubjectResult {
  return {
    kind: 'team',
    id: 'org',
    metrics: {},
    tier: null,
    quota: null,
    budgets: org.budgets,
    escalations: org.escalations,
    rules: [],
    leaderboards: {},
    badges: [],
    flags: [],
  };
}

/** "tasks@quarter = 3, review_score@quarter = 4": the facts a formula read for a subject. */
function factReadings(f: CompiledFormula, subject: SubjectInput | undefined): string {
  return f.facts
    .map(
      (x) => `${factDisplayName(x.name)}@${x.window} = ${subject?.facts[x.window]?.[x.name] ?? 0}`,
    )
    .join(', ');
}

type Tracker = { [K in keyof Coverage]: Set<string> };

function runTest(rs: RuleSet, t: TestDecl, seen: Tracker): TestOutcome {
  const failures: string[] = [];
  const tz = rs.ir.timezone;
  const now = t.now ? t.now.value : localMidnight(2026, 6, 16, tz).toISOString();
  const subjects: SubjectInput[] = t.givens.map((g) => ({
    kind: g.subject,
    id: g.id.value,
    attributes: attributesOf(g.attributes),
    facts: factsOf(
      rs,
      g.subject,
      g.facts,
      scopeOf(g.attributes, 'environment'),
      scopeOf(g.attributes, 'project'),
    ),
  }));
  let result: EvaluateResult;
  try {
    result = evaluate(rs, { now, subjects, org: { facts: orgFacts(rs, subjects) } });
  } catch (e) {
    return {
      name: t.name.value,
      passed: false,
      failures: [`${at(t)}: evaluation failed: ${(e as Error).message}`],
    };
  }
  for (const e of result.errors)
    failures.push(`${at(t)}: input ${e.subject} ${e.field}: ${e.message}`);
  const byId = new Map(result.subjects.map((s) => [s.id, s]));
  if (result.org && !byId.has('org')) byId.set('org', orgResult(result.org));
  const firstId = t.givens[0]?.id.value;
  const measuresOf = (f: CompiledFormula | null | undefined) => {
    for (const fact of f?.facts ?? []) {
      const read = parseMeasureFact(fact.name);
      if (read) seen.measures.add(read.measure);
    }
  };
  const metricsOfBoard = (name: string) => {
    const b = rs.boards.find((x) => x.name === name);
    for (const f of [b?.score, b?.eligible, b?.exclude, b?.cohort]) {
      for (const m of f?.metrics ?? []) seen.metrics.add(m);
      measuresOf(f);
    }
  };
  for (const x of t.expects) {
    const id = x.subject?.value ?? firstId;
    const s: SubjectResult | undefined = byId.get(id);
    const e = x.expectation;
    const fail = (msg: string) => failures.push(`${at(x)}: ${msg}`);
    // a request limit depends on the model and the request, not on who sends it
    if (e.kind === 'ExpectRequest') {
      const modelClass =
        e.target.kind === 'Name' ? e.target.text : (rs.ir.models[e.target.value]?.class ?? null);
      const verdict = requestVerdict(rs.ir, modelClass, e.inputTokens.value);
      if (verdict.limit && verdict.outcome !== 'allow')
        seen.requestLimits.add(`${verdict.limit} ${verdict.outcome}`);
      if (verdict.outcome !== e.outcome)
        fail(
          `expected ${e.outcome} for ${e.inputTokens.raw} input, got ${verdict.outcome} (${requestVerdictText(verdict, e.inputTokens.value)})`,
        );
      continue;
    }
    if (!s) {
      fail(`no result for subject "${id}"`);
      continue;
    }
    switch (e.kind) {
      case 'ExpectTier': {
        seen.tiers.add(e.tier.text);
        if (s.tier) seen.assignments.add(`#${s.tier.rule.index + 1} ${s.tier.tier}`);
        if (s.tier?.tier !== e.tier.text)
          fail(`expected tier ${e.tier.text}, got ${s.tier?.tier ?? 'no tier'}`);
        break;
      }
      case 'ExpectValue': {
        const low = constValue(e.low);
        const high = constValue(e.high);
        let value: number | null;
        if (e.target === 'score') {
          seen.leaderboards.add(e.name.text);
          metricsOfBoard(e.name.text);
          value = s.leaderboards[e.name.text]?.score ?? null;
        } else {
          const f = compileFormula(
            rs.ir,
            { k: 'metric', name: e.name.text },
            'month',
            `test metric ${e.name.text}`,
            {
              numeric: true,
            },
          );
          for (const m of f.metrics) seen.metrics.add(m);
          measuresOf(f);
          const subject = subjects.find((g) => g.id === id)!;
          const teams = new Map(subjects.filter((g) => g.kind === 'team').map((g) => [g.id, g]));
          value = f.fn(subject.facts, attributeView(subject, teams), () => 0, null) as number;
        }
        if (
          value === null ||
          typeof low !== 'number' ||
          typeof high !== 'number' ||
          value < low ||
          value > high
        ) {
          fail(`expected ${e.target} ${e.name.text} between ${low} and ${high}, got ${value}`);
        }
        break;
      }
      case 'ExpectBand': {
        if (e.target === 'quota') {
          if (s.quota) seen.tiers.add(s.quota.tier);
          if (s.tier) seen.assignments.add(`#${s.tier.rule.index + 1} ${s.tier.tier}`);
          for (const step of s.escalations)
            if (step.ladder === 'quota')
              seen.escalationSteps.add(`quota ${step.trigger} ${step.threshold}%`);
          const band = s.quota?.band ?? null;
          if (band !== e.band.text)
            fail(`expected quota band ${e.band.text}, got ${band ?? 'no quota'}`);
        } else {
          for (const b of s.budgets) seen.budgets.add(b.key);
          // a band check observes every step of the ladder that fired for these budgets
          for (const step of s.escalations) {
            if (step.ladder === 'budget')
              seen.escalationSteps.add(`budget ${step.trigger} ${step.threshold}%`);
          }
          const band = worstBand(s.budgets);
          if (band !== e.band.text)
            fail(`expected budget band ${e.band.text}, got ${band ?? 'no budget'}`);
        }
        break;
      }
      case 'ExpectRank': {
        seen.leaderboards.add(e.board.text);
        metricsOfBoard(e.board.text);
        const rank = s.leaderboards[e.board.text]?.rank ?? null;
        if (rank !== e.rank.value)
          fail(`expected rank ${e.rank.value} on ${e.board.text}, got ${rank ?? 'unranked'}`);
        break;
      }
      case 'ExpectEligible': {
        seen.leaderboards.add(e.board.text);
        metricsOfBoard(e.board.text);
        const entry = s.leaderboards[e.board.text];
        const eligible = entry?.eligible ?? false;
        if (eligible === e.negated) {
          fail(
            `expected ${e.negated ? 'not ' : ''}eligible for ${e.board.text}${entry?.reason ? ` (${entry.reason})` : ''}`,
          );
        }
        break;
      }
      case 'ExpectBadge': {
        seen.badges.add(e.badge.text);
        const badge = rs.badges.find((b) => b.name === e.badge.text);
        for (const m of badge?.when.metrics ?? []) seen.metrics.add(m);
        measuresOf(badge?.when);
        const earned = s.badges.some((b) => b.badge === e.badge.text);
        if (earned === e.negated)
          fail(
            `expected ${e.negated ? 'not to earn' : 'to earn'} badge ${e.badge.text}${
              badge
                ? ` (${badge.when.formula}; ${factReadings(
                    badge.when,
                    subjects.find((g) => g.id === id),
                  )})`
                : ''
            }`,
          );
        break;
      }
      case 'ExpectFires': {
        let fired: boolean;
        if (e.step) {
          const threshold = e.step.value;
          const steps =
            rs.ir.escalations[e.target.text]?.steps.filter((st) => st.threshold === threshold) ??
            [];
          for (const st of steps)
            seen.escalationSteps.add(`${e.target.text} ${st.trigger} ${st.threshold}%`);
          fired = s.escalations.some(
            (st) => st.ladder === e.target.text && st.threshold === threshold,
          );
          if (e.target.text === 'budget') for (const b of s.budgets) seen.budgets.add(b.key);
        } else {
          seen.rules.add(e.target.text);
          const rule = rs.rules.find((r) => r.name === e.target.text);
          for (const m of rule?.when.metrics ?? []) seen.metrics.add(m);
          measuresOf(rule?.when);
          fired = s.rules.some((r) => r.rule === e.target.text);
        }
        if (fired === e.negated) {
          // a detector says what it weighed, fired or not
          const rule = e.step ? undefined : rs.rules.find((r) => r.name === e.target.text);
          const subject = subjects.find((g) => g.id === id);
          const finding =
            rule?.ir.detect && subject
              ? `: ${runDetector(rule.ir.detect, subject.facts as Facts, new Date(result.now).getTime(), rs.ir.timezone).text}`
              : '';
          fail(
            `expected ${e.target.text}${e.step ? ` at ${e.step.raw}` : ''} ${e.negated ? 'not to fire' : 'to fire'}${finding}`,
          );
        }
        break;
      }
    }
  }
  return { name: t.name.value, passed: failures.length === 0, failures };
}

/** Run every test block of a policy. Coverage lists what no expectation exercised. */
export function runPolicyTests(ast: PolicyFile, rs: RuleSet): TestReport {
  const seen: Tracker = {
    measures: new Set(),
    metrics: new Set(),
    rules: new Set(),
    tiers: new Set(),
    assignments: new Set(),
    escalationSteps: new Set(),
    leaderboards: new Set(),
    badges: new Set(),
    budgets: new Set(),
    requestLimits: new Set(),
  };
  const tests = ast.declarations.filter((d): d is TestDecl => d.kind === 'Test');
  const results = tests.map((t) => runTest(rs, t, seen));
  // metrics used by exercised metrics are exercised too
  for (const m of [...seen.metrics])
    for (const d of rs.ir.metrics[m]?.deps ?? []) seen.metrics.add(d);
  const ir = rs.ir;
  const missing = (all: string[], set: Set<string>) => all.filter((x) => !set.has(x));
  const uncovered: Coverage = {
    measures: missing(Object.keys(ir.measures ?? {}), seen.measures),
    metrics: missing(ir.metricOrder, seen.metrics),
    rules: missing(Object.keys(ir.rules), seen.rules),
    tiers: missing(Object.keys(ir.tiers), seen.tiers),
    assignments: missing(
      ir.assignments.map((a, i) => `#${i + 1} ${a.tier}`),
      seen.assignments,
    ),
    escalationSteps: missing(
      Object.entries(ir.escalations).flatMap(([name, l]) =>
        l.steps.map((s) => `${name} ${s.trigger} ${s.threshold}%`),
      ),
      seen.escalationSteps,
    ),
    leaderboards: missing(Object.keys(ir.leaderboards), seen.leaderboards),
    badges: missing(Object.keys(ir.badges ?? {}), seen.badges),
    budgets: missing(
      ir.budgets.map((b) => b.key),
      seen.budgets,
    ),
    requestLimits: missing(
      Object.entries(ir.requestLimits ?? {}).flatMap(([key, l]) =>
        (['warn', 'block'] as const).filter((a) => l[a] !== null).map((a) => `${key} ${a}`),
      ),
      seen.requestLimits,
    ),
  };
  const passed = results.filter((r) => r.passed).length;
  return { results, passed, failed: results.length - passed, uncovered };
}
