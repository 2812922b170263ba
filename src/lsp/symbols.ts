// What a policy declares and where each declared name is used: the index behind hover,
// go to definition, references, rename and document symbols. Pure: AST in, index out.
import type { Declaration, Expectation, Expr, PolicyFile, Range } from '../policy/ast.ts';

export type SymbolKind =
  | 'class'
  | 'model'
  | 'measure'
  | 'metric'
  | 'leaderboard'
  | 'badge'
  | 'season'
  | 'tier'
  | 'rule'
  | 'test';

export type Definition = {
  kind: SymbolKind;
  name: string;
  /** the name as written (for a model or test, inside the quotes) */
  nameRange: Range;
  declaration: Declaration;
};

export type Reference = { kind: SymbolKind; name: string; range: Range };

export type PolicyIndex = { definitions: Definition[]; references: Reference[] };

/** The range of a string literal's content, without its quotes. */
function inside(range: Range): Range {
  return {
    start: { ...range.start, column: range.start.column + 1, offset: range.start.offset + 1 },
    end: { ...range.end, column: range.end.column - 1, offset: range.end.offset - 1 },
  };
}

function* exprRefs(e: Expr | null | undefined): Generator<{ name: string; range: Range }> {
  if (!e) return;
  switch (e.kind) {
    case 'Ref':
      yield { name: e.name.text, range: e.name.range };
      return;
    case 'Member':
      yield* exprRefs(e.object);
      return;
    case 'Call':
      for (const a of e.args) yield* exprRefs(a);
      return;
    case 'Unary':
      yield* exprRefs(e.operand);
      return;
    case 'Binary':
      yield* exprRefs(e.left);
      yield* exprRefs(e.right);
      return;
    case 'In':
      yield* exprRefs(e.value);
      for (const item of e.list) yield* exprRefs(item);
      return;
    case 'If':
      yield* exprRefs(e.cond);
      yield* exprRefs(e.then);
      yield* exprRefs(e.else);
      return;
    case 'Paren':
      yield* exprRefs(e.inner);
      return;
    default:
      return;
  }
}

function expectationRefs(x: Expectation): Reference[] {
  switch (x.kind) {
    case 'ExpectTier':
      return [{ kind: 'tier', name: x.tier.text, range: x.tier.range }];
    case 'ExpectValue':
      return [
        {
          kind: x.target === 'score' ? 'leaderboard' : 'metric',
          name: x.name.text,
          range: x.name.range,
        },
      ];
    case 'ExpectRank':
    case 'ExpectEligible':
      return [{ kind: 'leaderboard', name: x.board.text, range: x.board.range }];
    case 'ExpectBadge':
      return [{ kind: 'badge', name: x.badge.text, range: x.badge.range }];
    case 'ExpectFires':
      return x.step === null && x.target.text !== 'quota' && x.target.text !== 'budget'
        ? [{ kind: 'rule', name: x.target.text, range: x.target.range }]
        : [];
    default:
      return [];
  }
}

export function indexPolicy(ast: PolicyFile): PolicyIndex {
  const definitions: Definition[] = [];
  const references: Reference[] = [];
  const formulas: (Expr | null)[] = [];
  for (const d of ast.declarations) {
    switch (d.kind) {
      case 'Class':
        definitions.push({
          kind: 'class',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        break;
      case 'Model':
        definitions.push({
          kind: 'model',
          name: d.model.value,
          nameRange: inside(d.model.range),
          declaration: d,
        });
        references.push({ kind: 'class', name: d.className.text, range: d.className.range });
        break;
      case 'Measure':
        definitions.push({
          kind: 'measure',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        break;
      case 'Metric':
        definitions.push({
          kind: 'metric',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        formulas.push(d.formula);
        break;
      case 'Leaderboard':
        definitions.push({
          kind: 'leaderboard',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        formulas.push(d.cohort, d.eligible, d.exclude, d.score);
        break;
      case 'Badge':
        definitions.push({
          kind: 'badge',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        formulas.push(d.when);
        break;
      case 'Season':
        definitions.push({
          kind: 'season',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        break;
      case 'Tier':
        definitions.push({
          kind: 'tier',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        if (Array.isArray(d.models)) {
          for (const m of d.models)
            references.push({ kind: 'class', name: m.text, range: m.range });
        }
        break;
      case 'Assign':
        references.push({ kind: 'tier', name: d.tier.text, range: d.tier.range });
        formulas.push(d.when);
        break;
      case 'Rule':
        definitions.push({
          kind: 'rule',
          name: d.name.text,
          nameRange: d.name.range,
          declaration: d,
        });
        formulas.push(d.when);
        break;
      case 'Test':
        definitions.push({
          kind: 'test',
          name: d.name.value,
          nameRange: inside(d.name.range),
          declaration: d,
        });
        for (const e of d.expects) references.push(...expectationRefs(e.expectation));
        break;
      default:
        break;
    }
  }
  const metrics = new Set(definitions.filter((d) => d.kind === 'metric').map((d) => d.name));
  const measures = new Set(definitions.filter((d) => d.kind === 'measure').map((d) => d.name));
  for (const formula of formulas) {
    for (const ref of exprRefs(formula)) {
      if (metrics.has(ref.name)) references.push({ kind: 'metric', ...ref });
      else if (measures.has(ref.name)) references.push({ kind: 'measure', ...ref });
    }
  }
  return { definitions, references };
}

function contains(range: Range, offset: number): boolean {
  return range.start.offset <= offset && offset <= range.end.offset;
}

/** The declared symbol whose name is at `offset`, as a definition or a reference. */
export function symbolAt(
  index: PolicyIndex,
  offset: number,
): { kind: SymbolKind; name: string; range: Range } | undefined {
  const def = index.definitions.find((d) => contains(d.nameRange, offset));
  if (def) return { kind: def.kind, name: def.name, range: def.nameRange };
  return index.references.find((r) => contains(r.range, offset));
}

export function definitionOf(
  index: PolicyIndex,
  kind: SymbolKind,
  name: string,
): Definition | undefined {
  return index.definitions.find((d) => d.kind === kind && d.name === name);
}

/** Every place the symbol is written: its definition first, then its uses. */
export function occurrences(index: PolicyIndex, kind: SymbolKind, name: string): Range[] {
  const def = definitionOf(index, kind, name);
  const uses = index.references
    .filter((r) => r.kind === kind && r.name === name)
    .map((r) => r.range)
    .sort((x, y) => x.start.offset - y.start.offset);
  return def ? [def.nameRange, ...uses] : uses;
}
