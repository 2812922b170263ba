// Semantic diff of two policy versions: what changed in meaning, grouped by construct, in
// canonical syntax. Pure: text in (already analysed), data and rendered text out.
export {
  type Change,
  CONSTRUCTS,
  type Construct,
  type DiffInput,
  declarationText,
  diffPolicies,
  type FieldChange,
  microsText,
  type PolicyDiff,
  type PolicySide,
  semanticChangeCount,
} from './diff/compute.ts';
export { diffExpr, type ExprScope, type SubExprChange } from './diff/expr.ts';
export {
  DIFF_FORMATS,
  type DiffFormat,
  renderDiff,
  renderDiffJson,
  renderDiffMarkdown,
  renderDiffText,
} from './diff/render.ts';
