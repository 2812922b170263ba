// IR → executable rule set: formulas become generated functions (codegen.ts), ordered
// assignments become a decision list whose simple tests (`role == "x"`, `team in [...]`)
// are set lookups, and escalation ladders become sorted threshold arrays.

import { detectorReads } from '../evaluate/detectors.ts';
import type {
  IrBadge,
  IrBudget,
  IrExpr,
  IrLeaderboard,
  IrRule,
  IrStep,
  IrTier,
  Period,
  RuleSetIR,
  SubjectKind,
} from '../ir.ts';
import { budgetWindowKey, irToText, policyHash, walkIr } from '../ir.ts';
import { boardWindowKey } from '../windows.ts';
import { type CompiledFormula, compileFormula } from './codegen.ts';

/** The default window for bare facts in assignments and rules. */
export const DEFAULT_WINDOW: Period = 'month';

export type Ladder = {
  /** `at` steps, thresholds ascending */
  at: IrStep[];
  /** `forecast` steps, thresholds ascending */
  forecast: IrStep[];
  /** band rule: yellow from here (percent) */
  yellowFrom: number;
  /** band rule: red from here (percent) */
  redFrom: number;
};

export type CompiledBoard = {
  name: string;
  ir: IrLeaderboard;
  cohort: CompiledFormula | null;
  eligible: CompiledFormula | null;
  exclude: CompiledFormula | null;
  score: CompiledFormula;
};

export type CompiledAssignment = {
  index: number;
  tier: string;
  when: CompiledFormula | null;
  whenText: string | null;
  /** fast path for `attr == "x"` and `attr in ["x", "y"]` */
  lookup: { path: string; values: ReadonlySet<unknown>; negated: boolean } | null;
};

export type CompiledRule = { name: string; ir: IrRule; when: CompiledFormula };

export type CompiledBadge = { name: string; ir: IrBadge; when: CompiledFormula };

/** fact names needed, per window key */
export type Requirements = Map<string, Set<string>>;

export type RuleSet = {
  ir: RuleSetIR;
  hash: string;
  boards: CompiledBoard[];
  assignments: CompiledAssignment[];
  rules: CompiledRule[];
  badges: CompiledBadge[];
  ladders: Record<string, Ladder>;
  tiers: Record<string, IrTier>;
  budgets: IrBudget[];
  /** facts each kind of subject must supply */
  required: Record<SubjectKind | 'org', Requirements>;
  /**
   * The parts of `required` read by the leaderboards, and by escalations (tier assignment
   * and rule conditions, tier periods, budgets): re-evaluation after ingest reads only the
   * latter, a board cache only the former.
   */
  requiredBy: Record<'boards' | 'escalations', Record<SubjectKind | 'org', Requirements>>;
  /** metrics reported per calendar window, per kind of subject */
  metricReports: Record<SubjectKind, CompiledFormula[]>;
};

/**
 * Band rule (the README ("Policy meaning")): red from the first `at` step that requires something or
 * blocks, or from 100% if that comes earlier or no such step exists; yellow from the
 * first `at` step below red; green below that.
 */
export function buildLadder(steps: readonly IrStep[]): Ladder {
  const at = steps.filter((s) => s.trigger === 'at').sort((a, b) => a.threshold - b.threshold);
  const forecast = steps
    .filter((s) => s.trigger === 'forecast')
    .sort((a, b) => a.threshold - b.threshold);
  const firstHard = at.find((s) => s.action.kind !== 'notify');
  const redFrom = Math.min(firstHard?.threshold ?? 100, 100);
  const firstSoft = at.find((s) => s.threshold < redFrom);
  return { at, forecast, yellowFrom: firstSoft?.threshold ?? redFrom, redFrom };
}

function simpleLookup(e: IrExpr | null): CompiledAssignment['lookup'] {
  if (!e) return null;
  if (e.k === 'bin' && e.op === '==' && e.a.k === 'attr' && (e.b.k === 'str' || e.b.k === 'num')) {
    return { path: e.a.path.join('.'), values: new Set([e.b.v]), negated: false };
  }
  if (e.k === 'in' && e.v.k === 'attr' && e.list.every((x) => x.k === 'str' || x.k === 'num')) {
    return {
      path: e.v.path.join('.'),
      values: new Set(e.list.map((x) => (x as { v: unknown }).v)),
      negated: e.negated,
    };
  }
  return null;
}

function need(req: Requirements, window: string, fact: string): void {
  let set = req.get(window);
  if (!set) {
    set = new Set();
    req.set(window, set);
  }
  set.add(fact);
}

function needAll(req: Requirements, f: CompiledFormula | null): void {
  if (f) for (const x of f.facts) need(req, x.window, x.name);
}

const factsCache = new WeakMap<RuleSetIR, Map<string, { name: string; within?: string }[]>>();

/** Facts a metric reads, directly or through other metrics (`within` set for trailing windows). */
function metricFacts(ir: RuleSetIR, name: string): { name: string; within?: string }[] {
  let cache = factsCache.get(ir);
  if (!cache) {
    // in dependency order, so each metric finds its dependencies already done
    cache = new Map();
    for (const m of ir.metricOrder) {
      const out: { name: string; within?: string }[] = [];
      const seen = new Set<string>();
      const add = (f: { name: string; within?: string }) => {
        const key = `${f.name}@${f.within ?? ''}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push(f);
        }
      };
      for (const node of walkIr(ir.metrics[m].expr)) {
        if (node.k === 'fact') add({ name: node.name, within: node.within });
        if (node.k === 'metric') for (const f of cache.get(node.name) ?? []) add(f);
      }
      cache.set(m, out);
    }
    factsCache.set(ir, cache);
  }
  return cache.get(name) ?? [];
}

function noRequirements(): RuleSet['required'] {
  return { person: new Map(), team: new Map(), org: new Map() };
}

function mergeRequirements(...parts: RuleSet['required'][]): RuleSet['required'] {
  const out = noRequirements();
  for (const part of parts)
    for (const kind of ['person', 'team', 'org'] as const)
      for (const [window, facts] of part[kind]) for (const f of facts) need(out[kind], window, f);
  return out;
}

export function buildRuleSet(ir: RuleSetIR): RuleSet {
  const boardRequired = noRequirements();
  const escalationRequired = noRequirements();
  const boards = Object.entries(ir.leaderboards).map(([name, b]): CompiledBoard => {
    const where = `leaderboard ${name}`;
    const window = boardWindowKey(ir, b.window);
    const f = (e: IrExpr | null, part: string, numeric = false) =>
      e ? compileFormula(ir, e, window, `${where} ${part}`, { numeric }) : null;
    const board: CompiledBoard = {
      name,
      ir: b,
      cohort: f(b.cohort, 'cohort'),
      eligible: f(b.eligible, 'eligible'),
      exclude: f(b.exclude, 'exclude'),
      score: compileFormula(ir, b.score, window, `${where} score`, { numeric: true }),
    };
    for (const part of [board.cohort, board.eligible, board.exclude, board.score])
      needAll(boardRequired[b.subject], part);
    return board;
  });
  // badges are recognition like boards: read with them (the boards cache awards them too)
  const badges = Object.entries(ir.badges ?? {}).map(([name, b]): CompiledBadge => {
    const when = compileFormula(ir, b.when, boardWindowKey(ir, b.window), `badge ${name}`);
    needAll(boardRequired[b.subject], when);
    return { name, ir: b, when };
  });
  const assignments = ir.assignments.map((a, index): CompiledAssignment => {
    const when = a.when
      ? compileFormula(ir, a.when, DEFAULT_WINDOW, `assign ${a.tier} (#${index + 1})`)
      : null;
    needAll(escalationRequired.person, when);
    return {
      index,
      tier: a.tier,
      when,
      whenText: a.when ? irToText(a.when) : null,
      lookup: simpleLookup(a.when),
    };
  });
  const rules = Object.entries(ir.rules).map(([name, r]): CompiledRule => {
    const when = compileFormula(ir, r.when, DEFAULT_WINDOW, `rule ${name}`);
    const reads = escalationRequired[r.subject ?? 'person'];
    needAll(reads, when);
    if (r.detect) for (const [window, fact] of detectorReads(r.detect)) need(reads, window, fact);
    return { name, ir: r, when };
  });
  if (ir.assignments.length > 0) {
    for (const t of Object.values(ir.tiers)) need(escalationRequired.person, t.period, 'tokens');
  }
  for (const b of ir.budgets) {
    const req =
      b.scope === 'org' || b.scope === 'project'
        ? escalationRequired.org
        : escalationRequired[b.subject ?? 'person'];
    need(req, budgetWindowKey(b), b.tokens === undefined ? 'cost' : 'tokens');
  }
  const required = mergeRequirements(boardRequired, escalationRequired);
  const ladders: Record<string, Ladder> = {};
  for (const [name, l] of Object.entries(ir.escalations)) ladders[name] = buildLadder(l.steps);

  // a metric is reported in a window when every fact it reads is required there anyway
  const metricReports = { person: [] as CompiledFormula[], team: [] as CompiledFormula[] };
  for (const kind of ['person', 'team'] as const) {
    const req = required[kind];
    for (const window of [...req.keys()].filter((w) => /^[a-z]+$/.test(w)).sort()) {
      const reportable = ir.metricOrder.filter((m) =>
        metricFacts(ir, m).every((x) => req.get(x.within ?? window)?.has(x.name)),
      );
      if (reportable.length > 0) {
        metricReports[kind].push(
          compileFormula(ir, null, window, 'metrics', { extraMetrics: reportable }),
        );
      }
    }
  }

  return {
    ir,
    hash: policyHash(ir),
    boards,
    assignments,
    rules,
    badges,
    ladders,
    tiers: ir.tiers,
    budgets: ir.budgets,
    required,
    requiredBy: { boards: boardRequired, escalations: escalationRequired },
    metricReports,
  };
}
