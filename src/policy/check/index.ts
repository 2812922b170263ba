// The checker: everything the parser cannot see. Names resolve (with did-you-mean),
// units agree, metrics form no cycle, ladders rise, assignments are reachable, and
// divisions that can meet zero are flagged. Codes are stable; the README ("Policy meaning") lists them:
// Q3xxx names, Q4xxx units and types, Q5xxx structure, Q6xxx runtime hazards.
import type {
  Action,
  AssignDecl,
  BudgetDecl,
  Declaration,
  DetectClause,
  EscalationDecl,
  Expr,
  LeaderboardDecl,
  MeasureDecl,
  MetricDecl,
  ModelDecl,
  Name,
  NumberExpr,
  PolicyFile,
  PriceEntry,
  Range,
  RequestLimitDecl,
  SeasonDecl,
  StringLit,
  TestDecl,
} from '../ast.ts';
import {
  CONSTRUCT_DOCS,
  type DeclarationKind,
  type DeclarationOf,
  type DeclarationsByKind,
  groupDeclarations,
} from '../constructs.ts';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.ts';
import { codes, sortDiagnostics } from '../diagnostics.ts';
import { DETECTORS, type DetectorKind, type Period } from '../ir.ts';
import { decimalToMicros, globMatches, percentToBasisPoints } from '../price.ts';
import { suggest } from '../suggest.ts';
import { durationMinutes, isValidTimeZone } from '../windows.ts';
import { ERR_T, type ExprScope, exprText, inferExpr, type Typed } from './expressions.ts';
import { ALL, DIMENSIONLESS, unitOf, unitText } from './units.ts';
import {
  ACTIVITY_MEASURES,
  APPROVERS,
  AUDIENCES,
  FACTS,
  LADDERS,
  MEASURE_UNITS,
  PERSON_ATTRIBUTES,
  TEAM_ATTRIBUTES,
} from './vocabulary.ts';

export type CheckResult = {
  diagnostics: Diagnostic[];
  /** unit text of every metric that type-checked, e.g. { acceptance: "1" } */
  metricUnits: Record<string, string>;
};

/** Price amounts, per-call prices, tier multipliers and long-context thresholds of a model. */
function checkModelPrices(m: ModelDecl, report: (d: Diagnostic) => void): void {
  const amount = (n: NumberExpr) => {
    try {
      decimalToMicros(n.raw);
    } catch {
      report(
        err(
          codes.inexactMoney,
          `price \`${n.raw}\` is not a non-negative amount with at most 6 decimals`,
          n.range,
        ),
      );
    }
  };
  const entries = (prices: PriceEntry[]) => {
    const seen = new Set<string>();
    for (const p of prices) {
      if (seen.has(p.priceKind))
        report(err(codes.duplicateName, `price \`${p.priceKind}\` is given twice`, p.range));
      seen.add(p.priceKind);
      amount(p.amount);
    }
  };
  entries(m.prices);
  if (m.calls.length > 1)
    report(err(codes.duplicateName, 'price `web_search` is given twice', m.calls[1].range));
  for (const c of m.calls) {
    amount(c.amount);
    if (!Number.isSafeInteger(c.per.value) || c.per.value < 1)
      report(
        err(
          codes.badPriceQuantity,
          `\`per ${c.per.raw}\` must be a whole number of calls, 1 or more`,
          c.per.range,
        ),
      );
  }
  const tiers = new Set<string>();
  for (const t of m.multipliers) {
    if (tiers.has(t.tier))
      report(err(codes.duplicateName, `\`${t.tier}\` is given twice`, t.range));
    tiers.add(t.tier);
    let ok = true;
    try {
      ok = percentToBasisPoints(t.percent.raw) <= 100_000;
    } catch {
      ok = false;
    }
    if (!ok)
      report(
        err(
          codes.badPriceQuantity,
          `\`${t.tier} ${t.percent.raw}\` must be a share of the price from 0% to 1000% with at most 2 decimals`,
          t.percent.range,
          t.tier === 'batch' ? 'providers bill batch work at 50%: `batch 50%`' : undefined,
        ),
      );
  }
  const thresholds = new Set<number>();
  for (const t of m.longContext) {
    if (!Number.isSafeInteger(t.threshold.value) || t.threshold.value < 1)
      report(
        err(
          codes.badPriceQuantity,
          `\`above ${t.threshold.raw} input\` must be a whole number of tokens, 1 or more`,
          t.threshold.range,
        ),
      );
    if (thresholds.has(t.threshold.value))
      report(
        err(codes.duplicateName, `\`above ${t.threshold.raw} input\` is given twice`, t.range),
      );
    thresholds.add(t.threshold.value);
    if (t.prices.length === 0)
      report(
        warn(
          codes.longContextChangesNothing,
          `\`above ${t.threshold.raw} input\` changes no price`,
          t.range,
          'give the rates that apply above the threshold, e.g. `{ input 6.00 output 22.50 }`',
        ),
      );
    entries(t.prices);
  }
}

/**
 * Every provider name must have one price. A name matching patterns of several models goes
 * to the most specific pattern (most literal characters), so only two collisions are real:
 * a pattern that covers another model's declared name (that model's dated and prefixed
 * names would then be priced as this one), and the same pattern given to two models (both
 * `modelPatternCollision`). A pattern must say something (`patternMatchesAll`).
 */
function checkModelNames(models: ModelDecl[], report: (d: Diagnostic) => void): void {
  const owner = new Map<string, ModelDecl>();
  for (const m of models) {
    for (const p of m.matches) {
      if (p.value.replaceAll('*', '') === '') {
        report(
          err(
            codes.patternMatchesAll,
            `pattern "${p.value}" of model "${m.model.value}" matches every model name`,
            p.range,
            'write the name it stands for, e.g. "claude-sonnet-4-5-*"',
          ),
        );
        continue;
      }
      const first = owner.get(p.value);
      if (first && first.model.value !== m.model.value)
        report(
          err(
            codes.modelPatternCollision,
            `pattern "${p.value}" is given to model "${first.model.value}" (line ${first.range.start.line}) and to model "${m.model.value}"`,
            p.range,
            'keep it on one model',
          ),
        );
      else owner.set(p.value, m);
      for (const other of models) {
        if (other.model.value === m.model.value || !globMatches(p.value, other.model.value))
          continue;
        report(
          err(
            codes.modelPatternCollision,
            `pattern "${p.value}" of model "${m.model.value}" covers model "${other.model.value}" (line ${other.range.start.line}), so its dated and prefixed names would be priced as "${m.model.value}"`,
            p.range,
            `make the pattern more specific, e.g. "${specificHint(p.value)}"`,
          ),
        );
      }
    }
  }
}

/** "claude-sonnet-4-*" → "claude-sonnet-4-2025*": a date where the pattern is open. */
function specificHint(pattern: string): string {
  return pattern.endsWith('-*')
    ? `${pattern.slice(0, -1)}2025*`
    : `${pattern.replace(/\*$/, '')}-2025*`;
}

function err(code: DiagnosticCode, message: string, range: Range, hint?: string): Diagnostic {
  return hint
    ? { severity: 'error', code, message, range, hint }
    : { severity: 'error', code, message, range };
}

function warn(code: DiagnosticCode, message: string, range: Range, hint?: string): Diagnostic {
  return hint
    ? { severity: 'warning', code, message, range, hint }
    : { severity: 'warning', code, message, range };
}

/** Direct metric references of an expression (bare names that are metric names). */
export function metricRefs(e: Expr, metrics: ReadonlySet<string>, out: Name[] = []): Name[] {
  switch (e.kind) {
    case 'Ref':
      if (metrics.has(e.name.text)) out.push(e.name);
      break;
    case 'Member':
      metricRefs(e.object, metrics, out);
      break;
    case 'Call':
      for (const a of e.args) metricRefs(a, metrics, out);
      break;
    case 'Unary':
      metricRefs(e.operand, metrics, out);
      break;
    case 'Binary':
      metricRefs(e.left, metrics, out);
      metricRefs(e.right, metrics, out);
      break;
    case 'In':
      metricRefs(e.value, metrics, out);
      for (const a of e.list) metricRefs(a, metrics, out);
      break;
    case 'If':
      metricRefs(e.cond, metrics, out);
      metricRefs(e.then, metrics, out);
      metricRefs(e.else, metrics, out);
      break;
    case 'Paren':
      metricRefs(e.inner, metrics, out);
      break;
  }
  return out;
}

/**
 * The declared measures an expression reads, directly or through metrics: each with the
 * name written in the expression and, through a metric, the measure it leads to.
 */
function measureReads(
  root: Expr,
  measures: ReadonlySet<string>,
  metrics: ReadonlyMap<string, MetricDecl>,
): { name: Name; via: string | null }[] {
  const out: { name: Name; via: string | null }[] = [];
  const seen = new Set<string>();
  /** the first measure a metric leads to, or null */
  const throughMetric = (metric: string): string | null => {
    if (seen.has(metric)) return null;
    seen.add(metric);
    const m = metrics.get(metric);
    return m ? (firstMeasure(m.formula) ?? null) : null;
  };
  const firstMeasure = (e: Expr): string | undefined => {
    if (e.kind === 'Within' && measures.has(e.fact.text)) return e.fact.text;
    if (e.kind === 'Ref') {
      if (measures.has(e.name.text)) return e.name.text;
      if (metrics.has(e.name.text)) return throughMetric(e.name.text) ?? undefined;
    }
    for (const c of children(e)) {
      const found = firstMeasure(c);
      if (found) return found;
    }
    return undefined;
  };
  const visit = (e: Expr) => {
    const name = e.kind === 'Within' ? e.fact : e.kind === 'Ref' ? e.name : null;
    if (name && measures.has(name.text)) out.push({ name, via: null });
    else if (e.kind === 'Ref' && metrics.has(e.name.text)) {
      const measure = throughMetric(e.name.text);
      if (measure) out.push({ name: e.name, via: measure });
    }
    for (const c of children(e)) visit(c);
  };
  visit(root);
  return out;
}

/** Deepest operator nesting the checker and compiler accept (they recurse on it). */
export const MAX_EXPRESSION_DEPTH = 400;

function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'Member':
      return [e.object];
    case 'Call':
      return e.args;
    case 'Unary':
      return [e.operand];
    case 'Binary':
      return [e.left, e.right];
    case 'In':
      return [e.value, ...e.list];
    case 'If':
      return [e.cond, e.then, e.else];
    case 'Paren':
      return [e.inner];
    default:
      return [];
  }
}

/** Nesting depth, measured without recursion. */
export function exprDepth(root: Expr): number {
  let max = 0;
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [e, depth] = stack.pop()!;
    if (depth > max) max = depth;
    for (const c of children(e)) stack.push([c, depth + 1]);
  }
  return max;
}

function expressionsOf(decl: Declaration): Expr[] {
  switch (decl.kind) {
    case 'Metric':
      return [decl.formula];
    case 'Leaderboard':
      return [decl.cohort, decl.eligible, decl.exclude, decl.score].filter(
        (e): e is Expr => e !== null,
      );
    case 'Assign':
      return decl.when ? [decl.when] : [];
    case 'Rule':
      return decl.when ? [decl.when] : [];
    case 'Badge':
      return decl.when ? [decl.when] : [];
    case 'Test':
      return decl.givens
        .flatMap((g) => [
          ...g.facts.map((f) => f.value),
          ...g.attributes.flatMap((a) => (a.value ? [a.value] : [])),
        ])
        .concat(
          decl.expects.flatMap((x) =>
            x.expectation.kind === 'ExpectValue' ? [x.expectation.low, x.expectation.high] : [],
          ),
        );
    default:
      return [];
  }
}

/** What the passes share: the declarations, the names they declare, and the typing scopes. */
type CheckContext = {
  ast: PolicyFile;
  d: DeclarationsByKind;
  report: (d: Diagnostic) => void;
  needName: NeedName;
  currency: string;
  classes: ReadonlySet<string>;
  tiers: ReadonlySet<string>;
  boards: ReadonlySet<string>;
  rules: ReadonlySet<string>;
  metricDecls: ReadonlyMap<string, MetricDecl>;
  metricSet: ReadonlySet<string>;
  /** escalation ladder → its thresholds, for `expect fires <ladder> at N%` */
  ladderSteps: ReadonlyMap<string, number[]>;
  /** set by the `metric types` pass */
  personScope: ExprScope;
  teamScope: ExprScope;
  metricUnits: Record<string, string>;
  /** an optional expression must be a condition (true/false) */
  condition: (e: Expr | null, scope: ExprScope, where: string) => void;
};

/**
 * How duplicates of a kind are found: `singleton` kinds may appear once, `repeatable` ones
 * any number of times, others are unique by a key (`what` names them in the message).
 */
type Identity<K extends DeclarationKind> =
  | 'singleton'
  | 'repeatable'
  | { what: string; key: (d: DeclarationOf<K>) => { text: string; range: Range } };

type DeclarationCheck<K extends DeclarationKind> = {
  identity: Identity<K>;
  /** the kind's own checks, run by the `declarations` pass after names and metric types */
  check: (decls: DeclarationOf<K>[], ctx: CheckContext) => void;
};

const named = (n: Name) => ({ text: n.text, range: n.range });

/**
 * The per-kind checks, one entry per declaration kind (tsc refuses a kind without one).
 * The `declarations` pass runs them in this order.
 */
const DECLARATION_CHECKS: { [K in DeclarationKind]: DeclarationCheck<K> } = {
  PolicyHeader: {
    identity: 'singleton',
    check(headers, ctx) {
      if (headers.length === 0 && ctx.ast.declarations.length > 0) {
        ctx.report(
          warn(
            codes.headerProblem,
            'the policy has no `policy "<name>" version "<v>"` header',
            ctx.ast.declarations[0].range,
          ),
        );
      }
    },
  },
  Currency: {
    identity: 'singleton',
    check([currencyDecl], ctx) {
      if (currencyDecl && !/^[A-Z]{3}$/.test(ctx.currency)) {
        ctx.report(
          err(
            codes.badCurrency,
            `\`${ctx.currency}\` is not an ISO 4217 currency code`,
            currencyDecl.code.range,
            'e.g. USD, EUR, GBP',
          ),
        );
      }
    },
  },
  Timezone: {
    identity: 'singleton',
    check([tz], ctx) {
      if (tz && !isValidTimeZone(tz.zone.value)) {
        const guess = suggest(tz.zone.value, Intl.supportedValuesOf('timeZone'));
        ctx.report(
          err(
            codes.unknownTimezone,
            `unknown timezone "${tz.zone.value}"${guess ? `; did you mean "${guess}"?` : ''}`,
            tz.zone.range,
            'an IANA zone name such as "Europe/London"',
          ),
        );
      }
    },
  },
  Privacy: {
    identity: 'singleton',
    check([privacy], ctx) {
      const size = privacy?.minGroupSize;
      if (size && (size.value < 1 || !Number.isInteger(size.value))) {
        ctx.report(
          err(
            codes.missingValue,
            '`min_group_size` must be a whole number of at least 1',
            size.range,
          ),
        );
      }
    },
  },
  Exceptions: {
    identity: 'singleton',
    check([exceptions], ctx) {
      if (exceptions?.maxDuration && exceptions.maxDuration.amount <= 0) {
        ctx.report(
          err(codes.missingValue, '`max_duration` must be positive', exceptions.maxDuration.range),
        );
      }
    },
  },
  Class: { identity: { what: 'class', key: (c) => named(c.name) }, check() {} },
  Model: {
    identity: { what: 'model', key: (m) => ({ text: m.model.value, range: m.model.range }) },
    check(models, ctx) {
      for (const m of models) {
        ctx.needName(
          m.className,
          ctx.classes,
          codes.unknownClass,
          'model class',
          `declare it: class ${m.className.text} "..."`,
        );
        checkModelPrices(m, ctx.report);
      }
      checkModelNames(models, ctx.report);
    },
  },
  Measure: { identity: { what: 'measure', key: (m) => named(m.name) }, check: checkMeasures },
  // names, cycles and units are the `metric types` pass: every later check reads them
  Metric: { identity: { what: 'metric', key: (m) => named(m.name) }, check() {} },
  Leaderboard: {
    identity: { what: 'leaderboard', key: (l) => named(l.name) },
    check: checkLeaderboards,
  },
  Badge: {
    identity: { what: 'badge', key: (b) => named(b.name) },
    check(badges, ctx) {
      for (const b of badges) {
        if (!b.when)
          ctx.report(
            err(
              codes.badBadge,
              `badge \`${b.name.text}\` has no \`when <condition>\``,
              b.name.range,
              'e.g. `when tasks >= 20 and acceptance >= 90%`',
            ),
          );
        ctx.condition(b.when, b.subject === 'team' ? ctx.teamScope : ctx.personScope, '`when`');
      }
    },
  },
  Season: { identity: { what: 'season', key: (s) => named(s.name) }, check: checkSeasons },
  Tier: {
    identity: { what: 'tier', key: (t) => named(t.name) },
    check(tiers, ctx) {
      for (const t of tiers) {
        if (!t.limit)
          ctx.report(
            err(
              codes.missingValue,
              `tier \`${t.name.text}\` has no \`limit N tokens per <period>\``,
              t.name.range,
            ),
          );
        else if (t.limit.value <= 0)
          ctx.report(err(codes.missingValue, 'a tier limit must be positive', t.limit.range));
        if (Array.isArray(t.models)) {
          for (const c of t.models)
            ctx.needName(
              c,
              ctx.classes,
              codes.unknownClass,
              'model class',
              `declare it: class ${c.text} "..."`,
            );
        }
      }
    },
  },
  Assign: {
    identity: 'repeatable',
    check(assigns, ctx) {
      checkAssignments(assigns, ctx.d.Tier.length > 0, ctx.report);
      const measures = new Set(ctx.d.Measure.map((m) => m.name.text));
      for (const a of assigns) {
        ctx.needName(a.tier, ctx.tiers, codes.unknownTier, 'tier');
        ctx.condition(a.when, ctx.personScope, '`assign ... when`');
        if (a.when && measures.size > 0)
          for (const read of measureReads(a.when, measures, ctx.metricDecls))
            ctx.report(
              err(
                codes.measureInAssignment,
                `\`assign ... when\` reads the measure \`${read.via ?? read.name.text}\`${read.via ? ` (through the metric \`${read.name.text}\`)` : ''}: the quota check does not read measures, so the tier would differ from a full evaluation's`,
                read.name.range,
                'assign tiers on usage facts and attributes; use measures in metrics, boards, badges and rules',
              ),
            );
      }
    },
  },
  Budget: {
    identity: { what: 'budget', key: (b) => ({ text: budgetKey(b), range: b.range }) },
    check(budgets, ctx) {
      for (const b of budgets) {
        if (b.target.scope === 'project' && !/^[^@#]+$/.test(b.target.id.value))
          ctx.report(
            err(
              codes.badBudget,
              `project name "${b.target.id.value}" must not be empty or hold \`@\` or \`#\``,
              b.target.id.range,
            ),
          );
        if (b.target.scope === 'pool') checkPool(b.target, ctx);
        if (b.amount.kind === 'Number') {
          if (!Number.isSafeInteger(b.amount.value) || b.amount.value < 1)
            ctx.report(
              err(
                codes.badBudget,
                `a token budget must be a whole number of tokens, 1 or more (\`${b.amount.raw} tokens\`)`,
                b.amount.range,
              ),
            );
          continue;
        }
        inferExpr(b.amount, ctx.personScope);
        if (b.amount.amount <= 0)
          ctx.report(err(codes.missingValue, 'a budget must be positive', b.amount.range));
        else {
          try {
            decimalToMicros(String(b.amount.amount));
          } catch {
            ctx.report(
              err(codes.inexactMoney, 'a budget amount needs at most 6 decimals', b.amount.range),
            );
          }
        }
      }
    },
  },
  Escalation: {
    identity: { what: 'escalation ladder', key: (e) => named(e.target) },
    check(ladders, ctx) {
      for (const e of ladders) checkLadder(e, ctx);
    },
  },
  Rule: {
    identity: { what: 'rule', key: (r) => named(r.name) },
    check(rules, ctx) {
      for (const r of rules) {
        if (!r.when && !r.detect)
          ctx.report(
            err(
              codes.badDetector,
              `rule \`${r.name.text}\` has neither \`when <condition>\` nor \`detect …\``,
              r.name.range,
              'e.g. `detect deviation of tokens within 28d above 3.5`',
            ),
          );
        ctx.condition(r.when, r.subject === 'team' ? ctx.teamScope : ctx.personScope, '`when`');
        if (r.detect) checkDetector(r.detect, ctx.report);
        checkAction(r.then, ctx.report, ctx.needName);
        if (r.subject === 'team') checkTeamRuleAction(r.then, ctx.report);
      }
    },
  },
  RequestLimit: {
    identity: {
      what: 'request limit',
      key: (r) => (r.target ? named(r.target) : { text: 'any', range: r.range }),
    },
    check(limits, ctx) {
      for (const r of limits) {
        if (r.target)
          ctx.needName(
            r.target,
            ctx.classes,
            codes.unknownClass,
            'model class',
            `declare it: class ${r.target.text} "...", or write \`request any\``,
          );
        checkRequestSteps(r, ctx.report);
      }
    },
  },
  Test: {
    identity: { what: 'test', key: (t) => ({ text: t.name.value, range: t.name.range }) },
    check(tests, ctx) {
      for (const t of tests) checkTest(t, ctx, ctx.report, ctx.needName);
    },
  },
};

function checkMeasures(measures: MeasureDecl[], ctx: CheckContext): void {
  for (const m of measures) {
    const n = m.name.text;
    const activity = ACTIVITY_MEASURES.has(n);
    if (
      (FACTS[n] && !activity) ||
      ctx.metricSet.has(n) ||
      PERSON_ATTRIBUTES[n] ||
      TEAM_ATTRIBUTES[n]
    ) {
      ctx.report(
        err(
          codes.measureShadowsName,
          `measure \`${n}\` hides the ${ctx.metricSet.has(n) ? 'metric' : FACTS[n] ? 'fact' : 'attribute'} of the same name`,
          m.name.range,
          'choose another name',
        ),
      );
    }
    if (!m.unit)
      ctx.report(
        err(
          codes.badMeasure,
          `measure \`${n}\` has no \`unit\``,
          m.name.range,
          'units: count, tokens, money, minutes, score',
        ),
      );
    else if (!(m.unit.text in MEASURE_UNITS)) {
      const guess = suggest(m.unit.text, Object.keys(MEASURE_UNITS));
      ctx.report(
        err(
          codes.badMeasure,
          `unknown measure unit \`${m.unit.text}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
          m.unit.range,
          'units: count, tokens, money, minutes, score',
        ),
      );
    } else if (activity && m.unit.text !== 'count')
      ctx.report(
        err(
          codes.badMeasure,
          `Claude Code's \`${n}\` counts, so its unit is \`count\``,
          m.unit.range,
        ),
      );
    if (!m.aggregate)
      ctx.report(
        err(
          codes.badMeasure,
          `measure \`${n}\` has no \`aggregate\``,
          m.name.range,
          'aggregate sum, aggregate mean or aggregate percentile 90',
        ),
      );
    const p = m.percentile;
    if (m.aggregate === 'percentile' && p && !(p.value > 0 && p.value <= 100))
      ctx.report(
        err(codes.badMeasure, 'a percentile lies above 0 and at most 100', p.range, 'e.g. 90'),
      );
  }
}

/** The type of each well-formed measure's value, by name (sum, mean and percentile keep the unit). */
function measureTypes(measures: readonly MeasureDecl[]): Map<string, Typed> {
  const out = new Map<string, Typed>();
  for (const m of measures) {
    if (out.has(m.name.text) || !m.unit || !(m.unit.text in MEASURE_UNITS)) continue;
    const base = MEASURE_UNITS[m.unit.text];
    // observations may be negative (a score's delta), so a measure's range is unknown
    out.set(m.name.text, { ty: base ? unitOf(base) : DIMENSIONLESS, range: ALL });
  }
  return out;
}

function checkLeaderboards(boards: LeaderboardDecl[], ctx: CheckContext): void {
  const { report } = ctx;
  for (const l of boards) {
    const scope = l.subject === 'team' ? ctx.teamScope : ctx.personScope;
    if (l.cohort) {
      const t = inferExpr(l.cohort, scope);
      if (t.ty.t === 'num') {
        report(
          warn(
            codes.numericCohort,
            `cohort \`${exprText(l.cohort)}\` is a number; cohorts group by a name such as \`role\``,
            l.cohort.range,
          ),
        );
      }
    }
    ctx.condition(l.eligible, scope, '`eligible when`');
    ctx.condition(l.exclude, scope, '`exclude when`');
    if (!l.score) {
      report(
        err(
          codes.missingValue,
          `leaderboard \`${l.name.text}\` has no \`score = ...\``,
          l.name.range,
        ),
      );
    } else {
      const t = inferExpr(l.score, scope);
      if (t.ty.t !== 'num' && t.ty.t !== 'err') {
        report(
          err(
            codes.notANumber,
            `the score must be a number, but \`${exprText(l.score)}\` is ${unitText(t.ty)}`,
            l.score.range,
          ),
        );
      } else if (
        t.ty.t === 'num' &&
        t.ty.dims &&
        (unitText(t.ty) === 'tokens' || unitText(t.ty) === 'money')
      ) {
        report(
          warn(
            codes.volumeScore,
            `this score ranks raw ${unitText(t.ty)}: leaderboards should reward value per token, not volume`,
            l.score.range,
            'divide by tokens or cost, e.g. `accepted / max(tokens, 1)`',
          ),
        );
      }
    }
    if (l.top && (l.top.value < 1 || !Number.isInteger(l.top.value))) {
      report(err(codes.missingValue, '`top` must be a whole number of at least 1', l.top.range));
    }
  }
}

function checkLadder(e: EscalationDecl, ctx: CheckContext): void {
  ctx.needName(
    e.target,
    LADDERS,
    codes.unknownLadder,
    'escalation ladder',
    'ladders: quota (tier limits), budget (budgets)',
  );
  const last: Record<string, { value: number; range: Range } | undefined> = {};
  for (const s of e.steps) {
    if (s.threshold.value <= 0)
      ctx.report(
        err(
          codes.thresholdsNotRising,
          'an escalation threshold must be above 0%',
          s.threshold.range,
        ),
      );
    const prev = last[s.trigger];
    if (prev && s.threshold.value <= prev.value) {
      ctx.report(
        err(
          codes.thresholdsNotRising,
          `escalation thresholds must rise: ${s.threshold.raw} comes after ${prev.value}% (line ${prev.range.start.line})`,
          s.threshold.range,
          'order the steps from the lowest threshold to the highest, without repeats',
        ),
      );
    }
    last[s.trigger] = { value: s.threshold.value, range: s.threshold.range };
    checkAction(s.action, ctx.report, ctx.needName);
  }
}

type CheckPass = {
  name: string;
  run: (ctx: CheckContext) => void;
  /** later passes recurse on expressions, so they must not run after this pass reports */
  stopOnError?: boolean;
};

/** The checker, as an ordered list of named passes (each reads what the earlier ones set). */
export const CHECK_PASSES: readonly CheckPass[] = [
  {
    // absurdly long operator chains would overflow the recursive passes below
    name: 'expression depth',
    stopOnError: true,
    run(ctx) {
      for (const decl of ctx.ast.declarations) {
        for (const e of expressionsOf(decl)) {
          const depth = exprDepth(e);
          if (depth > MAX_EXPRESSION_DEPTH) {
            ctx.report(
              err(
                codes.expressionTooDeep,
                `this expression nests ${depth} operators deep; at most ${MAX_EXPRESSION_DEPTH} are allowed`,
                e.range,
                'split it into metrics',
              ),
            );
          }
        }
      }
    },
  },
  { name: 'duplicates', run: checkDuplicates },
  { name: 'metric types', run: checkMetricTypes },
  {
    name: 'declarations',
    run(ctx) {
      for (const kind of Object.keys(DECLARATION_CHECKS) as DeclarationKind[]) {
        runCheck(kind, ctx);
      }
    },
  },
];

function runCheck<K extends DeclarationKind>(kind: K, ctx: CheckContext): void {
  const entry = DECLARATION_CHECKS[kind] as DeclarationCheck<K>;
  entry.check(ctx.d[kind] as DeclarationOf<K>[], ctx);
}

function checkDuplicates(ctx: CheckContext): void {
  for (const kind of Object.keys(DECLARATION_CHECKS) as DeclarationKind[]) {
    duplicatesOf(kind, ctx);
  }
}

function duplicatesOf<K extends DeclarationKind>(kind: K, ctx: CheckContext): void {
  const identity = (DECLARATION_CHECKS[kind] as DeclarationCheck<K>).identity;
  const decls = ctx.d[kind] as DeclarationOf<K>[];
  if (identity === 'repeatable') return;
  if (identity === 'singleton') {
    const keyword = CONSTRUCT_DOCS[kind].keyword;
    for (const extra of decls.slice(1)) {
      ctx.report(
        err(
          codes.headerProblem,
          `\`${keyword}\` is declared more than once`,
          extra.range,
          'keep one',
        ),
      );
    }
    return;
  }
  const seen = new Map<string, Range>();
  for (const decl of decls) {
    const n = identity.key(decl);
    const first = seen.get(n.text);
    if (first) {
      ctx.report(
        err(
          codes.duplicateName,
          `${identity.what} \`${n.text}\` is already declared at line ${first.start.line}`,
          n.range,
          'rename or remove one of them',
        ),
      );
    } else seen.set(n.text, n.range);
  }
}

/** Metric names may not hide facts, form no cycle, and each gets a unit. */
function checkMetricTypes(ctx: CheckContext): void {
  const { report } = ctx;
  for (const m of ctx.d.Metric) {
    if (FACTS[m.name.text] || PERSON_ATTRIBUTES[m.name.text] || TEAM_ATTRIBUTES[m.name.text]) {
      report(
        err(
          codes.metricShadowsName,
          `metric \`${m.name.text}\` hides the fact or attribute of the same name`,
          m.name.range,
          'choose another name',
        ),
      );
    }
  }
  const { inCycle, order: metricOrder } = reportCycles(ctx.d.Metric, ctx.metricSet, report);
  const memo = new Map<string, Typed>();
  const inProgress = new Set<string>();
  const metricNames = [...ctx.metricDecls.keys()];
  const measures = measureTypes(ctx.d.Measure);
  const measureNames = [...measures.keys()];
  const scopeFor = (subject: 'person' | 'team'): ExprScope => ({
    subject,
    currency: ctx.currency,
    metricNames,
    measureNames,
    measure: (name) => measures.get(name),
    report,
    metric(name) {
      const decl = ctx.metricDecls.get(name);
      if (!decl) return undefined;
      const done = memo.get(name);
      if (done) return done;
      if (inProgress.has(name) || inCycle.has(name)) return ERR_T;
      inProgress.add(name);
      const t = inferExpr(decl.formula, ctx.personScope);
      inProgress.delete(name);
      if (t.ty.t !== 'num' && t.ty.t !== 'err') {
        report(
          err(
            codes.notANumber,
            `metric \`${name}\` must be a number, but its formula is ${unitText(t.ty)}`,
            decl.formula.range,
          ),
        );
      }
      memo.set(name, t);
      return t;
    },
  });
  ctx.personScope = scopeFor('person');
  ctx.teamScope = scopeFor('team');
  // dependencies first, so typing a metric never recurses through a long chain
  for (const name of metricOrder) ctx.personScope.metric(name);
  for (const [name, t] of memo) {
    // a metric made only of plain numbers is a dimensionless ratio
    if (t.ty.t === 'num') ctx.metricUnits[name] = t.ty.dims === null ? '1' : unitText(t.ty);
  }
}

export function checkPolicy(ast: PolicyFile): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic) => diagnostics.push(d);
  const d = groupDeclarations(ast);
  const metricDecls = new Map<string, MetricDecl>();
  for (const m of d.Metric) if (!metricDecls.has(m.name.text)) metricDecls.set(m.name.text, m);
  const needName: NeedName = (name, set, code, what, hint) => {
    const has = Array.isArray(set)
      ? set.includes(name.text)
      : (set as ReadonlySet<string>).has(name.text);
    if (has) return true;
    const guess = suggest(name.text, set as Iterable<string>);
    report(
      err(
        code,
        `unknown ${what} \`${name.text}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
        name.range,
        guess ? `replace with \`${guess}\`` : hint,
      ),
    );
    return false;
  };
  const unset: ExprScope = {
    subject: 'person',
    currency: 'USD',
    metricNames: [],
    measureNames: [],
    measure: () => undefined,
    report,
    metric: () => undefined,
  };
  const ctx: CheckContext = {
    ast,
    d,
    report,
    needName,
    currency: d.Currency[0]?.code.text ?? 'USD',
    classes: new Set(d.Class.map((c) => c.name.text)),
    tiers: new Set(d.Tier.map((t) => t.name.text)),
    boards: new Set(d.Leaderboard.map((l) => l.name.text)),
    rules: new Set(d.Rule.map((r) => r.name.text)),
    metricDecls,
    metricSet: new Set(metricDecls.keys()),
    ladderSteps: new Map(
      d.Escalation.map((e) => [e.target.text, e.steps.map((s) => s.threshold.value)]),
    ),
    personScope: unset,
    teamScope: unset,
    metricUnits: {},
    condition(e, scope, where) {
      if (!e) return;
      const t = inferExpr(e, scope);
      if (t.ty.t !== 'bool' && t.ty.t !== 'err' && t.ty.t !== 'any') {
        report(
          err(
            codes.notACondition,
            `${where} needs a condition (true/false), but \`${exprText(e)}\` is ${unitText(t.ty)}`,
            e.range,
          ),
        );
      }
    },
  };
  for (const pass of CHECK_PASSES) {
    pass.run(ctx);
    if (pass.stopOnError && diagnostics.length > 0)
      return { diagnostics: sortDiagnostics(diagnostics), metricUnits: {} };
  }
  return { diagnostics: sortDiagnostics(diagnostics), metricUnits: ctx.metricUnits };
}

/**
 * A request limit has at most one `warn` and one `block`, each above a whole number of input
 * tokens, and a warning below the block (a warning at or past it would never show).
 */
function checkRequestSteps(r: RequestLimitDecl, report: (d: Diagnostic) => void): void {
  const seen = new Map<string, RequestLimitDecl['steps'][number]>();
  if (r.steps.length === 0)
    report(
      err(
        codes.badRequestLimit,
        'a request limit needs a `warn above N input` or `block above N input` step',
        r.range,
      ),
    );
  for (const step of r.steps) {
    if (!Number.isSafeInteger(step.above.value) || step.above.value < 1)
      report(
        err(
          codes.badRequestLimit,
          `a request limit must be a whole number of input tokens, 1 or more (\`${step.above.raw}\`)`,
          step.above.range,
        ),
      );
    if (seen.has(step.action))
      report(
        err(codes.badRequestLimit, `\`${step.action}\` is given twice in this limit`, step.range),
      );
    seen.set(step.action, step);
  }
  const warn = seen.get('warn');
  const block = seen.get('block');
  if (warn && block && warn.above.value >= block.above.value)
    report(
      err(
        codes.badRequestLimit,
        `the warning (above ${warn.above.raw}) must be below the block (above ${block.above.raw}): a request that large is blocked, never warned`,
        warn.above.range,
      ),
    );
}

/** A pool's name is a plain word of the budget key; each team draws from it once. */
function checkPool(
  pool: Extract<BudgetDecl['target'], { scope: 'pool' }>,
  ctx: { report(d: Diagnostic): void },
): void {
  if (!/^[^@#]+$/.test(pool.id.value))
    ctx.report(
      err(
        codes.badPool,
        `pool name "${pool.id.value}" must not be empty or hold \`@\` or \`#\``,
        pool.id.range,
      ),
    );
  const seen = new Set<string>();
  for (const team of pool.teams) {
    if (team.value.trim() === '')
      ctx.report(err(codes.badPool, 'a pool team needs a name', team.range));
    else if (seen.has(team.value))
      ctx.report(
        err(codes.badPool, `team "${team.value}" is named twice in this pool`, team.range),
      );
    seen.add(team.value);
  }
}

/**
 * "each team", "team platform", "org", "project launch", "pool ml", with " (tokens)" for a
 * token budget and "@sandbox" for an environment scope.
 */
export function budgetKey(b: BudgetDecl): string {
  const t = b.target;
  const base =
    t.scope === 'org'
      ? 'org'
      : t.scope === 'project'
        ? `project ${t.id.value}`
        : t.scope === 'pool'
          ? `pool ${t.id.value}`
          : t.scope === 'each'
            ? `each ${t.subject}`
            : `${t.subject} ${t.id.value}`;
  const unit = b.amount.kind === 'Number' ? ' (tokens)' : '';
  return b.environment ? `${base}${unit}@${b.environment.value}` : `${base}${unit}`;
}

/**
 * Metric cycles: each reported once, at the first metric of the cycle in source order.
 * Also returns the metrics in dependency order (post-order), so they can be typed
 * without recursing through long chains. Iterative: a 10,000-metric chain is fine.
 */
function reportCycles(
  metrics: MetricDecl[],
  names: ReadonlySet<string>,
  report: (d: Diagnostic) => void,
): { inCycle: Set<string>; order: string[] } {
  const deps = new Map<string, Name[]>();
  const decl = new Map<string, MetricDecl>();
  for (const m of metrics) {
    if (decl.has(m.name.text)) continue;
    decl.set(m.name.text, m);
    deps.set(m.name.text, metricRefs(m.formula, names));
  }
  const state = new Map<string, 'active' | 'done'>();
  const inCycle = new Set<string>();
  const order: string[] = [];
  for (const root of decl.keys()) {
    if (state.has(root)) continue;
    // explicit DFS stack: [metric, index of the next dependency to visit]
    const stack: [string, number][] = [[root, 0]];
    const path: string[] = [root];
    state.set(root, 'active');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const list = deps.get(top[0]) ?? [];
      if (top[1] >= list.length) {
        stack.pop();
        path.pop();
        state.set(top[0], 'done');
        order.push(top[0]);
        continue;
      }
      const ref = list[top[1]++].text;
      const s = state.get(ref);
      if (s === 'active') {
        const members = path.slice(path.indexOf(ref));
        if (!members.some((m) => inCycle.has(m))) {
          // rotate so the cycle starts at the member declared first
          const first = members.reduce((a, b) =>
            decl.get(a)!.range.start.offset <= decl.get(b)!.range.start.offset ? a : b,
          );
          const i = members.indexOf(first);
          const ordered = [...members.slice(i), ...members.slice(0, i), first];
          report(
            err(
              codes.metricCycle,
              `metric cycle: ${ordered.join(' → ')}`,
              decl.get(first)!.name.range,
              'a metric cannot depend on itself, directly or through other metrics',
            ),
          );
        }
        for (const m of members) inCycle.add(m);
      } else if (!s && decl.has(ref)) {
        state.set(ref, 'active');
        stack.push([ref, 0]);
        path.push(ref);
      }
    }
  }
  return { inCycle, order };
}

function isAlwaysTrue(e: Expr | null): boolean {
  if (e === null) return true;
  if (e.kind === 'Paren') return isAlwaysTrue(e.inner);
  return e.kind === 'Bool' && e.value;
}

/** First match wins: anything after an unconditional assign can never match. */
type Covered = {
  /** condition text → the assign that had it */
  text: Map<string, AssignDecl>;
  /** attribute → value → the first assign matching `attr == value` / `attr in [...]` */
  values: Map<string, Map<string, AssignDecl>>;
};

/** `role == "x"` or `role in ["x", "y"]` (not negated): the attribute and its values. */
function simpleTest(e: Expr | null): { attr: string; values: string[] } | null {
  if (!e) return null;
  if (e.kind === 'Paren') return simpleTest(e.inner);
  const attr = (x: Expr): string | null =>
    x.kind === 'Ref' ? x.name.text : x.kind === 'Member' ? exprText(x) : null;
  if (e.kind === 'Binary' && e.op === '==' && e.right.kind === 'StringExpr') {
    const a = attr(e.left);
    return a ? { attr: a, values: [e.right.value] } : null;
  }
  if (e.kind === 'In' && !e.negated && e.list.every((x) => x.kind === 'StringExpr')) {
    const a = attr(e.value);
    return a ? { attr: a, values: e.list.map((x) => (x as { value: string }).value) } : null;
  }
  return null;
}

/** An earlier assign that already matches everyone this one would. */
function shadowedBy(a: AssignDecl, covered: Covered): AssignDecl | null {
  if (!a.when) return null;
  const same = covered.text.get(exprText(a.when));
  if (same) return same;
  const test = simpleTest(a.when);
  if (!test) return null;
  const seen = covered.values.get(test.attr);
  const earlier = test.values.map((v) => seen?.get(v));
  return earlier.every((x) => x) ? (earlier[0] as AssignDecl) : null;
}

function remember(a: AssignDecl, covered: Covered): void {
  if (!a.when) return;
  const text = exprText(a.when);
  if (!covered.text.has(text)) covered.text.set(text, a);
  const test = simpleTest(a.when);
  if (!test) return;
  let seen = covered.values.get(test.attr);
  if (!seen) {
    seen = new Map();
    covered.values.set(test.attr, seen);
  }
  for (const v of test.values) if (!seen.has(v)) seen.set(v, a);
}

function checkAssignments(
  assigns: AssignDecl[],
  hasTiers: boolean,
  report: (d: Diagnostic) => void,
): void {
  let catchAll: AssignDecl | null = null;
  const covered: Covered = { text: new Map(), values: new Map() };
  for (const a of assigns) {
    if (catchAll) {
      report(
        err(
          codes.unreachableAssign,
          `unreachable: \`assign ${a.tier.text}\` comes after \`assign ${catchAll.tier.text} ${catchAll.when ? 'when true' : 'otherwise'}\` (line ${catchAll.range.start.line}), which matches everyone`,
          a.range,
          'move it above the unconditional assign, or remove it',
        ),
      );
      continue;
    }
    const shadow = shadowedBy(a, covered);
    if (shadow) {
      report(
        err(
          codes.unreachableAssign,
          `unreachable: everyone \`assign ${a.tier.text}\` matches was already matched by \`assign ${shadow.tier.text}\` (line ${shadow.range.start.line})`,
          a.range,
          'first match wins: move it above, or narrow the earlier condition',
        ),
      );
    }
    remember(a, covered);
    if (isAlwaysTrue(a.when)) catchAll = a;
  }
  if (!catchAll && hasTiers) {
    const at = assigns.at(-1);
    if (at) {
      report(
        warn(
          codes.noFallbackTier,
          'no `assign ... otherwise`: people who match no rule get no tier (and no quota)',
          at.range,
          'end the assignments with `assign <tier> otherwise`',
        ),
      );
    }
  }
}

/** Bounds of a detector's numbers: what each measures is in docs/language/rules.md. */
const DETECTOR_SHAPES: Record<
  DetectorKind,
  { fact: boolean; days: [number, number] | null; above: 'number' | 'percent'; example: string }
> = {
  deviation: {
    fact: true,
    days: [7, 90],
    above: 'number',
    example: 'detect deviation of tokens within 28d above 3.5 history 7d',
  },
  task_splitting: {
    fact: false,
    days: [7, 90],
    above: 'number',
    example: 'detect task_splitting within 28d above 3 history 7d',
  },
  retry_loop: {
    fact: false,
    days: null,
    above: 'number',
    example: 'detect retry_loop within 1h above 8 history 7d',
  },
  period_end_burst: {
    fact: true,
    days: [1, 27],
    above: 'percent',
    example: 'detect period_end_burst of tokens within 3d above 50% history 7d in month',
  },
};

/** Shortest length of each period in days: a burst's last days must fit in it. */
const PERIOD_DAYS: Record<Period, number> = { day: 1, week: 7, month: 28, quarter: 90, year: 365 };

function checkDetector(d: DetectClause, report: (d: Diagnostic) => void): void {
  const name = d.detector.text;
  if (!(DETECTORS as readonly string[]).includes(name)) {
    const guess = suggest(name, DETECTORS);
    report(
      err(
        codes.badDetector,
        `unknown detector \`${name}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
        d.detector.range,
        `detectors: ${DETECTORS.join(', ')}`,
      ),
    );
    return;
  }
  const shape = DETECTOR_SHAPES[name as DetectorKind];
  const bad = (message: string, range: Range) =>
    report(err(codes.badDetector, message, range, `e.g. \`${shape.example}\``));
  if (shape.fact && !d.fact) bad(`\`${name}\` needs \`of <fact>\``, d.detector.range);
  if (!shape.fact && d.fact) bad(`\`${name}\` weighs no fact of your choice`, d.fact.range);
  if (d.fact && (!(d.fact.text in FACTS) || d.fact.text === 'active_days')) {
    const guess = suggest(d.fact.text, Object.keys(FACTS));
    bad(
      `\`${d.fact.text}\` is not a fact a detector can weigh${guess && guess !== 'active_days' ? `; did you mean \`${guess}\`?` : ''}`,
      d.fact.range,
    );
  }
  const minutes = durationMinutes(d.window.amount, d.window.unit);
  const windowDays = minutes / 1440;
  if (shape.days) {
    const [low, high] = shape.days;
    const high2 =
      name === 'period_end_burst' ? Math.min(high, PERIOD_DAYS[d.period ?? 'month'] - 1) : high;
    if (!Number.isInteger(windowDays) || windowDays < low || windowDays > high2)
      bad(
        `\`${name}\` needs \`within\` whole days, ${low}d to ${high2}d (got ${d.window.raw})`,
        d.window.range,
      );
  } else if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440)
    bad(`\`${name}\` needs \`within\` a span up to 1d (got ${d.window.raw})`, d.window.range);
  if (shape.above === 'percent') {
    if (d.above.kind !== 'Percent' || d.above.value <= 0 || d.above.value >= 100)
      bad(`\`${name}\` needs \`above\` a share between 0% and 100%`, d.above.range);
  } else if (d.above.kind !== 'Number' || d.above.value <= 0)
    bad(
      `\`${name}\` needs \`above\` a positive number (${name === 'retry_loop' ? 'requests per task' : 'a robust z'})`,
      d.above.range,
    );
  if (d.history) {
    const days = durationMinutes(d.history.amount, d.history.unit) / 1440;
    const most = shape.days && name !== 'period_end_burst' ? windowDays : 30;
    if (!Number.isInteger(days) || days < 1 || days > most)
      bad(
        `\`history\` must be whole days, 1d to ${most}d (the days it is counted in)`,
        d.history.range,
      );
  }
  if (d.period && name !== 'period_end_burst')
    bad(`only \`period_end_burst\` takes \`in <period>\``, d.range);
}

/** A team has no person or manager to notify, and nobody to hold or block. */
function checkTeamRuleAction(a: Action, report: (d: Diagnostic) => void): void {
  if (a.kind !== 'Notify') {
    report(
      err(
        codes.badTeamRule,
        'a team rule can only `notify`: a team has no request to hold or block',
        a.range,
        'e.g. `then notify team_owner, finance`',
      ),
    );
    return;
  }
  for (const who of a.audiences)
    if (who.text === 'person' || who.text === 'manager')
      report(
        err(
          codes.badTeamRule,
          `a team rule cannot notify \`${who.text}\`: a team has no ${who.text}`,
          who.range,
          'notify team_owner, finance, security or governance',
        ),
      );
}

type NeedName = (
  name: Name,
  set: ReadonlySet<string> | readonly string[],
  code: DiagnosticCode,
  what: string,
  hint?: string,
) => boolean;

function checkAction(a: Action, _report: (d: Diagnostic) => void, needName: NeedName): void {
  if (a.kind === 'Notify') {
    for (const who of a.audiences)
      needName(
        who,
        AUDIENCES,
        codes.unknownAudience,
        'audience',
        `audiences: ${AUDIENCES.join(', ')}`,
      );
  } else if (a.kind === 'RequireApproval') {
    needName(
      a.approver,
      APPROVERS,
      codes.unknownAudience,
      'approver',
      `approvers: ${APPROVERS.join(', ')}`,
    );
  }
}

type Known = {
  classes: ReadonlySet<string>;
  tiers: ReadonlySet<string>;
  boards: ReadonlySet<string>;
  metricSet: ReadonlySet<string>;
  rules: ReadonlySet<string>;
  ladderSteps: ReadonlyMap<string, number[]>;
  /** declared measures (a test gives their values like facts) and models */
  d: DeclarationsByKind;
};

function checkTest(
  t: TestDecl,
  known: Known,
  report: (d: Diagnostic) => void,
  needName: NeedName,
): void {
  if (t.now && !Number.isFinite(new Date(t.now.value).getTime())) {
    report(
      err(codes.badTest, `\`now\` must be an ISO timestamp, got "${t.now.value}"`, t.now.range),
    );
  }
  // request limits depend on the request alone: a test of only those needs no subject
  const needsSubject = t.expects.some((x) => x.expectation.kind !== 'ExpectRequest');
  if (t.givens.length === 0 && (needsSubject || t.expects.length === 0))
    report(err(codes.badTest, `test "${t.name.value}" has no \`given\` subject`, t.name.range));
  if (t.expects.length === 0)
    report(warn(codes.badTest, `test "${t.name.value}" expects nothing`, t.name.range));
  const ids = new Set<string>();
  for (const g of t.givens) {
    ids.add(g.id.value);
    const attrs = g.subject === 'person' ? PERSON_ATTRIBUTES : TEAM_ATTRIBUTES;
    for (const a of g.attributes) {
      const text = a.name.text;
      if (text.startsWith('attributes.') || text === 'environment' || text === 'project') continue;
      needName(a.name, Object.keys(attrs), codes.unknownAttribute, `${g.subject} attribute`);
    }
    const factNames = [...Object.keys(FACTS), ...known.d.Measure.map((m) => m.name.text)];
    for (const f of g.facts) needName(f.fact, factNames, codes.unknownFact, 'fact');
  }
  for (const x of t.expects) {
    // "org" names the organisation (its facts are the sum of the given teams)
    if (x.subject && !ids.has(x.subject.value) && x.subject.value !== 'org') {
      report(
        err(
          codes.badExpectation,
          `no given subject "${x.subject.value}" in this test`,
          x.subject.range,
        ),
      );
    }
    const e = x.expectation;
    switch (e.kind) {
      case 'ExpectTier':
        needName(e.tier, known.tiers, codes.unknownTier, 'tier');
        break;
      case 'ExpectValue':
        if (e.target === 'score')
          needName(e.name, known.boards, codes.unknownLeaderboard, 'leaderboard');
        else needName(e.name, known.metricSet, codes.unknownMetric, 'metric');
        break;
      case 'ExpectBand':
        needName(e.band, ['green', 'yellow', 'red'], codes.badExpectation, 'band');
        break;
      case 'ExpectRank':
      case 'ExpectEligible':
        needName(e.board, known.boards, codes.unknownLeaderboard, 'leaderboard');
        break;
      case 'ExpectBadge':
        needName(
          e.badge,
          known.d.Badge.map((b) => b.name.text),
          codes.badExpectation,
          'badge',
        );
        break;
      case 'ExpectRequest':
        if (e.target.kind === 'Name')
          needName(e.target, known.classes, codes.unknownClass, 'model class');
        else if (!known.d.Model.some((m) => m.model.value === (e.target as StringLit).value))
          report(
            err(
              codes.badExpectation,
              `no model "${e.target.value}" is declared`,
              e.target.range,
              'name a declared model, or its class: `expect request premium 150k input warn`',
            ),
          );
        break;
      case 'ExpectFires': {
        const steps = known.ladderSteps.get(e.target.text);
        if (e.step) {
          if (!steps)
            needName(
              e.target,
              [...known.ladderSteps.keys()],
              codes.badExpectation,
              'escalation ladder',
            );
          else if (!steps.includes(e.step.value)) {
            report(
              err(
                codes.badExpectation,
                `ladder \`${e.target.text}\` has no step at ${e.step.raw}`,
                e.step.range,
                `its steps: ${[...new Set(steps)].map((s) => `${s}%`).join(', ')}`,
              ),
            );
          }
        } else {
          needName(e.target, known.rules, codes.badExpectation, 'rule');
        }
        break;
      }
    }
  }
}

const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

function isLocalDate(text: string): boolean {
  if (!LOCAL_DATE.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

/** Each season has valid, ordered dates; no two overlap; `window season` needs one. */
function checkSeasons(seasons: SeasonDecl[], ctx: CheckContext): void {
  const spans: { name: string; from: string; until: string; range: Range }[] = [];
  for (const s of seasons) {
    const problem = (message: string, range: Range) =>
      ctx.report(
        err(codes.badSeason, message, range, 'e.g. `from "2026-10-01"  until "2027-01-01"`'),
      );
    const where = `season \`${s.name.text}\``;
    if (!s.from || !s.until) {
      problem(`${where} needs \`from "YYYY-MM-DD"\` and \`until "YYYY-MM-DD"\``, s.name.range);
      continue;
    }
    const bad = [s.from, s.until].find((d) => !isLocalDate(d.value));
    if (bad) {
      problem(`${where}: "${bad.value}" is not a date written YYYY-MM-DD`, bad.range);
      continue;
    }
    if (s.from.value >= s.until.value) {
      problem(`${where} ends (${s.until.value}) before it starts (${s.from.value})`, s.until.range);
      continue;
    }
    spans.push({
      name: s.name.text,
      from: s.from.value,
      until: s.until.value,
      range: s.name.range,
    });
  }
  spans.sort((a, b) => a.from.localeCompare(b.from));
  for (let i = 1; i < spans.length; i++)
    if (spans[i].from < spans[i - 1].until)
      ctx.report(
        err(
          codes.badSeason,
          `season \`${spans[i].name}\` starts (${spans[i].from}) before season \`${spans[i - 1].name}\` ends (${spans[i - 1].until})`,
          spans[i].range,
          'seasons may not overlap: start it on or after the other ends',
        ),
      );
  if (seasons.length > 0) return;
  for (const d of [...ctx.d.Leaderboard, ...ctx.d.Badge])
    if (d.window === 'season')
      ctx.report(
        err(
          codes.seasonWithoutSeasons,
          `${d.kind === 'Badge' ? 'badge' : 'leaderboard'} \`${d.name.text}\` has \`window season\` and the policy declares no season`,
          d.windowRange ?? d.name.range,
          'declare one: `season q4_2026 "Q4 2026" { from "2026-10-01"  until "2027-01-01" }`',
        ),
      );
}
