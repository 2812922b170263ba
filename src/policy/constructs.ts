// The construct registry. Every phase of the language keeps one table with an entry per
// declaration kind, typed `{ [K in DeclarationKind]: … }`:
//
//   check   check/index.ts     DECLARATION_CHECKS  (duplicates and per-kind checks)
//   lower   compile/lower.ts   LOWERERS            (AST → rule-set IR)
//   format  format.ts          FORMATTERS          (canonical layout)
//   diff    diff/compute.ts    DIFFERS             (semantic diff)
//   docs    this file          CONSTRUCT_DOCS      (keyword and docs/language page)
//
// Adding a kind to `Declaration` in ast.ts makes `tsc` name each table still missing it
// (test/policy/registry.test.ts proves it). docs/language/adding-a-construct.md is the guide.
import type { Declaration, PolicyFile } from './ast.ts';

export type DeclarationKind = Declaration['kind'];

/** The AST node of one declaration kind. */
export type DeclarationOf<K extends DeclarationKind> = Extract<Declaration, { kind: K }>;

/** Every declaration of a file, grouped by kind, in source order (empty lists for absent kinds). */
export type DeclarationsByKind = { [K in DeclarationKind]: DeclarationOf<K>[] };

export function groupDeclarations(ast: PolicyFile): DeclarationsByKind {
  const out = {} as Record<DeclarationKind, Declaration[]>;
  for (const kind of DECLARATION_KINDS) out[kind] = [];
  for (const d of ast.declarations) out[d.kind].push(d);
  return out as DeclarationsByKind;
}

export type ConstructDocs = {
  /** the keyword a declaration starts with, as a writer sees it */
  keyword: string;
  /** its reference page under docs/language/, with an anchor when the page covers several */
  page: string;
};

/** Where each construct is documented; test/docs/docs.test.ts checks each page shows it. */
export const CONSTRUCT_DOCS: { [K in DeclarationKind]: ConstructDocs } = {
  PolicyHeader: { keyword: 'policy', page: 'header.md' },
  Currency: { keyword: 'currency', page: 'header.md' },
  Timezone: { keyword: 'timezone', page: 'header.md' },
  Privacy: { keyword: 'privacy', page: 'header.md' },
  Exceptions: { keyword: 'exceptions', page: 'header.md' },
  Class: { keyword: 'class', page: 'models.md' },
  Model: { keyword: 'model', page: 'models.md' },
  Measure: { keyword: 'measure', page: 'measures.md' },
  Metric: { keyword: 'metric', page: 'metrics.md' },
  Leaderboard: { keyword: 'leaderboard', page: 'leaderboards.md' },
  Badge: { keyword: 'badge', page: 'badges.md' },
  Season: { keyword: 'season', page: 'seasons.md' },
  Tier: { keyword: 'tier', page: 'tiers.md' },
  Assign: { keyword: 'assign', page: 'tiers.md' },
  Budget: { keyword: 'budget', page: 'budgets.md' },
  Escalation: { keyword: 'escalation', page: 'escalations.md' },
  Rule: { keyword: 'rule', page: 'rules.md' },
  RequestLimit: { keyword: 'request', page: 'request-limits.md' },
  Test: { keyword: 'test', page: 'tests.md' },
};

export const DECLARATION_KINDS = Object.keys(CONSTRUCT_DOCS) as DeclarationKind[];
