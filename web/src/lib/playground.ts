// The playground's checks, all in the browser with the same pure policy front end the
// server uses (src/policy): diagnostics, the formatter and the policy's own `test` blocks.
import { analyzePolicy } from '../../../src/policy/analyze.ts';
import { buildRuleSet } from '../../../src/policy/compile/index.ts';
import { type Diagnostic, hasErrors } from '../../../src/policy/diagnostics.ts';
import { runPolicyTests, type TestReport } from '../../../src/policy/evaluate/tests.ts';
import { formatPolicy } from '../../../src/policy/format.ts';
import { parsePolicy } from '../../../src/policy/parse.ts';

export type PlaygroundResult = {
  diagnostics: Diagnostic[];
  /** null while there are errors */
  tests: TestReport | null;
  hash: string | null;
  /** why the tests could not run */
  testsError: string | null;
};

export function checkPolicyText(text: string): PlaygroundResult {
  const analysis = analyzePolicy(text);
  if (!analysis.ir || hasErrors(analysis.diagnostics)) {
    return { diagnostics: analysis.diagnostics, tests: null, hash: null, testsError: null };
  }
  try {
    const tests = runPolicyTests(analysis.ast, buildRuleSet(analysis.ir));
    return { diagnostics: analysis.diagnostics, tests, hash: analysis.hash, testsError: null };
  } catch (error) {
    return {
      diagnostics: analysis.diagnostics,
      tests: null,
      hash: analysis.hash,
      testsError: (error as Error).message,
    };
  }
}

/** The canonical layout, or null when syntax errors would make formatting lose text. */
export function formatPolicyText(text: string): string | null {
  const { ast, diagnostics } = parsePolicy(text);
  if (hasErrors(diagnostics)) return null;
  return formatPolicy(ast);
}
