// One entry point for "what is wrong with this policy text": syntax errors from the
// parser, then the checker's name, unit, structure and runtime-hazard diagnostics, and,
// when there are no errors, the compiled IR and its identity hash.
import type { PolicyFile } from './ast.ts';
import { compilePolicy } from './compile/index.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { RuleSetIR } from './ir.ts';
import { parsePolicy } from './parse.ts';

export type Analysis = {
  ast: PolicyFile;
  diagnostics: Diagnostic[];
  /** the rule-set IR, or null when there are errors */
  ir: RuleSetIR | null;
  /** the policy identity (SHA-256 of the canonical IR), or null when there are errors */
  hash: string | null;
};

export function analyzePolicy(text: string, file?: string): Analysis {
  const parsed = parsePolicy(text, file);
  const compiled = compilePolicy(parsed.ast, parsed.diagnostics, parsed.recovery);
  const diagnostics = file
    ? compiled.diagnostics.map((d) => (d.file ? d : { ...d, file }))
    : compiled.diagnostics;
  return { ast: parsed.ast, diagnostics, ir: compiled.ir, hash: compiled.hash };
}
