// Canonical layout for policies. Keeps every comment, keeps the writer's blank lines between
// declarations (at most one), aligns runs of one-line declarations of the same kind into
// columns, and prints expressions with only the parentheses the writer wrote or the
// meaning needs. fmt(fmt(x)) == fmt(x), and parsing the output gives the same AST.
import type {
  Action,
  BadgeDecl,
  BudgetDecl,
  Comment,
  DetectClause,
  Expect,
  Expectation,
  Expr,
  Given,
  LeaderboardDecl,
  ModelDecl,
  PolicyFile,
  PriceEntry,
  Range,
  RuleDecl,
  StringLit,
  TestDecl,
  TierDecl,
} from './ast.ts';
import type { DeclarationKind, DeclarationOf } from './constructs.ts';
import { ADDITIVE, COMPARISON, NEGATE_LEVEL, NOT_LEVEL, PRECEDENCE } from './precedence.ts';

const INDENT = '  ';

// ---------- expressions ----------

const POSTFIX = 8;
const ATOM = 9;

export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

/** One expression in canonical form: `a + b * c`, `tokens within 7d`, `role in ["a", "b"]`. */
export function formatExpr(expr: Expr): string {
  return printExpr(expr, 0, true);
}

function precedenceOf(e: Expr): number {
  switch (e.kind) {
    case 'Binary':
      return PRECEDENCE[e.op];
    case 'In':
      return COMPARISON;
    case 'Unary':
      return e.op === 'not' ? NOT_LEVEL : NEGATE_LEVEL;
    case 'Member':
      return POSTFIX;
    default:
      return ATOM;
  }
}

/**
 * `minPrec`: the loosest operator allowed unparenthesised here. `trailing`: nothing that could
 * extend an expression follows, so a greedy `if … else …` may stand bare.
 */
function printExpr(e: Expr, minPrec: number, trailing: boolean): string {
  const text = printBare(e, trailing);
  const needsParens = precedenceOf(e) < minPrec || (e.kind === 'If' && !trailing);
  return needsParens ? `(${e.kind === 'If' ? printBare(e, true) : text})` : text;
}

function printBare(e: Expr, trailing: boolean): string {
  switch (e.kind) {
    case 'Number':
    case 'Percent':
    case 'Duration':
      return e.raw;
    case 'Money':
      return `${e.raw} ${e.currency}`;
    case 'StringExpr':
      return quote(e.value);
    case 'Bool':
      return e.value ? 'true' : 'false';
    case 'Ref':
      return e.name.text;
    case 'Within':
      return `${e.fact.text} within ${e.window.raw}`;
    case 'Member':
      return `${printExpr(e.object, POSTFIX, false)}.${e.property.text}`;
    case 'Call':
      return `${e.callee.text}(${e.args.map((a) => printExpr(a, 0, true)).join(', ')})`;
    case 'Paren':
      return `(${printExpr(e.inner, 0, true)})`;
    case 'Unary':
      return e.op === 'not'
        ? `not ${printExpr(e.operand, NOT_LEVEL, trailing)}`
        : `-${printExpr(e.operand, NEGATE_LEVEL, trailing)}`;
    case 'In':
      return `${printExpr(e.value, ADDITIVE, false)} ${e.negated ? 'not in' : 'in'} [${e.list
        .map((item) => printExpr(item, 0, true))
        .join(', ')}]`;
    case 'If':
      return `if ${printExpr(e.cond, 0, true)} then ${printExpr(e.then, 0, true)} else ${printExpr(e.else, 0, trailing)}`;
    case 'Binary': {
      const p = PRECEDENCE[e.op];
      if (p === COMPARISON) {
        return `${printExpr(e.left, ADDITIVE, false)} ${e.op} ${printExpr(e.right, ADDITIVE, trailing)}`;
      }
      return `${printExpr(e.left, p, false)} ${e.op} ${printExpr(e.right, p + 1, trailing)}`;
    }
  }
}

// ---------- comments ----------

/** Hands out comments in source order as the printer reaches their place. */
class CommentQueue {
  private readonly comments: Comment[];
  private next = 0;

  constructor(comments: readonly Comment[]) {
    this.comments = [...comments].sort((a, b) => a.range.start.offset - b.range.start.offset);
  }

  peek(): Comment | undefined {
    return this.comments[this.next];
  }

  /** Comments that start before `offset`. */
  takeBefore(offset: number): Comment[] {
    const taken: Comment[] = [];
    while (
      this.next < this.comments.length &&
      this.comments[this.next].range.start.offset < offset
    ) {
      taken.push(this.comments[this.next++]);
    }
    return taken;
  }

  /** A comment on `line` at or after `offset`, written after the code on that line. */
  takeTrailing(line: number, offset: number, limit: number): Comment | undefined {
    const c = this.comments[this.next];
    if (
      c &&
      c.range.start.line === line &&
      c.range.start.offset >= offset &&
      c.range.start.offset < limit
    ) {
      this.next++;
      return c;
    }
    return undefined;
  }
}

const commentText = (c: Comment) => c.text.trimEnd();

// ---------- declarations ----------

type Row =
  | { type: 'blank' }
  | { type: 'comment'; text: string }
  /** a one-line declaration, split into cells so runs of the same kind align */
  | { type: 'cells'; kind: DeclarationKind | null; cells: string[]; trailing?: string }
  | { type: 'lines'; lines: string[] };

export function formatPolicy(ast: PolicyFile): string {
  const queue = new CommentQueue(ast.comments);
  const rows: Row[] = [];
  let lastLine = 0;
  const blankBefore = (line: number) => {
    if (rows.length > 0 && line - lastLine > 1) rows.push({ type: 'blank' });
  };

  for (const decl of ast.declarations) {
    for (const c of queue.takeBefore(decl.range.start.offset)) {
      blankBefore(c.range.start.line);
      rows.push({ type: 'comment', text: commentText(c) });
      lastLine = Math.max(lastLine, c.range.end.line);
    }
    blankBefore(decl.range.start.line);
    const layout = layoutOf(decl);
    if (layout.type === 'block') {
      rows.push({ type: 'lines', lines: printBlock(layout, decl.range, queue) });
    } else {
      // comments inside a one-line declaration move above it
      for (const c of queue.takeBefore(decl.range.end.offset)) {
        rows.push({ type: 'comment', text: commentText(c) });
      }
      if (layout.type === 'lines') rows.push(layout);
      else rows.push({ type: 'cells', kind: layout.align ? decl.kind : null, cells: layout.cells });
    }
    const trailing = queue.takeTrailing(decl.range.end.line, decl.range.end.offset, Infinity);
    if (trailing) appendTrailing(rows[rows.length - 1], commentText(trailing));
    lastLine = Math.max(lastLine, decl.range.end.line, trailing?.range.end.line ?? 0);
  }
  for (const c of queue.takeBefore(Number.POSITIVE_INFINITY)) {
    blankBefore(c.range.start.line);
    rows.push({ type: 'comment', text: commentText(c) });
    lastLine = Math.max(lastLine, c.range.end.line);
  }
  const lines = renderRows(rows);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function appendTrailing(row: Row, text: string): void {
  if (row.type === 'cells') row.trailing = text;
  else if (row.type === 'lines') row.lines[row.lines.length - 1] += `  ${text}`;
  else if (row.type === 'comment') row.text += `  ${text}`;
}

function renderRows(rows: Row[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rows.length) {
    const row = rows[i];
    if (row.type === 'cells') {
      let j = i + 1;
      while (j < rows.length) {
        const next = rows[j];
        if (next.type !== 'cells' || row.kind === null || next.kind !== row.kind) break;
        j++;
      }
      out.push(...alignCells(rows.slice(i, j) as Extract<Row, { type: 'cells' }>[]));
      i = j;
      continue;
    }
    if (row.type === 'blank') out.push('');
    else if (row.type === 'comment') out.push(row.text);
    else out.push(...row.lines);
    i++;
  }
  return out;
}

/** Pads every cell but the last to its column's width; trailing comments follow two spaces. */
function alignCells(run: { cells: string[]; trailing?: string }[], indent = ''): string[] {
  const columns = Math.max(...run.map((r) => r.cells.length));
  const widths: number[] = [];
  for (let col = 0; col < columns - 1; col++) {
    widths.push(Math.max(...run.map((r) => (r.cells[col] ?? '').length)));
  }
  return run.map((r) => {
    const parts: string[] = [];
    for (let col = 0; col < columns; col++) {
      const cell = r.cells[col] ?? '';
      if (col < columns - 1 && widths[col] === 0) continue; // a column empty in every row
      parts.push(col < columns - 1 ? cell.padEnd(widths[col]) : cell);
    }
    const line = indent + parts.join(' ').trimEnd();
    return r.trailing ? `${line}  ${r.trailing}` : line;
  });
}

const withLabel = (text: string, label: StringLit | null) =>
  label ? `${text} ${quote(label.value)}` : text;

function inlineBlock(clauses: string[]): string {
  return clauses.length === 0 ? '{ }' : `{ ${clauses.join('  ')} }`;
}

/**
 * How a declaration is laid out: one line split into cells (`align`: consecutive
 * declarations of the kind line their cells up), lines of its own, or a `{ }` block of items
 * that comments may sit between.
 */
type Layout =
  | { type: 'cells'; cells: string[]; align: boolean }
  | { type: 'lines'; lines: string[] }
  | { type: 'block'; header: string; items: Item[]; alignItems: boolean };

/** One layout per declaration kind (tsc refuses a kind without one). */
const FORMATTERS: { [K in DeclarationKind]: (d: DeclarationOf<K>) => Layout } = {
  PolicyHeader: (d) => line(`policy ${quote(d.name.value)} version ${quote(d.version.value)}`),
  Currency: (d) => line(`currency ${d.code.text}`),
  Timezone: (d) => line(`timezone ${quote(d.zone.value)}`),
  Privacy: (d) => {
    const clauses: string[] = [];
    if (d.minGroupSize) clauses.push(`min_group_size ${d.minGroupSize.raw}`);
    if (d.identities) clauses.push(`identities ${d.identities}`);
    return line(`privacy ${inlineBlock(clauses)}`);
  },
  Exceptions: (d) =>
    line(`exceptions ${inlineBlock(d.maxDuration ? [`max_duration ${d.maxDuration.raw}`] : [])}`),
  Class: (d) => aligned(['class', d.name.text, d.label ? quote(d.label.value) : '']),
  Model: (d) => {
    if (isLongModel(d)) return { type: 'lines', lines: printModel(d) };
    const cells = ['model', quote(d.model.value), 'class', d.className.text];
    if (d.prices.length > 0) {
      // one cell per price, so a run of models lines its prices up
      const prices = d.prices.map((p) => `${p.priceKind} ${p.amount.raw}`);
      prices[prices.length - 1] += ' }';
      cells.push('price {', ...prices);
    }
    return aligned(cells);
  },
  Measure: (d) => {
    const clauses: string[] = [];
    if (d.unit) clauses.push(`unit ${d.unit.text}`);
    if (d.aggregate)
      clauses.push(
        `aggregate ${d.aggregate}${d.aggregate === 'percentile' && d.percentile ? ` ${d.percentile.raw}` : ''}`,
      );
    return aligned(['measure', withLabel(d.name.text, d.label), ...tierBlock(clauses)]);
  },
  Metric: (d) => aligned(['metric', withLabel(d.name.text, d.label), `= ${formatExpr(d.formula)}`]),
  Leaderboard: (d) => ({
    type: 'block',
    header: `leaderboard ${withLabel(d.name.text, d.label)}`,
    items: leaderboardItems(d),
    alignItems: false,
  }),
  Badge: (d) => ({
    type: 'block',
    header: `badge ${withLabel(d.name.text, d.label)}`,
    items: badgeItems(d),
    alignItems: false,
  }),
  Season: (d) => {
    const clauses: string[] = [];
    if (d.from) clauses.push(`from ${quote(d.from.value)}`);
    if (d.until) clauses.push(`until ${quote(d.until.value)}`);
    return aligned(['season', withLabel(d.name.text, d.label), ...tierBlock(clauses)]);
  },
  Tier: (d) =>
    aligned([
      'tier',
      d.name.text,
      d.label ? quote(d.label.value) : '',
      ...tierBlock(tierClauses(d)),
    ]),
  Assign: (d) =>
    aligned(['assign', d.tier.text, d.when ? `when ${formatExpr(d.when)}` : 'otherwise']),
  Budget: (d) => aligned(['budget', budgetTarget(d), `{ ${budgetAmount(d)} per ${d.period} }`]),
  Escalation: (d) => ({
    type: 'block',
    header: `escalation ${d.target.text}`,
    items: d.steps.map((s) => ({
      cells: [`${s.trigger} ${s.threshold.raw}`, printAction(s.action)],
      range: s.range,
    })),
    alignItems: true,
  }),
  Rule: (d) => ({
    type: 'block',
    header: `rule ${withLabel(d.name.text, d.label)}${d.severity ? ` severity ${d.severity}` : ''}`,
    items: ruleItems(d),
    alignItems: false,
  }),
  // a run of request limits lines its steps up: `request premium { warn above 50k input … }`
  RequestLimit: (d) => {
    const steps = d.steps.map(
      (s) =>
        `${s.action} above ${s.above.raw} input${s.message ? ` ${quote(s.message.value)}` : ''}`,
    );
    const block = steps.length <= 2 ? tierBlock(steps) : [inlineBlock(steps)];
    return aligned(['request', d.target?.text ?? 'any', ...block]);
  },
  Test: (d) => ({
    type: 'block',
    header: `test ${quote(d.name.value)}`,
    items: testItems(d),
    alignItems: false,
  }),
};

const line = (text: string): Layout => ({ type: 'cells', cells: [text], align: false });
const aligned = (cells: string[]): Layout => ({ type: 'cells', cells, align: true });

function layoutOf<K extends DeclarationKind>(d: DeclarationOf<K>): Layout {
  return (FORMATTERS[d.kind as K] as (d: DeclarationOf<K>) => Layout)(d);
}

/** A model with name patterns or more than token rates gets a block of its own. */
function isLongModel(d: ModelDecl): boolean {
  return (
    d.matches.length > 0 ||
    d.calls.length > 0 ||
    d.multipliers.length > 0 ||
    d.longContext.length > 0
  );
}

const priceText = (prices: PriceEntry[]) =>
  prices.map((p) => `${p.priceKind} ${p.amount.raw}`).join('  ');

/**
 * model "claude-sonnet-4-5" class standard
 *   matches "claude-sonnet-4-5-*", "claude-sonnet-4-5@*"
 *   price {
 *     input 3.00  output 15.00
 *     web_search 10.00 per 1k
 *     batch 50%
 *     above 200k input { input 6.00  output 22.50 }
 *   }
 */
function printModel(d: ModelDecl): string[] {
  const lines = [`model ${quote(d.model.value)} class ${d.className.text}`];
  if (d.matches.length > 0) {
    const lead = '  matches ';
    let line = lead;
    d.matches.forEach((p, i) => {
      const item = quote(p.value) + (i < d.matches.length - 1 ? ',' : '');
      if (line !== lead && line.length + 1 + item.length > MODEL_WIDTH) {
        lines.push(line.trimEnd());
        line = ' '.repeat(lead.length);
      }
      line += line.endsWith(' ') ? item : ` ${item}`;
    });
    lines.push(line);
  }
  const items: string[] = [];
  if (d.prices.length > 0) items.push(priceText(d.prices));
  for (const c of d.calls) items.push(`${c.call} ${c.amount.raw} per ${c.per.raw}`);
  if (d.multipliers.length > 0)
    items.push(d.multipliers.map((m) => `${m.tier} ${m.percent.raw}`).join('  '));
  for (const t of d.longContext)
    items.push(
      `above ${t.threshold.raw} input ${inlineBlock(t.prices.map((p) => `${p.priceKind} ${p.amount.raw}`))}`,
    );
  if (items.length > 0) lines.push('  price {', ...items.map((i) => `    ${i}`), '  }');
  return lines;
}

const MODEL_WIDTH = 100;

/**
 * `{ limit … ` and `models … }` as separate cells, so a run of tiers aligns its clauses (and
 * `{ unit … ` and `aggregate … }`, a run of measures).
 */
function tierBlock(clauses: string[]): string[] {
  if (clauses.length < 2) return [inlineBlock(clauses)];
  return [`{ ${clauses[0]} `, `${clauses[1]} }`];
}

function tierClauses(d: TierDecl): string[] {
  const clauses: string[] = [];
  if (d.limit) clauses.push(`limit ${d.limit.raw} tokens${d.period ? ` per ${d.period}` : ''}`);
  if (d.models) {
    clauses.push(`models ${d.models === 'any' ? 'any' : d.models.map((m) => m.text).join(', ')}`);
  }
  return clauses;
}

/** `2,000 USD` or `50M tokens` */
export function budgetAmount(d: BudgetDecl): string {
  return d.amount.kind === 'Money'
    ? `${d.amount.raw} ${d.amount.currency}`
    : `${d.amount.raw} tokens`;
}

function budgetTarget(d: BudgetDecl): string {
  const t = d.target;
  const target =
    t.scope === 'org'
      ? 'org'
      : t.scope === 'project'
        ? `project ${quote(t.id.value)}`
        : t.scope === 'pool'
          ? `pool ${quote(t.id.value)} teams ${t.teams.map((x) => quote(x.value)).join(', ')}`
          : t.scope === 'each'
            ? `each ${t.subject}`
            : `${t.subject} ${quote(t.id.value)}`;
  return d.environment ? `${target} environment ${quote(d.environment.value)}` : target;
}

function printAction(a: Action): string {
  switch (a.kind) {
    case 'Notify':
      return withLabel(`notify ${a.audiences.map((n) => n.text).join(', ')}`, a.message);
    case 'RequireJustification':
      return 'require justification';
    case 'RequireApproval':
      return `require approval by ${a.approver.text}`;
    case 'Block':
      return 'block';
  }
}

/** A line inside a block, with the offset that places comments around it (if it has one). */
type Item = { cells: string[]; range: Range | null; extra?: string[] };

function printBlock(
  { header, items, alignItems }: Extract<Layout, { type: 'block' }>,
  range: Range,
  queue: CommentQueue,
): string[] {
  const lines = [`${header} {`];
  // Comments go before the first item whose own place, or any later item's, follows them;
  // items without a range (e.g. `subject person`) never pull comments past ranged ones.
  const anchors = new Array<number>(items.length);
  let min = range.end.offset;
  for (let i = items.length - 1; i >= 0; i--) {
    const r = items[i].range;
    if (r) min = Math.min(min, r.start.offset);
    anchors[i] = min;
  }
  const rendered: { cells: string[]; trailing?: string; extra?: string[] }[] = [];
  const flushRendered = () => {
    if (rendered.length === 0) return;
    if (alignItems) lines.push(...alignCells(rendered, INDENT));
    else {
      for (const r of rendered) {
        lines.push(...alignCells([r], INDENT));
        // continuation lines (a given's facts) follow their item
        if (r.extra) lines.push(...r.extra);
      }
    }
    rendered.length = 0;
  };
  items.forEach((item, i) => {
    const before = queue.takeBefore(anchors[i]);
    if (before.length > 0) {
      flushRendered();
      for (const c of before) lines.push(INDENT + commentText(c));
    }
    const trailing = item.range
      ? queue.takeTrailing(item.range.end.line, item.range.end.offset, range.end.offset)
      : undefined;
    const entry: { cells: string[]; trailing?: string; extra?: string[] } = { cells: item.cells };
    if (item.extra) {
      entry.extra = [...item.extra];
      if (trailing) entry.extra[entry.extra.length - 1] += `  ${commentText(trailing)}`;
    } else if (trailing) entry.trailing = commentText(trailing);
    rendered.push(entry);
  });
  flushRendered();
  for (const c of queue.takeBefore(range.end.offset)) lines.push(INDENT + commentText(c));
  lines.push('}');
  return lines;
}

function badgeItems(d: BadgeDecl): Item[] {
  const items: Item[] = [];
  if (d.subject) items.push({ cells: [`subject ${d.subject}`], range: d.subjectRange ?? null });
  if (d.window) items.push({ cells: [`window ${d.window}`], range: d.windowRange ?? null });
  if (d.when) items.push({ cells: [`when ${formatExpr(d.when)}`], range: d.when.range });
  return items;
}

/** `detect deviation of tokens within 28d above 3.5 history 7d`, as written. */
export function detectText(d: DetectClause): string {
  return [
    `detect ${d.detector.text}`,
    d.fact ? `of ${d.fact.text}` : '',
    `within ${d.window.raw}`,
    `above ${d.above.raw}`,
    d.history ? `history ${d.history.raw}` : '',
    d.period ? `in ${d.period}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function ruleItems(d: RuleDecl): Item[] {
  const items: Item[] = [];
  if (d.subject) items.push({ cells: [`subject ${d.subject}`], range: d.subjectRange ?? null });
  if (d.detect) items.push({ cells: [detectText(d.detect)], range: d.detect.range });
  if (d.when) items.push({ cells: [`when ${formatExpr(d.when)}`], range: d.when.range });
  items.push({ cells: [`then ${printAction(d.then)}`], range: d.then.range });
  return items;
}

function leaderboardItems(d: LeaderboardDecl): Item[] {
  const items: Item[] = [];
  if (d.subject) items.push({ cells: [`subject ${d.subject}`], range: d.subjectRange ?? null });
  if (d.window) items.push({ cells: [`window ${d.window}`], range: d.windowRange ?? null });
  if (d.cohort) items.push({ cells: [`cohort ${formatExpr(d.cohort)}`], range: d.cohort.range });
  if (d.eligible)
    items.push({ cells: [`eligible when ${formatExpr(d.eligible)}`], range: d.eligible.range });
  if (d.exclude)
    items.push({ cells: [`exclude when ${formatExpr(d.exclude)}`], range: d.exclude.range });
  if (d.score) items.push({ cells: [`score = ${formatExpr(d.score)}`], range: d.score.range });
  if (d.top) items.push({ cells: [`top ${d.top.raw}`], range: d.top.range });
  return items;
}

function testItems(d: TestDecl): Item[] {
  const items: Item[] = [];
  if (d.now) items.push({ cells: [`now ${quote(d.now.value)}`], range: d.now.range });
  for (const g of d.givens) items.push(givenItem(g));
  const kinds = new Map(d.givens.map((g) => [g.id.value, g.subject]));
  for (const e of d.expects) items.push({ cells: [expectText(e, kinds)], range: e.range });
  return items;
}

function givenItem(g: Given): Item {
  const parts = [`given ${g.subject} ${quote(g.id.value)}`];
  for (const a of g.attributes)
    parts.push(a.value ? `${a.name.text} ${formatExpr(a.value)}` : a.name.text);
  const item: Item = { cells: [parts.join(' ')], range: g.range };
  if (g.facts.length > 0) {
    const facts = g.facts.map((f) =>
      f.daily
        ? `${f.fact.text} daily [${f.daily.map(formatExpr).join(', ')}]`
        : `${f.fact.text}${f.window ? ` within ${f.window.raw}` : ''} ${formatExpr(f.value)}`,
    );
    item.extra = [`${INDENT}${INDENT}facts { ${facts.join(' ')} }`];
  }
  return item;
}

function expectText(e: Expect, kinds: Map<string, string>): string {
  const kind = e.subjectKind ?? (e.subject && kinds.get(e.subject.value)) ?? 'person';
  const subject = e.subject ? `${kind} ${quote(e.subject.value)} ` : '';
  return `expect ${subject}${expectationText(e.expectation)}`;
}

function expectationText(x: Expectation): string {
  switch (x.kind) {
    case 'ExpectTier':
      return `tier ${x.tier.text}`;
    case 'ExpectValue':
      return `${x.target} ${x.name.text} between ${printExpr(x.low, ADDITIVE, false)} and ${printExpr(x.high, ADDITIVE, true)}`;
    case 'ExpectBand':
      return `band ${x.target} ${x.band.text}`;
    case 'ExpectRank':
      return `rank ${x.board.text} ${x.rank.raw}`;
    case 'ExpectEligible':
      return `${x.negated ? 'not ' : ''}eligible ${x.board.text}`;
    case 'ExpectBadge':
      return `${x.negated ? 'not ' : ''}badge ${x.badge.text}`;
    case 'ExpectFires':
      return `${x.negated ? 'not ' : ''}fires ${x.target.text}${x.step ? ` at ${x.step.raw}` : ''}`;
    case 'ExpectRequest':
      return `request ${x.target.kind === 'Name' ? x.target.text : quote(x.target.value)} ${x.inputTokens.raw} input ${x.outcome}`;
  }
}
