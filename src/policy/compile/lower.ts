// AST → rule-set IR. Assumes the checker found no errors. Everything that does not change
// meaning is dropped here: ranges, comments, parentheses, declaration order (except for
// `assign`), the spelling of numbers (2,000 / 2k), of durations (1w / 7d) and list order
// of audiences.
import type {
  Action,
  BudgetDecl,
  DetectClause,
  DurationExpr,
  Expr,
  MeasureDecl,
  ModelDecl,
  PolicyFile,
  PriceEntry,
  PriceKind,
  SubjectKind,
} from '../ast.ts';
import { budgetKey, metricRefs } from '../check/index.ts';
import { FACTS } from '../check/vocabulary.ts';
import {
  DECLARATION_KINDS,
  type DeclarationKind,
  type DeclarationOf,
  type DeclarationsByKind,
  groupDeclarations,
} from '../constructs.ts';
import {
  assertIr,
  DEFAULT_HISTORY_DAYS,
  type DetectorKind,
  IR_VERSION,
  type IrAction,
  type IrBadge,
  type IrBudget,
  type IrDetector,
  type IrExpr,
  type IrLeaderboard,
  type IrMeasure,
  type IrMetric,
  type IrRequestLimit,
  type IrRule,
  type IrSeason,
  type IrStep,
  type IrTier,
  type MeasureUnit,
  measureFact,
  type RuleSetIR,
} from '../ir.ts';
import {
  decimalToMicros,
  type ModelPrice,
  percentToBasisPoints,
  type TokenRates,
} from '../price.ts';
import { durationMinutes, windowKey } from '../windows.ts';

type Ctx = {
  metrics: ReadonlySet<string>;
  subject: SubjectKind;
  /** declared measure → the fact name it is read under (`measureFact`) */
  measures?: ReadonlyMap<string, string>;
};

export function lowerExpr(e: Expr, ctx: Ctx): IrExpr {
  switch (e.kind) {
    case 'Number':
      return { k: 'num', v: e.value };
    case 'Percent':
      return { k: 'num', v: e.value / 100 };
    case 'Money':
      return { k: 'num', v: e.amount };
    case 'Duration':
      return { k: 'num', v: durationMinutes(e.amount, e.unit) };
    case 'StringExpr':
      return { k: 'str', v: e.value };
    case 'Bool':
      return { k: 'bool', v: e.value };
    case 'Paren':
      return lowerExpr(e.inner, ctx);
    case 'Ref': {
      const name = e.name.text;
      if (ctx.metrics.has(name)) return { k: 'metric', name };
      const measure = ctx.measures?.get(name);
      if (measure) return { k: 'fact', name: measure };
      if (FACTS[name]) return { k: 'fact', name };
      return { k: 'attr', path: [name] };
    }
    case 'Within':
      return {
        k: 'fact',
        name: ctx.measures?.get(e.fact.text) ?? e.fact.text,
        within: windowKey(durationMinutes(e.window.amount, e.window.unit)),
      };
    case 'Member':
      return { k: 'attr', path: attrPath(e, ctx.subject) };
    case 'Call':
      return { k: 'call', fn: e.callee.text, args: e.args.map((a) => lowerExpr(a, ctx)) };
    case 'Unary':
      return e.op === 'not'
        ? { k: 'not', a: lowerExpr(e.operand, ctx) }
        : { k: 'neg', a: lowerExpr(e.operand, ctx) };
    case 'Binary':
      return { k: 'bin', op: e.op, a: lowerExpr(e.left, ctx), b: lowerExpr(e.right, ctx) };
    case 'In':
      return {
        k: 'in',
        v: lowerExpr(e.value, ctx),
        list: e.list.map((a) => lowerExpr(a, ctx)),
        negated: e.negated,
      };
    case 'If':
      return {
        k: 'if',
        c: lowerExpr(e.cond, ctx),
        t: lowerExpr(e.then, ctx),
        e: lowerExpr(e.else, ctx),
      };
  }
}

/**
 * Attribute paths relative to the subject: for a person, `person.role` is ["role"] and
 * `team.sensitivity` is ["team", "sensitivity"]; for a team, `team.sensitivity` is
 * ["sensitivity"]. Free-form attributes are ["attributes", name].
 */
function attrPath(e: Expr, subject: SubjectKind): string[] {
  const path: string[] = [];
  let cur: Expr = e;
  while (cur.kind === 'Member') {
    path.unshift(cur.property.text);
    cur = cur.object;
  }
  const root = cur.kind === 'Ref' ? cur.name.text : '';
  if (root === 'attributes') return ['attributes', ...path];
  if (root === subject) return path;
  return [root, ...path];
}

function lowerAction(a: Action): IrAction {
  switch (a.kind) {
    case 'Notify':
      return {
        kind: 'notify',
        audiences: [...new Set(a.audiences.map((n) => n.text))].sort(),
        message: a.message?.value ?? null,
      };
    case 'RequireJustification':
      return { kind: 'require_justification' };
    case 'RequireApproval':
      return { kind: 'require_approval', approver: a.approver.text };
    case 'Block':
      return { kind: 'block' };
  }
}

const RATE_KEYS: Record<PriceKind, keyof TokenRates> = {
  input: 'input',
  output: 'output',
  cache_read: 'cacheRead',
  cache_write: 'cacheWrite',
  cache_write_1h: 'cacheWrite1h',
  audio_input: 'audioInput',
  audio_output: 'audioOutput',
};

/** A model's prices. Optional parts appear only when written, so older policies keep their hash. */
function lowerModel(m: ModelDecl): ModelPrice {
  const rates = (entries: PriceEntry[], base: TokenRates): TokenRates => {
    const out: TokenRates = { ...base };
    for (const p of entries) out[RATE_KEYS[p.priceKind]] = micros(p.amount.raw, p.amount.value);
    return out;
  };
  const base = rates(m.prices, { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
  const price: ModelPrice = { class: m.className.text, ...base };
  const patterns = [...new Set(m.matches.map((s) => s.value))].sort();
  if (patterns.length > 0) price.matches = patterns;
  const search = m.calls.find((c) => c.call === 'web_search');
  if (search) {
    price.webSearch = {
      micros: micros(search.amount.raw, search.amount.value),
      per: search.per.value,
    };
  }
  for (const t of m.multipliers) price[t.tier] = basisPoints(t.percent.raw, t.percent.value);
  if (m.longContext.length > 0) {
    price.longContext = m.longContext
      .map((t) => ({ above: t.threshold.value, ...rates(t.prices, base) }))
      .sort((a, b) => a.above - b.above);
  }
  return price;
}

function basisPoints(raw: string, value: number): number {
  try {
    return percentToBasisPoints(raw);
  } catch {
    return Math.round(value * 100);
  }
}

function micros(raw: string, value: number): number {
  try {
    return decimalToMicros(raw);
  } catch {
    return Math.round(value * 1_000_000);
  }
}

/** Record with keys in sorted order, so even non-canonical JSON of the IR is stable. */
function sortedRecord<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (!(k in out)) out[k] = v;
  }
  return out;
}

/** Dependency order: level by level (Kahn), dependencies first, ties broken by name. */
function topoOrder(metrics: Record<string, IrMetric>): string[] {
  const waiting = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const [name, m] of Object.entries(metrics)) {
    const deps = m.deps.filter((d) => d in metrics && d !== name);
    waiting.set(name, deps.length);
    for (const d of deps) {
      const list = users.get(d);
      if (list) list.push(name);
      else users.set(d, [name]);
    }
  }
  const order: string[] = [];
  let level = [...waiting].filter(([, n]) => n === 0).map(([name]) => name);
  while (level.length > 0) {
    level.sort();
    const next: string[] = [];
    for (const name of level) {
      order.push(name);
      for (const u of users.get(name) ?? []) {
        const left = waiting.get(u)! - 1;
        waiting.set(u, left);
        if (left === 0) next.push(u);
      }
    }
    level = next;
  }
  return order; // metrics on a cycle never become ready: the checker reported them
}

function budgetOf(b: BudgetDecl): IrBudget {
  const t = b.target;
  const budget: IrBudget = {
    key: budgetKey(b),
    scope: t.scope,
    subject:
      t.scope === 'org' || t.scope === 'project' ? null : t.scope === 'pool' ? 'team' : t.subject,
    id: t.scope === 'one' || t.scope === 'project' || t.scope === 'pool' ? t.id.value : null,
    environment: b.environment?.value ?? null,
    amountMicros: b.amount.kind === 'Money' ? Math.round(b.amount.amount * 1_000_000) : 0,
    period: b.period,
  };
  if (b.amount.kind === 'Number') budget.tokens = b.amount.value;
  if (t.scope === 'pool') budget.teams = [...new Set(t.teams.map((x) => x.value))].sort();
  return budget;
}

function measureOf(m: MeasureDecl): [string, IrMeasure] {
  const measure: IrMeasure = {
    label: m.label?.value ?? null,
    unit: (m.unit?.text ?? 'count') as MeasureUnit,
    aggregate: m.aggregate ?? 'sum',
  };
  if (m.aggregate === 'percentile') measure.percentile = m.percentile?.value ?? 50;
  return [m.name.text, measure];
}

/** Declared measure → the fact name expressions read it under. */
export function measureFacts(measures: readonly MeasureDecl[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of measures) {
    const [name, ir] = measureOf(m);
    if (!out.has(name)) out.set(name, measureFact(name, ir));
  }
  return out;
}

type LowerContext = {
  metricSet: ReadonlySet<string>;
  measures: ReadonlyMap<string, string>;
  metricUnits: Record<string, string>;
  person: Ctx;
};

/** The IR fields a kind's declarations lower to (tests lower to nothing: they are not meaning). */
type Lowerers = {
  [K in DeclarationKind]: (
    decls: DeclarationOf<K>[],
    ctx: LowerContext,
  ) => Partial<Omit<RuleSetIR, 'irVersion'>>;
};

function lowerDetect(d: DetectClause): IrDetector {
  const days = (x: DurationExpr) => Math.round(durationMinutes(x.amount, x.unit) / 1440);
  return {
    detector: d.detector.text as DetectorKind,
    ...(d.fact ? { fact: d.fact.text } : {}),
    window: windowKey(durationMinutes(d.window.amount, d.window.unit)),
    above: d.above.value,
    history: d.history ? days(d.history) : DEFAULT_HISTORY_DAYS,
    ...(d.detector.text === 'period_end_burst' ? { period: d.period ?? 'month' } : {}),
  };
}

/** One lowering per declaration kind (tsc refuses a kind without one). */
const LOWERERS: Lowerers = {
  PolicyHeader: ([header]) => ({
    meta: { name: header?.name.value ?? null, version: header?.version.value ?? null },
  }),
  Currency: ([currency]) => ({ currency: currency?.code.text ?? 'USD' }),
  Timezone: ([timezone]) => ({ timezone: timezone?.zone.value ?? 'UTC' }),
  Privacy: ([privacy]) => ({
    privacy: {
      minGroupSize: privacy?.minGroupSize?.value ?? 5,
      identities: privacy?.identities ?? 'masked',
    },
  }),
  Exceptions: ([exceptions]) => {
    const minutes = exceptions?.maxDuration
      ? durationMinutes(exceptions.maxDuration.amount, exceptions.maxDuration.unit)
      : null;
    return { exceptions: { maxDurationMs: minutes === null ? null : minutes * 60_000 } };
  },
  Class: (classes) => ({
    classes: sortedRecord(classes.map((c) => [c.name.text, { label: c.label?.value ?? null }])),
  }),
  Model: (models) => ({
    models: sortedRecord<ModelPrice>(models.map((m) => [m.model.value, lowerModel(m)])),
  }),
  Measure: (measureDecls) =>
    measureDecls.length === 0 ? {} : { measures: sortedRecord(measureDecls.map(measureOf)) },
  Metric: (metricDecls, { metricSet, metricUnits, person }) => {
    const metrics = sortedRecord<IrMetric>(
      metricDecls.map((m) => [
        m.name.text,
        {
          label: m.label?.value ?? null,
          unit: metricUnits[m.name.text] ?? '1',
          expr: lowerExpr(m.formula, person),
          deps: [...new Set(metricRefs(m.formula, metricSet).map((n) => n.text))].sort(),
        },
      ]),
    );
    return { metrics, metricOrder: topoOrder(metrics) };
  },
  Leaderboard: (boards, { metricSet, measures }) => ({
    leaderboards: sortedRecord<IrLeaderboard>(
      boards.map((l) => {
        const ctx: Ctx = { metrics: metricSet, subject: l.subject ?? 'person', measures };
        const opt = (e: Expr | null) => (e ? lowerExpr(e, ctx) : null);
        return [
          l.name.text,
          {
            label: l.label?.value ?? null,
            subject: l.subject ?? 'person',
            window: l.window ?? 'quarter',
            cohort: opt(l.cohort),
            eligible: opt(l.eligible),
            exclude: opt(l.exclude),
            score: l.score ? lowerExpr(l.score, ctx) : { k: 'num', v: 0 },
            top: l.top?.value ?? null,
          },
        ];
      }),
    ),
  }),
  Season: (seasons) =>
    seasons.length === 0
      ? {}
      : {
          seasons: sortedRecord<IrSeason>(
            seasons.map((s) => [
              s.name.text,
              {
                label: s.label?.value ?? null,
                from: s.from?.value ?? '',
                until: s.until?.value ?? '',
              },
            ]),
          ),
        },
  Badge: (badges, { metricSet, measures }) =>
    badges.length === 0
      ? {}
      : {
          badges: sortedRecord<IrBadge>(
            badges.map((b) => {
              const subject = b.subject ?? 'person';
              const ctx: Ctx = { metrics: metricSet, subject, measures };
              return [
                b.name.text,
                {
                  label: b.label?.value ?? null,
                  subject,
                  window: b.window ?? 'quarter',
                  when: b.when ? lowerExpr(b.when, ctx) : { k: 'bool', v: false },
                },
              ];
            }),
          ),
        },
  Tier: (tiers) => ({
    tiers: sortedRecord<IrTier>(
      tiers.map((t) => [
        t.name.text,
        {
          label: t.label?.value ?? null,
          limit: t.limit?.value ?? 0,
          period: t.period ?? 'month',
          models:
            t.models === null || t.models === 'any'
              ? 'any'
              : [...new Set(t.models.map((n) => n.text))].sort(),
        },
      ]),
    ),
  }),
  Assign: (assigns, { person }) => ({
    assignments: assigns.map((a) => ({
      tier: a.tier.text,
      when: a.when ? lowerExpr(a.when, person) : null,
    })),
  }),
  Budget: (budgets) => ({
    budgets: budgets.map(budgetOf).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  }),
  Escalation: (ladders) => ({
    escalations: sortedRecord<{ steps: IrStep[] }>(
      ladders.map((e) => [
        e.target.text,
        {
          steps: e.steps
            .map((s) => ({
              trigger: s.trigger,
              threshold: s.threshold.value,
              action: lowerAction(s.action),
            }))
            .sort((a, b) =>
              a.trigger === b.trigger ? a.threshold - b.threshold : a.trigger === 'at' ? -1 : 1,
            ),
        },
      ]),
    ),
  }),
  Rule: (rules, { person, metricSet, measures }) => ({
    rules: sortedRecord<IrRule>(
      rules.map((r) => [
        r.name.text,
        {
          label: r.label?.value ?? null,
          severity: r.severity ?? 'medium',
          when: r.when
            ? lowerExpr(
                r.when,
                r.subject === 'team' ? { metrics: metricSet, subject: 'team', measures } : person,
              )
            : { k: 'bool', v: true },
          action: lowerAction(r.then),
          ...(r.subject === 'team' ? { subject: 'team' as const } : {}),
          ...(r.detect ? { detect: lowerDetect(r.detect) } : {}),
        },
      ]),
    ),
  }),
  RequestLimit: (limits) =>
    limits.length === 0
      ? {}
      : {
          requestLimits: sortedRecord<IrRequestLimit>(
            limits.map((r) => {
              const step = (action: 'warn' | 'block') => {
                const s = r.steps.find((x) => x.action === action);
                return s ? { above: s.above.value, message: s.message?.value ?? null } : null;
              };
              return [r.target?.text ?? 'any', { warn: step('warn'), block: step('block') }];
            }),
          ),
        },
  Test: () => ({}),
};

function lowerKind<K extends DeclarationKind>(
  kind: K,
  d: DeclarationsByKind,
  ctx: LowerContext,
): Partial<RuleSetIR> {
  return (LOWERERS[kind] as Lowerers[K])(d[kind] as DeclarationOf<K>[], ctx);
}

export function lowerPolicy(ast: PolicyFile, metricUnits: Record<string, string>): RuleSetIR {
  const d = groupDeclarations(ast);
  const metricSet = new Set(d.Metric.map((m) => m.name.text));
  const measures = measureFacts(d.Measure);
  const ctx: LowerContext = {
    metricSet,
    measures,
    metricUnits,
    person: { metrics: metricSet, subject: 'person', measures },
  };
  const ir: Partial<RuleSetIR> = { irVersion: IR_VERSION };
  for (const kind of DECLARATION_KINDS) Object.assign(ir, lowerKind(kind, d, ctx));
  // every IR field must come from some kind's lowering
  return assertIr(ir);
}
