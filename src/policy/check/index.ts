// The checker: everything the parser cannot see. Names resolve (with did-you-mean),
// units agree, metrics form no cycle, ladders rise, assignments are reachable, and
// divisions that can meet zero are flagged. Codes are stable; the README ("Policy meaning") lists them:
// Q3xxx names, Q4xxx units and types, Q5xxx structure, Q6xxx runtime hazards.
import type {
  Action,
  AssignDecl,
  BudgetDecl,
  ClassDecl,
  Declaration,
  EscalationDecl,
  Expr,
  LeaderboardDecl,
  MetricDecl,
  ModelDecl,
  Name,
  NumberExpr,
  PolicyFile,
  PriceEntry,
  Range,
  RuleDecl,
  TestDecl,
  TierDecl,
} from '../ast.ts';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.ts';
import { codes, sortDiagnostics } from '../diagnostics.ts';
import { decimalToMicros, globMatches, percentToBasisPoints } from '../price.ts';
import { suggest } from '../suggest.ts';
import { isValidTimeZone } from '../windows.ts';
import { ERR_T, type ExprScope, exprText, inferExpr, type Typed } from './expressions.ts';
import { unitText } from './units.ts';
import {
  APPROVERS,
  AUDIENCES,
  FACTS,
  LADDERS,
  PERSON_ATTRIBUTES,
  TEAM_ATTRIBUTES,
} from './vocabulary.ts';

export type CheckResult = {
  diagnostics: Diagnostic[];
  /** unit text of every metric that type-checked, e.g. { acceptance: "1" } */
  metricUnits: Record<string, string>;
};

type Decls = {
  [K in Declaration['kind']]: Extract<Declaration, { kind: K }>[];
};

function group(ast: PolicyFile): Decls {
  const out = {} as Record<string, Declaration[]>;
  for (const d of ast.declarations) {
    if (!out[d.kind]) out[d.kind] = [];
    out[d.kind].push(d);
  }
  return new Proxy(out, { get: (t, k: string) => t[k] ?? [] }) as unknown as Decls;
}

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
      return [decl.when];
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

export function checkPolicy(ast: PolicyFile): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic) => diagnostics.push(d);
  const d = group(ast);

  // absurdly long operator chains would overflow the recursive passes below
  for (const decl of ast.declarations) {
    for (const e of expressionsOf(decl)) {
      const depth = exprDepth(e);
      if (depth > MAX_EXPRESSION_DEPTH) {
        report(
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
  if (diagnostics.length > 0) return { diagnostics: sortDiagnostics(diagnostics), metricUnits: {} };

  // ---- singletons ----
  for (const kind of ['PolicyHeader', 'Currency', 'Timezone', 'Privacy', 'Exceptions'] as const) {
    const list = d[kind] as Declaration[];
    for (const extra of list.slice(1)) {
      report(
        err(
          codes.headerProblem,
          `\`${keyword(kind)}\` is declared more than once`,
          extra.range,
          'keep one',
        ),
      );
    }
  }
  if (d.PolicyHeader.length === 0 && ast.declarations.length > 0) {
    report(
      warn(
        codes.headerProblem,
        'the policy has no `policy "<name>" version "<v>"` header',
        ast.declarations[0].range,
      ),
    );
  }
  const currencyDecl = d.Currency[0];
  const currency = currencyDecl?.code.text ?? 'USD';
  if (currencyDecl && !/^[A-Z]{3}$/.test(currency)) {
    report(
      err(
        codes.badCurrency,
        `\`${currency}\` is not an ISO 4217 currency code`,
        currencyDecl.code.range,
        'e.g. USD, EUR, GBP',
      ),
    );
  }
  const tz = d.Timezone[0];
  if (tz && !isValidTimeZone(tz.zone.value)) {
    const guess = suggest(tz.zone.value, Intl.supportedValuesOf('timeZone'));
    report(
      err(
        codes.unknownTimezone,
        `unknown timezone "${tz.zone.value}"${guess ? `; did you mean "${guess}"?` : ''}`,
        tz.zone.range,
        'an IANA zone name such as "Europe/London"',
      ),
    );
  }
  const privacy = d.Privacy[0];
  if (
    privacy?.minGroupSize &&
    (privacy.minGroupSize.value < 1 || !Number.isInteger(privacy.minGroupSize.value))
  ) {
    report(
      err(
        codes.missingValue,
        '`min_group_size` must be a whole number of at least 1',
        privacy.minGroupSize.range,
      ),
    );
  }
  const exceptions = d.Exceptions[0];
  if (exceptions?.maxDuration && exceptions.maxDuration.amount <= 0) {
    report(
      err(codes.missingValue, '`max_duration` must be positive', exceptions.maxDuration.range),
    );
  }

  // ---- duplicates ----
  const uniq = <T>(
    items: T[],
    nameOf: (t: T) => Name | { text: string; range: Range },
    what: string,
  ) => {
    const seen = new Map<string, Range>();
    for (const item of items) {
      const n = nameOf(item);
      const first = seen.get(n.text);
      if (first) {
        report(
          err(
            codes.duplicateName,
            `${what} \`${n.text}\` is already declared at line ${first.start.line}`,
            n.range,
            'rename or remove one of them',
          ),
        );
      } else seen.set(n.text, n.range);
    }
  };
  uniq(d.Class, (c: ClassDecl) => c.name, 'class');
  uniq(d.Model, (m: ModelDecl) => ({ text: m.model.value, range: m.model.range }), 'model');
  uniq(d.Metric, (m: MetricDecl) => m.name, 'metric');
  uniq(d.Leaderboard, (l: LeaderboardDecl) => l.name, 'leaderboard');
  uniq(d.Tier, (t: TierDecl) => t.name, 'tier');
  uniq(d.Rule, (r: RuleDecl) => r.name, 'rule');
  uniq(d.Escalation, (e: EscalationDecl) => e.target, 'escalation ladder');
  uniq(d.Test, (t: TestDecl) => ({ text: t.name.value, range: t.name.range }), 'test');
  uniq(d.Budget, (b: BudgetDecl) => ({ text: budgetKey(b), range: b.range }), 'budget');

  const classes = new Set(d.Class.map((c) => c.name.text));
  const tiers = new Set(d.Tier.map((t) => t.name.text));
  const boards = new Set(d.Leaderboard.map((l) => l.name.text));
  const rules = new Set(d.Rule.map((r) => r.name.text));
  const metricDecls = new Map<string, MetricDecl>();
  for (const m of d.Metric) if (!metricDecls.has(m.name.text)) metricDecls.set(m.name.text, m);
  const metricNames = [...metricDecls.keys()];
  const metricSet = new Set(metricNames);

  const needName = (
    name: Name,
    set: ReadonlySet<string> | readonly string[],
    code: DiagnosticCode,
    what: string,
    hint?: string,
  ) => {
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

  // ---- models and prices ----
  for (const m of d.Model) {
    needName(
      m.className,
      classes,
      codes.unknownClass,
      'model class',
      `declare it: class ${m.className.text} "..."`,
    );
    checkModelPrices(m, report);
  }
  checkModelNames(d.Model, report);

  // ---- metrics: names, cycles, units ----
  for (const m of d.Metric) {
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
  const { inCycle, order: metricOrder } = reportCycles(d.Metric, metricSet, report);
  const memo = new Map<string, Typed>();
  const inProgress = new Set<string>();
  const scopeFor = (subject: 'person' | 'team'): ExprScope => ({
    subject,
    currency,
    metricNames,
    report,
    metric(name) {
      const decl = metricDecls.get(name);
      if (!decl) return undefined;
      const done = memo.get(name);
      if (done) return done;
      if (inProgress.has(name) || inCycle.has(name)) return ERR_T;
      inProgress.add(name);
      const t = inferExpr(decl.formula, personScope);
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
  const personScope = scopeFor('person');
  const teamScope = scopeFor('team');
  // dependencies first, so typing a metric never recurses through a long chain
  for (const name of metricOrder) personScope.metric(name);
  const metricUnits: Record<string, string> = {};
  for (const [name, t] of memo) {
    // a metric made only of plain numbers is a dimensionless ratio
    if (t.ty.t === 'num') metricUnits[name] = t.ty.dims === null ? '1' : unitText(t.ty);
  }

  const condition = (e: Expr | null, scope: ExprScope, where: string) => {
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
  };

  // ---- leaderboards ----
  for (const l of d.Leaderboard) {
    const scope = l.subject === 'team' ? teamScope : personScope;
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
    condition(l.eligible, scope, '`eligible when`');
    condition(l.exclude, scope, '`exclude when`');
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

  // ---- tiers and assignments ----
  for (const t of d.Tier) {
    if (!t.limit)
      report(
        err(
          codes.missingValue,
          `tier \`${t.name.text}\` has no \`limit N tokens per <period>\``,
          t.name.range,
        ),
      );
    else if (t.limit.value <= 0)
      report(err(codes.missingValue, 'a tier limit must be positive', t.limit.range));
    if (Array.isArray(t.models)) {
      for (const c of t.models)
        needName(
          c,
          classes,
          codes.unknownClass,
          'model class',
          `declare it: class ${c.text} "..."`,
        );
    }
  }
  checkAssignments(d.Assign, d.Tier.length > 0, report);
  for (const a of d.Assign) {
    needName(a.tier, tiers, codes.unknownTier, 'tier');
    condition(a.when, personScope, '`assign ... when`');
  }

  // ---- budgets ----
  for (const b of d.Budget) {
    inferExpr(b.amount, personScope);
    if (b.amount.amount <= 0)
      report(err(codes.missingValue, 'a budget must be positive', b.amount.range));
    else {
      try {
        decimalToMicros(String(b.amount.amount));
      } catch {
        report(err(codes.inexactMoney, 'a budget amount needs at most 6 decimals', b.amount.range));
      }
    }
  }

  // ---- escalations ----
  const ladderSteps = new Map<string, number[]>();
  for (const e of d.Escalation) {
    needName(
      e.target,
      LADDERS,
      codes.unknownLadder,
      'escalation ladder',
      'ladders: quota (tier limits), budget (budgets)',
    );
    const last: Record<string, { value: number; range: Range } | undefined> = {};
    ladderSteps.set(
      e.target.text,
      e.steps.map((s) => s.threshold.value),
    );
    for (const s of e.steps) {
      if (s.threshold.value <= 0)
        report(
          err(
            codes.thresholdsNotRising,
            'an escalation threshold must be above 0%',
            s.threshold.range,
          ),
        );
      const prev = last[s.trigger];
      if (prev && s.threshold.value <= prev.value) {
        report(
          err(
            codes.thresholdsNotRising,
            `escalation thresholds must rise: ${s.threshold.raw} comes after ${prev.value}% (line ${prev.range.start.line})`,
            s.threshold.range,
            'order the steps from the lowest threshold to the highest, without repeats',
          ),
        );
      }
      last[s.trigger] = { value: s.threshold.value, range: s.threshold.range };
      checkAction(s.action, report, needName);
    }
  }

  // ---- rules ----
  for (const r of d.Rule) {
    condition(r.when, personScope, '`when`');
    checkAction(r.then, report, needName);
  }

  // ---- tests ----
  for (const t of d.Test) {
    checkTest(t, { tiers, boards, metricSet, rules, ladderSteps }, report, needName);
  }

  return { diagnostics: sortDiagnostics(diagnostics), metricUnits };
}

function keyword(kind: string): string {
  return (
    {
      PolicyHeader: 'policy',
      Currency: 'currency',
      Timezone: 'timezone',
      Privacy: 'privacy',
      Exceptions: 'exceptions',
    }[kind] ?? kind
  );
}

/** "each team", "team platform", "org", with "@sandbox" for an environment scope. */
export function budgetKey(b: BudgetDecl): string {
  const t = b.target;
  const base =
    t.scope === 'org'
      ? 'org'
      : t.scope === 'each'
        ? `each ${t.subject}`
        : `${t.subject} ${t.id.value}`;
  return b.environment ? `${base}@${b.environment.value}` : base;
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
  tiers: ReadonlySet<string>;
  boards: ReadonlySet<string>;
  metricSet: ReadonlySet<string>;
  rules: ReadonlySet<string>;
  ladderSteps: ReadonlyMap<string, number[]>;
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
  if (t.givens.length === 0)
    report(err(codes.badTest, `test "${t.name.value}" has no \`given\` subject`, t.name.range));
  if (t.expects.length === 0)
    report(warn(codes.badTest, `test "${t.name.value}" expects nothing`, t.name.range));
  const ids = new Set<string>();
  for (const g of t.givens) {
    ids.add(g.id.value);
    const attrs = g.subject === 'person' ? PERSON_ATTRIBUTES : TEAM_ATTRIBUTES;
    for (const a of g.attributes) {
      const text = a.name.text;
      if (text.startsWith('attributes.') || text === 'environment') continue;
      needName(a.name, Object.keys(attrs), codes.unknownAttribute, `${g.subject} attribute`);
    }
    for (const f of g.facts) needName(f.fact, Object.keys(FACTS), codes.unknownFact, 'fact');
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
