// Semantic diff of two policies. What counts as a change is decided on the IR (so layout,
// comments, parentheses, number spelling and the order of independent declarations never
// show up); what a change looks like is printed from the AST in canonical syntax, so a
// reviewer reads the policy language, not JSON.
import type {
  AssignDecl,
  BadgeDecl,
  BudgetDecl,
  ClassDecl,
  Declaration,
  EscalationDecl,
  EscalationStep,
  Expr,
  LeaderboardDecl,
  MeasureDecl,
  MetricDecl,
  ModelDecl,
  PolicyFile,
  RequestLimitDecl,
  RuleDecl,
  SeasonDecl,
  TierDecl,
} from '../ast.ts';
import { budgetKey } from '../check/index.ts';
import { DECLARATION_KINDS, type DeclarationKind } from '../constructs.ts';
import { budgetAmount, detectText, formatExpr, formatPolicy } from '../format.ts';
import {
  canonicalJson,
  type IrBudget,
  type IrExpr,
  type IrMeasure,
  type IrRequestStep,
  measureFact,
  policyHash,
  type RuleSetIR,
  type SubjectKind,
  walkIr,
} from '../ir.ts';
import type { TokenRates } from '../price.ts';
import { diffExpr, type ExprScope, type SubExprChange } from './expr.ts';

/** Constructs in the order a review document lists them. */
export const CONSTRUCTS = [
  'header',
  'currency',
  'timezone',
  'privacy',
  'exceptions',
  'classes',
  'prices',
  'measures',
  'metrics',
  'leaderboards',
  'badges',
  'seasons',
  'tiers',
  'assignments',
  'budgets',
  'escalations',
  'rules',
  'request_limits',
] as const;
export type Construct = (typeof CONSTRUCTS)[number];

export type FieldChange = {
  field: string;
  before: string | null;
  after: string | null;
  /** for formulas: the smallest sub-expressions that differ */
  subexpressions?: SubExprChange[];
};

export type Change = {
  construct: Construct;
  kind: 'added' | 'removed' | 'changed' | 'moved';
  /** what changed, e.g. `model "gpt-4o"`, `metric acceptance`, `escalation budget forecast 100%` */
  subject: string;
  /** the declaration (or step, or assignment) before and after, in canonical syntax */
  before: string | null;
  after: string | null;
  fields: FieldChange[];
  /** a metric change reaches these through the formulas that use it */
  affects?: string[];
  /** false for the header: its name and version label are not part of the meaning hash */
  semantic: boolean;
};

export type PolicySide = { name: string | null; version: string | null; hash: string };

export type PolicyDiff = {
  from: PolicySide;
  to: PolicySide;
  /** true when both sides mean the same thing (equal meaning hashes) */
  equivalent: boolean;
  changes: Change[];
  /** semantic changes per construct */
  counts: Partial<Record<Construct, number>>;
  /** when assignments changed: the whole ordered list on each side (order is meaning) */
  assignmentOrder?: { before: string[]; after: string[] };
};

export type DiffInput = { ast: PolicyFile; ir: RuleSetIR };

// ---------- helpers ----------

function decls<K extends Declaration['kind']>(
  ast: PolicyFile,
  kind: K,
): Extract<Declaration, { kind: K }>[] {
  return ast.declarations.filter((d): d is Extract<Declaration, { kind: K }> => d.kind === kind);
}

function byName<T>(items: T[], key: (t: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return map;
}

/** One declaration in canonical syntax, without comments. */
export function declarationText(decl: Declaration): string {
  return formatPolicy({
    kind: 'PolicyFile',
    range: decl.range,
    declarations: [decl],
    comments: [],
  }).trimEnd();
}

/** One escalation step in canonical syntax, e.g. `at 70% notify person "…"`. */
function stepText(ladder: EscalationDecl, step: EscalationStep): string {
  const text = declarationText({ ...ladder, steps: [step] });
  return (text.split('\n')[1] ?? text).trim().replace(/\s+/, ' ');
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

function sortedKeys(...records: Record<string, unknown>[]): string[] {
  return [...new Set(records.flatMap((r) => Object.keys(r)))].sort();
}

/** Micro-units per 1M tokens → "15.00" (at least two decimals, no float drift). */
export function microsText(micros: number): string {
  const whole = Math.trunc(micros / 1_000_000);
  const frac = String(micros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${whole}.${frac.padEnd(2, '0')}`;
}

const optExpr = (e: Expr | null | undefined) => (e ? formatExpr(e) : null);
const orNone = (s: string | null | undefined) => s ?? null;

class Differ {
  readonly changes: Change[] = [];
  readonly a: DiffInput;
  readonly b: DiffInput;
  readonly metricsA: ReadonlySet<string>;
  readonly metricsB: ReadonlySet<string>;
  readonly measuresA: ReadonlyMap<string, string>;
  readonly measuresB: ReadonlyMap<string, string>;

  constructor(a: DiffInput, b: DiffInput) {
    this.a = a;
    this.b = b;
    this.metricsA = new Set(Object.keys(a.ir.metrics));
    this.metricsB = new Set(Object.keys(b.ir.metrics));
    this.measuresA = measureFactsOf(a.ir);
    this.measuresB = measureFactsOf(b.ir);
  }

  scopes(subject: SubjectKind): [ExprScope, ExprScope] {
    return [
      { metrics: this.metricsA, subject, measures: this.measuresA },
      { metrics: this.metricsB, subject, measures: this.measuresB },
    ];
  }

  push(change: Omit<Change, 'semantic'> & { semantic?: boolean }): void {
    this.changes.push({ semantic: true, ...change });
  }

  /** A formula field: before/after text plus the differing sub-expressions. */
  exprField(
    field: string,
    x: Expr | null | undefined,
    y: Expr | null | undefined,
    subject: SubjectKind,
  ): FieldChange {
    const change: FieldChange = { field, before: optExpr(x), after: optExpr(y) };
    if (x && y) {
      const [sa, sb] = this.scopes(subject);
      const subs = diffExpr(x, y, sa, sb);
      // the whole formula is already shown: list sub-expressions only when they are smaller
      if (!(subs.length === 1 && subs[0].before === change.before)) change.subexpressions = subs;
    }
    return change;
  }

  /** Keyed declarations: added, removed, or changed field by field. */
  keyed<D extends Declaration, I>(
    construct: Construct,
    label: (key: string) => string,
    irA: Record<string, I>,
    irB: Record<string, I>,
    astA: Map<string, D>,
    astB: Map<string, D>,
    fields: (key: string, x: I, y: I, dx: D | undefined, dy: D | undefined) => FieldChange[],
  ): void {
    for (const key of sortedKeys(irA, irB)) {
      const x = irA[key];
      const y = irB[key];
      const dx = astA.get(key);
      const dy = astB.get(key);
      const before = dx ? declarationText(dx) : null;
      const after = dy ? declarationText(dy) : null;
      if (x === undefined) {
        this.push({ construct, kind: 'added', subject: label(key), before, after, fields: [] });
      } else if (y === undefined) {
        this.push({ construct, kind: 'removed', subject: label(key), before, after, fields: [] });
      } else if (!same(x, y)) {
        this.push({
          construct,
          kind: 'changed',
          subject: label(key),
          before,
          after,
          fields: fields(key, x, y, dx, dy),
        });
      }
    }
  }
}

function field(
  name: string,
  before: unknown,
  after: unknown,
  show: (v: unknown) => string = String,
): FieldChange[] {
  if (same(before, after)) return [];
  return [
    {
      field: name,
      before: before === null || before === undefined ? null : show(before),
      after: after === null || after === undefined ? null : show(after),
    },
  ];
}

// ---------- per construct ----------

function diffHeader(d: Differ): void {
  const ma = d.a.ir.meta;
  const mb = d.b.ir.meta;
  if (same(ma, mb)) return;
  const header = (ir: RuleSetIR) =>
    `policy "${ir.meta.name ?? ''}" version "${ir.meta.version ?? ''}"`;
  d.push({
    construct: 'header',
    kind: 'changed',
    subject: 'policy header',
    before: header(d.a.ir),
    after: header(d.b.ir),
    fields: [...field('name', ma.name, mb.name), ...field('version', ma.version, mb.version)],
    semantic: false,
  });
}

function diffCurrency(d: Differ): void {
  const { a, b } = d;
  if (a.ir.currency === b.ir.currency) return;
  d.push({
    construct: 'currency',
    kind: 'changed',
    subject: 'currency',
    before: `currency ${a.ir.currency}`,
    after: `currency ${b.ir.currency}`,
    fields: field('currency', a.ir.currency, b.ir.currency),
  });
}

function diffTimezone(d: Differ): void {
  const { a, b } = d;
  if (a.ir.timezone === b.ir.timezone) return;
  d.push({
    construct: 'timezone',
    kind: 'changed',
    subject: 'timezone',
    before: `timezone "${a.ir.timezone}"`,
    after: `timezone "${b.ir.timezone}"`,
    fields: field('timezone', a.ir.timezone, b.ir.timezone),
  });
}

function diffPrivacy(d: Differ): void {
  const { a, b } = d;
  if (same(a.ir.privacy, b.ir.privacy)) return;
  const text = (p: RuleSetIR['privacy']) =>
    `privacy { min_group_size ${p.minGroupSize}  identities ${p.identities} }`;
  d.push({
    construct: 'privacy',
    kind: 'changed',
    subject: 'privacy',
    before: text(a.ir.privacy),
    after: text(b.ir.privacy),
    fields: [
      ...field('min_group_size', a.ir.privacy.minGroupSize, b.ir.privacy.minGroupSize),
      ...field('identities', a.ir.privacy.identities, b.ir.privacy.identities),
    ],
  });
}

function diffExceptions(d: Differ): void {
  const { a, b } = d;
  if (same(a.ir.exceptions, b.ir.exceptions)) return;
  const text = (ast: PolicyFile) => {
    const e = decls(ast, 'Exceptions')[0];
    return e ? declarationText(e) : null;
  };
  const days = (ms: number | null) => (ms === null ? null : `${ms / 86_400_000}d`);
  d.push({
    construct: 'exceptions',
    kind: 'changed',
    subject: 'exceptions',
    before: text(a.ast),
    after: text(b.ast),
    fields: field(
      'max_duration',
      days(a.ir.exceptions.maxDurationMs),
      days(b.ir.exceptions.maxDurationMs),
    ),
  });
}

function diffClasses(d: Differ): void {
  const key = (c: ClassDecl) => c.name.text;
  d.keyed(
    'classes',
    (k) => `class ${k}`,
    d.a.ir.classes,
    d.b.ir.classes,
    byName(decls(d.a.ast, 'Class'), key),
    byName(decls(d.b.ast, 'Class'), key),
    (_k, x, y) => field('label', x.label, y.label, (v) => JSON.stringify(v)),
  );
}

function diffModels(d: Differ): void {
  const key = (m: ModelDecl) => m.model.value;
  d.keyed(
    'prices',
    (k) => `model "${k}"`,
    d.a.ir.models,
    d.b.ir.models,
    byName(decls(d.a.ast, 'Model'), key),
    byName(decls(d.b.ast, 'Model'), key),
    (_k, x, y) => [
      ...field('class', x.class, y.class),
      ...field('input', x.input, y.input, (v) => microsText(v as number)),
      ...field('output', x.output, y.output, (v) => microsText(v as number)),
      ...field('cache_read', x.cacheRead, y.cacheRead, (v) => microsText(v as number)),
      ...field('cache_write', x.cacheWrite, y.cacheWrite, (v) => microsText(v as number)),
      ...field('cache_write_1h', x.cacheWrite1h, y.cacheWrite1h, (v) => microsText(v as number)),
      ...field('audio_input', x.audioInput, y.audioInput, (v) => microsText(v as number)),
      ...field('audio_output', x.audioOutput, y.audioOutput, (v) => microsText(v as number)),
      ...field('matches', x.matches, y.matches, (v) =>
        (v as string[]).map((p) => JSON.stringify(p)).join(', '),
      ),
      ...field('web_search', x.webSearch, y.webSearch, (v) => {
        const w = v as { micros: number; per: number };
        return `${microsText(w.micros)} per ${w.per}`;
      }),
      ...field('batch', x.batch, y.batch, (v) => `${(v as number) / 100}%`),
      ...field('priority', x.priority, y.priority, (v) => `${(v as number) / 100}%`),
      ...field('long_context', x.longContext, y.longContext, (v) =>
        (v as ({ above: number } & TokenRates)[])
          .map(
            (t) =>
              `above ${t.above} input { input ${microsText(t.input)} output ${microsText(t.output)} cache_read ${microsText(t.cacheRead)} cache_write ${microsText(t.cacheWrite)}${t.cacheWrite1h === undefined ? '' : ` cache_write_1h ${microsText(t.cacheWrite1h)}`} }`,
          )
          .join('; '),
      ),
    ],
  );
}

/** Who uses each metric, directly or through other metrics: "leaderboard x", "rule y". */
function metricUsers(ir: RuleSetIR): Map<string, Set<string>> {
  const direct = new Map<string, Set<string>>();
  const note = (e: IrExpr | null, user: string) => {
    if (!e) return;
    for (const n of walkIr(e)) {
      if (n.k !== 'metric') continue;
      const users = direct.get(n.name) ?? new Set<string>();
      direct.set(n.name, users);
      users.add(user);
    }
  };
  for (const [name, m] of Object.entries(ir.metrics)) note(m.expr, `metric ${name}`);
  for (const [name, l] of Object.entries(ir.leaderboards)) {
    for (const e of [l.score, l.eligible, l.exclude, l.cohort]) note(e, `leaderboard ${name}`);
  }
  for (const [name, r] of Object.entries(ir.rules)) note(r.when, `rule ${name}`);
  ir.assignments.forEach((a, i) => {
    note(a.when, `assignment ${i + 1} (${a.tier})`);
  });
  // transitive closure through metrics
  const all = new Map<string, Set<string>>();
  const visit = (metric: string, out: Set<string>, seen: Set<string>) => {
    for (const user of direct.get(metric) ?? []) {
      if (out.has(user)) continue;
      out.add(user);
      const m = /^metric (.+)$/.exec(user);
      if (m && !seen.has(m[1])) {
        seen.add(m[1]);
        visit(m[1], out, seen);
      }
    }
  };
  for (const name of Object.keys(ir.metrics)) {
    const out = new Set<string>();
    visit(name, out, new Set([name]));
    all.set(name, out);
  }
  return all;
}

function diffMetrics(d: Differ): void {
  const key = (m: MetricDecl) => m.name.text;
  const users = metricUsers(d.b.ir);
  const usersA = metricUsers(d.a.ir);
  const before = d.changes.length;
  d.keyed(
    'metrics',
    (k) => `metric ${k}`,
    d.a.ir.metrics,
    d.b.ir.metrics,
    byName(decls(d.a.ast, 'Metric'), key),
    byName(decls(d.b.ast, 'Metric'), key),
    (_k, x, y, dx, dy) => [
      ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
      ...(same(x.expr, y.expr) ? [] : [d.exprField('formula', dx?.formula, dy?.formula, 'person')]),
      ...field('unit', x.unit, y.unit),
    ],
  );
  for (const change of d.changes.slice(before)) {
    const name = change.subject.replace(/^metric /, '');
    const reach = change.kind === 'removed' ? usersA.get(name) : users.get(name);
    if (reach && reach.size > 0) change.affects = [...reach].sort();
  }
}

function diffMeasures(d: Differ): void {
  const key = (m: MeasureDecl) => m.name.text;
  const aggregateText = (m: IrMeasure) =>
    m.aggregate === 'percentile' ? `percentile ${m.percentile}` : m.aggregate;
  d.keyed(
    'measures',
    (k) => `measure ${k}`,
    d.a.ir.measures ?? {},
    d.b.ir.measures ?? {},
    byName(decls(d.a.ast, 'Measure'), key),
    byName(decls(d.b.ast, 'Measure'), key),
    (_k, x, y) => [
      ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
      ...field('unit', x.unit, y.unit),
      ...field('aggregate', aggregateText(x), aggregateText(y)),
    ],
  );
}

/** Declared measure → the fact name expressions read it under, as the lowering names it. */
function measureFactsOf(ir: RuleSetIR): Map<string, string> {
  return new Map(
    Object.entries(ir.measures ?? {}).map(([name, m]) => [name, measureFact(name, m)]),
  );
}

function diffLeaderboards(d: Differ): void {
  const key = (l: LeaderboardDecl) => l.name.text;
  d.keyed(
    'leaderboards',
    (k) => `leaderboard ${k}`,
    d.a.ir.leaderboards,
    d.b.ir.leaderboards,
    byName(decls(d.a.ast, 'Leaderboard'), key),
    byName(decls(d.b.ast, 'Leaderboard'), key),
    (_k, x, y, dx, dy) => {
      const out: FieldChange[] = [
        ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
        ...field('subject', x.subject, y.subject),
        ...field('window', x.window, y.window),
      ];
      const subject = y.subject;
      for (const f of ['cohort', 'eligible', 'exclude', 'score'] as const) {
        if (!same(x[f], y[f])) out.push(d.exprField(f, dx?.[f], dy?.[f], subject));
      }
      out.push(...field('top', x.top, y.top));
      return out;
    },
  );
}

function diffBadges(d: Differ): void {
  const key = (b: BadgeDecl) => b.name.text;
  d.keyed(
    'badges',
    (k) => `badge ${k}`,
    d.a.ir.badges ?? {},
    d.b.ir.badges ?? {},
    byName(decls(d.a.ast, 'Badge'), key),
    byName(decls(d.b.ast, 'Badge'), key),
    (_k, x, y, dx, dy) => [
      ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
      ...field('subject', x.subject, y.subject),
      ...field('window', x.window, y.window),
      ...(same(x.when, y.when) ? [] : [d.exprField('when', dx?.when, dy?.when, y.subject)]),
    ],
  );
}

function diffSeasons(d: Differ): void {
  const key = (s: SeasonDecl) => s.name.text;
  d.keyed(
    'seasons',
    (k) => `season ${k}`,
    d.a.ir.seasons ?? {},
    d.b.ir.seasons ?? {},
    byName(decls(d.a.ast, 'Season'), key),
    byName(decls(d.b.ast, 'Season'), key),
    (_k, x, y) => [
      ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
      ...field('from', x.from, y.from),
      ...field('until', x.until, y.until),
    ],
  );
}

function diffTiers(d: Differ): void {
  const key = (t: TierDecl) => t.name.text;
  const limitText = (t: TierDecl | undefined, limit: number, period: string) =>
    `${t?.limit?.raw ?? limit} tokens per ${period}`;
  d.keyed(
    'tiers',
    (k) => `tier ${k}`,
    d.a.ir.tiers,
    d.b.ir.tiers,
    byName(decls(d.a.ast, 'Tier'), key),
    byName(decls(d.b.ast, 'Tier'), key),
    (_k, x, y, dx, dy) => [
      ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
      ...(x.limit === y.limit && x.period === y.period
        ? []
        : [
            {
              field: 'limit',
              before: limitText(dx, x.limit, x.period),
              after: limitText(dy, y.limit, y.period),
            },
          ]),
      ...field('models', x.models, y.models, (m) => (Array.isArray(m) ? m.join(', ') : String(m))),
    ],
  );
}

/** Longest common subsequence of two lists of keys: index pairs that stay in order. */
function lcs(a: string[], b: string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const len: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i][j] = a[i] === b[j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      pairs.push([i, j]);
      i++;
      j++;
    } else if (len[i + 1][j] >= len[i][j + 1]) i++;
    else j++;
  }
  return pairs;
}

/**
 * Assignments are ordered (first match wins), so position is meaning. Unchanged rules in
 * the same relative order match up; a rule whose condition is unchanged but whose place
 * moved is `moved`; a rule for the same tier with a new condition is `changed`.
 */
function diffAssignments(d: Differ): void {
  const ia = d.a.ir.assignments;
  const ib = d.b.ir.assignments;
  if (same(ia, ib)) return;
  const da = decls(d.a.ast, 'Assign');
  const db = decls(d.b.ast, 'Assign');
  const keysA = ia.map((x) => canonicalJson(x));
  const keysB = ib.map((x) => canonicalJson(x));
  const kept = lcs(keysA, keysB);
  const keptA = new Set(kept.map(([i]) => i));
  const keptB = new Set(kept.map(([, j]) => j));
  const goneA = ia.map((_, i) => i).filter((i) => !keptA.has(i));
  const newB = ib.map((_, j) => j).filter((j) => !keptB.has(j));
  const text = (decl: AssignDecl | undefined) => (decl ? declarationText(decl) : null);
  const at = (i: number) => `position ${i + 1}`;
  const changes: { order: number; change: Omit<Change, 'semantic'> }[] = [];

  // same rule, new place
  for (const i of [...goneA]) {
    const j = newB.find((jj) => keysB[jj] === keysA[i]);
    if (j === undefined) continue;
    goneA.splice(goneA.indexOf(i), 1);
    newB.splice(newB.indexOf(j), 1);
    changes.push({
      order: j,
      change: {
        construct: 'assignments',
        kind: 'moved',
        subject: `assign ${ib[j].tier}`,
        before: text(da[i]),
        after: text(db[j]),
        fields: [{ field: 'position', before: String(i + 1), after: String(j + 1) }],
      },
    });
  }
  // same tier, new condition
  for (const i of [...goneA]) {
    const j = newB.find((jj) => ib[jj].tier === ia[i].tier);
    if (j === undefined) continue;
    goneA.splice(goneA.indexOf(i), 1);
    newB.splice(newB.indexOf(j), 1);
    const fields: FieldChange[] = [];
    if (i !== j) fields.push({ field: 'position', before: String(i + 1), after: String(j + 1) });
    fields.push(d.exprField('when', da[i]?.when, db[j]?.when, 'person'));
    if (!da[i]?.when || !db[j]?.when) {
      const last = fields[fields.length - 1];
      last.before ??= 'otherwise';
      last.after ??= 'otherwise';
    }
    changes.push({
      order: j,
      change: {
        construct: 'assignments',
        kind: 'changed',
        subject: `assign ${ib[j].tier} (${at(j)})`,
        before: text(da[i]),
        after: text(db[j]),
        fields,
      },
    });
  }
  for (const i of goneA) {
    changes.push({
      order: i - 0.5,
      change: {
        construct: 'assignments',
        kind: 'removed',
        subject: `assign ${ia[i].tier} (was ${at(i)})`,
        before: text(da[i]),
        after: null,
        fields: [],
      },
    });
  }
  for (const j of newB) {
    changes.push({
      order: j,
      change: {
        construct: 'assignments',
        kind: 'added',
        subject: `assign ${ib[j].tier} (${at(j)})`,
        before: null,
        after: text(db[j]),
        fields: [],
      },
    });
  }
  changes.sort((x, y) => x.order - y.order);
  for (const c of changes) d.push(c.change);
}

/** `budget team "platform" environment "sandbox"`, `budget project "launch" (tokens)` */
function budgetLabel(b: IrBudget): string {
  const target =
    b.scope === 'org'
      ? 'org'
      : b.scope === 'project'
        ? `project "${b.id}"`
        : b.scope === 'pool'
          ? `pool "${b.id}"`
          : b.scope === 'each'
            ? `each ${b.subject}`
            : `${b.subject} "${b.id}"`;
  const unit = b.tokens === undefined ? '' : ' (tokens)';
  return `budget ${target}${b.environment ? ` environment "${b.environment}"` : ''}${unit}`;
}

function diffBudgets(d: Differ): void {
  const rec = (ir: RuleSetIR) => Object.fromEntries(ir.budgets.map((b) => [b.key, b]));
  const irA = rec(d.a.ir);
  const irB = rec(d.b.ir);
  const key = (b: BudgetDecl) => budgetKey(b);
  const amount = (b: BudgetDecl | undefined, ir: IrBudget, currency: string) =>
    b
      ? `${budgetAmount(b)} per ${b.period}`
      : ir.tokens !== undefined
        ? `${ir.tokens} tokens per ${ir.period}`
        : `${ir.amountMicros / 1e6} ${currency} per ${ir.period}`;
  d.keyed(
    'budgets',
    (k) => budgetLabel(irB[k] ?? irA[k]),
    irA,
    irB,
    byName(decls(d.a.ast, 'Budget'), key),
    byName(decls(d.b.ast, 'Budget'), key),
    (_k, x, y, dx, dy) => {
      const changes =
        x.amountMicros === y.amountMicros && x.tokens === y.tokens && x.period === y.period
          ? []
          : [
              {
                field: 'amount',
                before: amount(dx, x, d.a.ir.currency),
                after: amount(dy, y, d.b.ir.currency),
              },
            ];
      // a pool that gains or loses a team draws from other usage
      const teams = (b: IrBudget) => (b.teams ?? []).map((t) => `"${t}"`).join(', ');
      if (teams(x) !== teams(y))
        changes.push({ field: 'teams', before: teams(x), after: teams(y) });
      return changes;
    },
  );
}

/** Escalation steps are compared one by one, keyed by ladder, trigger and threshold. */
function diffEscalations(d: Differ): void {
  const ladders = (ast: PolicyFile) => byName(decls(ast, 'Escalation'), (e) => e.target.text);
  const la = ladders(d.a.ast);
  const lb = ladders(d.b.ast);
  const stepKey = (s: { trigger: string; threshold: number }) => `${s.trigger} ${s.threshold}%`;
  for (const ladder of sortedKeys(d.a.ir.escalations, d.b.ir.escalations)) {
    const sa = d.a.ir.escalations[ladder]?.steps ?? [];
    const sb = d.b.ir.escalations[ladder]?.steps ?? [];
    const astStep = (decl: EscalationDecl | undefined, key: string) => {
      const step = decl?.steps.find((s) => stepKey({ ...s, threshold: s.threshold.value }) === key);
      return decl && step ? stepText(decl, step) : null;
    };
    const keys = [...new Set([...sa.map(stepKey), ...sb.map(stepKey)])];
    // ladder order: `at` steps by threshold, then `forecast` steps
    const order = (k: string) =>
      (k.startsWith('at') ? 0 : 1e6) + Number.parseFloat(k.split(' ')[1]);
    keys.sort((x, y) => order(x) - order(y));
    for (const key of keys) {
      const x = sa.find((s) => stepKey(s) === key);
      const y = sb.find((s) => stepKey(s) === key);
      const subject = `escalation ${ladder} ${key}`;
      const before = astStep(la.get(ladder), key);
      const after = astStep(lb.get(ladder), key);
      if (!x)
        d.push({ construct: 'escalations', kind: 'added', subject, before, after, fields: [] });
      else if (!y) {
        d.push({ construct: 'escalations', kind: 'removed', subject, before, after, fields: [] });
      } else if (!same(x, y)) {
        d.push({
          construct: 'escalations',
          kind: 'changed',
          subject,
          before,
          after,
          fields: [{ field: 'action', before, after }],
        });
      }
    }
  }
}

function diffRules(d: Differ): void {
  const key = (r: RuleDecl) => r.name.text;
  const actionText = (r: RuleDecl | undefined) => {
    if (!r) return null;
    const lines = declarationText(r).split('\n');
    return lines.find((l) => l.trim().startsWith('then'))?.trim() ?? null;
  };
  d.keyed(
    'rules',
    (k) => `rule ${k}`,
    d.a.ir.rules,
    d.b.ir.rules,
    byName(decls(d.a.ast, 'Rule'), key),
    byName(decls(d.b.ast, 'Rule'), key),
    (_k, x, y, dx, dy) => [
      ...field('label', x.label, y.label, (v) => JSON.stringify(v)),
      ...field('severity', x.severity, y.severity),
      ...field('subject', x.subject ?? 'person', y.subject ?? 'person'),
      ...(same(x.detect, y.detect)
        ? []
        : [
            {
              field: 'detect',
              before: orNone(dx?.detect ? detectText(dx.detect) : null),
              after: orNone(dy?.detect ? detectText(dy.detect) : null),
            },
          ]),
      ...(same(x.when, y.when)
        ? []
        : [d.exprField('when', dx?.when, dy?.when, y.subject ?? x.subject ?? 'person')]),
      ...(same(x.action, y.action)
        ? []
        : [{ field: 'then', before: orNone(actionText(dx)), after: orNone(actionText(dy)) }]),
    ],
  );
}

function diffRequestLimits(d: Differ): void {
  const key = (r: RequestLimitDecl) => r.target?.text ?? 'any';
  const step = (v: unknown) => {
    const s = v as IrRequestStep;
    return `above ${s.above} input${s.message === null ? '' : ` ${JSON.stringify(s.message)}`}`;
  };
  d.keyed(
    'request_limits',
    (k) => `request ${k}`,
    d.a.ir.requestLimits ?? {},
    d.b.ir.requestLimits ?? {},
    byName(decls(d.a.ast, 'RequestLimit'), key),
    byName(decls(d.b.ast, 'RequestLimit'), key),
    (_k, x, y) => [
      ...field('warn', x.warn, y.warn, step),
      ...field('block', x.block, y.block, step),
    ],
  );
}

/**
 * How each kind's changes are found: the construct they are listed under and its differ,
 * or why the kind has none (tsc refuses a kind without an entry). Kinds run in registry order.
 */
const DIFFERS: {
  [K in DeclarationKind]:
    | { construct: Construct; diff: (d: Differ) => void }
    | { construct: null; why: string };
} = {
  PolicyHeader: { construct: 'header', diff: diffHeader },
  Currency: { construct: 'currency', diff: diffCurrency },
  Timezone: { construct: 'timezone', diff: diffTimezone },
  Privacy: { construct: 'privacy', diff: diffPrivacy },
  Exceptions: { construct: 'exceptions', diff: diffExceptions },
  Class: { construct: 'classes', diff: diffClasses },
  Model: { construct: 'prices', diff: diffModels },
  Measure: { construct: 'measures', diff: diffMeasures },
  Metric: { construct: 'metrics', diff: diffMetrics },
  Leaderboard: { construct: 'leaderboards', diff: diffLeaderboards },
  Badge: { construct: 'badges', diff: diffBadges },
  Season: { construct: 'seasons', diff: diffSeasons },
  Tier: { construct: 'tiers', diff: diffTiers },
  Assign: { construct: 'assignments', diff: diffAssignments },
  Budget: { construct: 'budgets', diff: diffBudgets },
  Escalation: { construct: 'escalations', diff: diffEscalations },
  Rule: { construct: 'rules', diff: diffRules },
  RequestLimit: { construct: 'request_limits', diff: diffRequestLimits },
  Test: { construct: null, why: 'tests check the meaning; they are not part of it (no IR)' },
};

/** The semantic diff of two checked policies (both must compile without errors). */
export function diffPolicies(from: DiffInput, to: DiffInput): PolicyDiff {
  const d = new Differ(from, to);
  for (const kind of DECLARATION_KINDS) {
    const entry = DIFFERS[kind];
    if (entry.construct !== null) entry.diff(d);
  }
  const counts: Partial<Record<Construct, number>> = {};
  for (const c of d.changes) if (c.semantic) counts[c.construct] = (counts[c.construct] ?? 0) + 1;
  const side = (ir: RuleSetIR): PolicySide => ({
    name: ir.meta.name,
    version: ir.meta.version,
    hash: policyHash(ir),
  });
  const a = side(from.ir);
  const b = side(to.ir);
  const result: PolicyDiff = {
    from: a,
    to: b,
    equivalent: a.hash === b.hash,
    changes: d.changes,
    counts,
  };
  if (counts.assignments) {
    const list = (ast: PolicyFile) => decls(ast, 'Assign').map((x) => declarationText(x));
    result.assignmentOrder = { before: list(from.ast), after: list(to.ast) };
  }
  return result;
}

/** Number of changes in meaning (the header's labels are not meaning). */
export function semanticChangeCount(diff: PolicyDiff): number {
  return diff.changes.filter((c) => c.semantic).length;
}
