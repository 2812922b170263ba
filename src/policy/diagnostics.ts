import type { Range } from './ast.ts';

export type Severity = 'error' | 'warning' | 'info';

/**
 * A problem found in a policy. `code` is stable across releases (tools and docs key on it):
 * Q1xxx lexing, Q2xxx syntax, Q3xxx names, Q4xxx units and types, Q5xxx structure
 * (cycles, thresholds, reachability), Q6xxx runtime hazards (division by zero).
 */
export type Diagnostic = {
  severity: Severity;
  code: string;
  message: string;
  range: Range;
  hint?: string;
  file?: string;
};

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) =>
      a.range.start.offset - b.range.start.offset ||
      a.range.end.offset - b.range.end.offset ||
      a.code.localeCompare(b.code),
  );
}
