// Compile a parsed policy: check it, then lower it to the rule-set IR and hash it.
import type { PolicyFile } from '../ast.ts';
import { checkPolicy } from '../check/index.ts';
import type { Diagnostic } from '../diagnostics.ts';
import { hasErrors } from '../diagnostics.ts';
import { policyHash, type RuleSetIR } from '../ir.ts';
import { lowerPolicy } from './lower.ts';

export type CompileResult =
  | { ok: true; ir: RuleSetIR; hash: string; diagnostics: Diagnostic[] }
  | { ok: false; ir: null; hash: null; diagnostics: Diagnostic[] };

/** Check and lower. With checker errors there is no IR; warnings come along either way. */
export function compilePolicy(
  ast: PolicyFile,
  parseDiagnostics: readonly Diagnostic[] = [],
): CompileResult {
  if (hasErrors(parseDiagnostics)) {
    return { ok: false, ir: null, hash: null, diagnostics: [...parseDiagnostics] };
  }
  const { diagnostics, metricUnits } = checkPolicy(ast);
  const all = [...parseDiagnostics, ...diagnostics];
  if (hasErrors(diagnostics)) return { ok: false, ir: null, hash: null, diagnostics: all };
  const ir = lowerPolicy(ast, metricUnits);
  return { ok: true, ir, hash: policyHash(ir), diagnostics: all };
}

export { buildRuleSet, type RuleSet } from './ruleset.ts';
