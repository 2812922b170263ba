// Compile a parsed policy: check it, then lower it to the rule-set IR and hash it.
import type { PolicyFile } from '../ast.ts';
import { checkPolicy } from '../check/index.ts';
import type { Diagnostic } from '../diagnostics.ts';
import { hasErrors, sortDiagnostics } from '../diagnostics.ts';
import { policyHash, type RuleSetIR } from '../ir.ts';
import { type Recovery, withoutFollowOns } from '../recovery.ts';
import { lowerPolicy } from './lower.ts';

export type CompileResult =
  | { ok: true; ir: RuleSetIR; hash: string; diagnostics: Diagnostic[] }
  | { ok: false; ir: null; hash: null; diagnostics: Diagnostic[] };

/**
 * Check and lower. With errors there is no IR; warnings come along either way. After
 * syntax errors the checker still runs on what parsed, so every problem is reported in one
 * round; `recovery` (from the parse) lets it drop fewer findings as possible follow-ons.
 */
export function compilePolicy(
  ast: PolicyFile,
  parseDiagnostics: readonly Diagnostic[] = [],
  recovery?: Recovery,
): CompileResult {
  if (hasErrors(parseDiagnostics)) {
    let checked: Diagnostic[];
    try {
      checked = withoutFollowOns(checkPolicy(ast).diagnostics, parseDiagnostics, ast, recovery);
    } catch {
      // the checker was written for complete files; a partial one must not hide the
      // syntax errors, which are what the writer needs first
      checked = [];
    }
    const file = parseDiagnostics.find((d) => d.file)?.file;
    const diagnostics = sortDiagnostics([
      ...parseDiagnostics,
      ...checked.map((d) => (file && !d.file ? { ...d, file } : d)),
    ]);
    return { ok: false, ir: null, hash: null, diagnostics };
  }
  const { diagnostics, metricUnits } = checkPolicy(ast);
  const all = [...parseDiagnostics, ...diagnostics];
  if (hasErrors(diagnostics)) return { ok: false, ir: null, hash: null, diagnostics: all };
  const ir = lowerPolicy(ast, metricUnits);
  return { ok: true, ir, hash: policyHash(ir), diagnostics: all };
}

export { buildRuleSet, type RuleSet } from './ruleset.ts';
