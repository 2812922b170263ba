// One entry point for "what is wrong with this policy text": syntax now; the checker's
// name, unit and structure diagnostics join here (issue 3).
import type { PolicyFile } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { parsePolicy } from './parse.ts';

export type Analysis = { ast: PolicyFile; diagnostics: Diagnostic[] };

export function analyzePolicy(text: string, file?: string): Analysis {
  return parsePolicy(text, file);
}
