// `quotient policy compile | eval | test`: the policy's meaning from the command line.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { buildRuleSet, compilePolicy } from '../policy/compile/index.ts';
import type { Diagnostic } from '../policy/diagnostics.ts';
import { evaluationText } from '../policy/evaluate/explain-text.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import { runPolicyTests } from '../policy/evaluate/tests.ts';
import { canonicalJson } from '../policy/ir.ts';
import { parsePolicy } from '../policy/parse.ts';
import { type JunitSuite, toJunit } from './ci-formats.ts';
import {
  displayName,
  expandPolicyPaths,
  formatOption,
  legacyJsonOption,
  readInput,
  wantsJson,
} from './output.ts';

class UsageError extends Error {}

function readText(file: string): string {
  try {
    return readInput(file);
  } catch (e) {
    throw new UsageError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function printDiagnostics(file: string, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    const hint = d.hint ? `\n  hint: ${d.hint}` : '';
    process.stderr.write(
      `${file}:${d.range.start.line}:${d.range.start.column}: ${d.severity} ${d.code}: ${d.message}${hint}\n`,
    );
  }
}

function compileFile(file: string) {
  const text = readText(file);
  const { ast, diagnostics, recovery } = parsePolicy(text, displayName(file));
  return { ast, result: compilePolicy(ast, diagnostics, recovery) };
}

/** Run an action; usage errors exit 2, other failures exit 1 with a message, no stack. */
function guarded<A extends unknown[]>(fn: (...args: A) => number): (...args: A) => void {
  return (...args: A) => {
    try {
      process.exitCode = fn(...args);
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
  };
}

function policyFiles(paths: string[]): string[] {
  const files = expandPolicyPaths(paths);
  const missing = files.find((f) => f !== '-' && !existsSync(f));
  if (missing) throw new UsageError(`no such file or directory: ${missing}`);
  return files;
}

export function registerPolicyEvalCommands(policy: Command): void {
  policy
    .command('compile <file>')
    .description('check and compile a policy; print its rule-set IR and identity hash')
    .addOption(
      formatOption(['text', 'json'], 'text', 'text, or json: one object { hash, ir, diagnostics }'),
    )
    .addOption(legacyJsonOption())
    .action(
      guarded((file: string, opts: { format: string; json?: boolean }) => {
        const { result } = compileFile(file);
        if (wantsJson(opts)) {
          process.stdout.write(
            `${JSON.stringify({ hash: result.hash, ir: result.ir, diagnostics: result.diagnostics }, null, 2)}\n`,
          );
          return result.ok ? 0 : 1;
        }
        printDiagnostics(displayName(file), result.diagnostics);
        if (!result.ok) return 1;
        process.stdout.write(`hash ${result.hash}\n`);
        process.stdout.write(`${JSON.stringify(JSON.parse(canonicalJson(result.ir)), null, 2)}\n`);
        return 0;
      }),
    );

  policy
    .command('eval <file>')
    .description('evaluate a policy against subjects and facts; print the explained results')
    .requiredOption(
      '--facts <file>',
      'JSON file ("-" for stdin): { "now"?: ISO time, "subjects": [...], "org"?: { "facts": {...} } }',
    )
    .option('--now <iso>', 'evaluation clock (overrides "now" in the facts file)')
    .addOption(
      formatOption(
        ['json', 'text'],
        'json',
        'json (every field, for tools), or text: each subject explained in sentences',
      ),
    )
    .action(
      guarded((file: string, opts: { facts: string; now?: string; format: 'json' | 'text' }) => {
        const { result } = compileFile(file);
        printDiagnostics(file, result.diagnostics);
        if (!result.ok) return 1;
        let input: unknown;
        try {
          input = JSON.parse(readText(opts.facts));
        } catch (e) {
          if (e instanceof UsageError) throw e;
          throw new UsageError(`${opts.facts} is not valid JSON: ${(e as Error).message}`);
        }
        if (
          !input ||
          typeof input !== 'object' ||
          !Array.isArray((input as { subjects?: unknown }).subjects)
        ) {
          throw new UsageError(`${opts.facts}: expected an object with a "subjects" array`);
        }
        const data = input as {
          now?: unknown;
          subjects: unknown[];
          org?: { facts: Record<string, Record<string, number>> };
        };
        const now = opts.now ?? data.now;
        if (typeof now !== 'string' || !Number.isFinite(new Date(now).getTime())) {
          throw new UsageError(
            now === undefined
              ? 'no clock: pass --now <iso> or put "now" in the facts file'
              : `not a valid time: ${String(now)}`,
          );
        }
        const out = evaluate(buildRuleSet(result.ir), {
          now,
          subjects: data.subjects as never,
          org: data.org,
        });
        process.stdout.write(
          opts.format === 'text' ? evaluationText(out) : `${JSON.stringify(out, null, 2)}\n`,
        );
        for (const e of out.errors)
          process.stderr.write(`${opts.facts}: subject ${e.subject}: ${e.field}: ${e.message}\n`);
        return out.errors.length > 0 ? 1 : 0;
      }),
    );

  policy
    .command('test [paths...]')
    .description('run the test blocks of policy files (directories are searched for *.policy)')
    .option(
      '--coverage',
      'list metrics, rules, tiers, escalation steps, leaderboards no test exercised',
    )
    .option('--run <pattern>', 'run only the tests whose name matches this regular expression')
    .addOption(
      formatOption(['text', 'json', 'junit'], 'text', 'output format: text, json or junit (XML)'),
    )
    .action(
      guarded(
        (
          paths: string[],
          opts: { coverage?: boolean; run?: string; format: 'text' | 'json' | 'junit' },
        ) => {
          let only: RegExp | undefined;
          try {
            only = opts.run === undefined ? undefined : new RegExp(opts.run);
          } catch (e) {
            throw new UsageError(`--run: not a regular expression: ${(e as Error).message}`);
          }
          const files = policyFiles(paths.length ? paths : ['policies']);
          const text = opts.format === 'text';
          const out = (line: string) => {
            if (text) process.stdout.write(`${line}\n`);
          };
          let passed = 0;
          let failed = 0;
          const gaps: string[] = [];
          const suites: (JunitSuite & { uncovered?: Record<string, string[]> })[] = [];
          for (const file of files) {
            const name = displayName(file);
            const { ast, result } = compileFile(file);
            if (!result.ok) {
              if (text) printDiagnostics(name, result.diagnostics);
              out(`FAIL ${name}: does not compile`);
              const errors = result.diagnostics.filter((d) => d.severity === 'error');
              suites.push({
                name,
                cases: [],
                error: errors
                  .map(
                    (d) =>
                      `${name}:${d.range.start.line}:${d.range.start.column}: ${d.code}: ${d.message}`,
                  )
                  .join('\n'),
              });
              failed++;
              continue;
            }
            const report = runPolicyTests(ast, buildRuleSet(result.ir));
            const results = report.results.filter((r) => !only || only.test(r.name));
            for (const r of results) {
              out(`${r.passed ? 'ok  ' : 'FAIL'} ${name}: ${r.name}`);
              for (const f of r.failures) out(`       ${name}:${f}`);
            }
            passed += results.filter((r) => r.passed).length;
            failed += results.filter((r) => !r.passed).length;
            suites.push({
              name,
              cases: results.map((r) => ({
                name: r.name,
                failures: r.failures.map((f) => `${name}:${f}`),
              })),
              ...(opts.coverage ? { uncovered: report.uncovered } : {}),
            });
            if (opts.coverage) {
              const u = report.uncovered;
              const lines = Object.entries(u)
                .filter(([, items]) => items.length > 0)
                .map(([what, items]) => `  ${what}: ${items.join(', ')}`);
              gaps.push(
                lines.length
                  ? `${name}: not exercised by any test\n${lines.join('\n')}`
                  : `${name}: every construct exercised`,
              );
            }
          }
          if (opts.format === 'json') {
            const json = {
              files: suites.map((s) => ({
                file: s.name,
                ...(s.error ? { error: s.error } : {}),
                tests: s.cases.map((c) => ({
                  name: c.name,
                  passed: c.failures.length === 0,
                  failures: c.failures,
                })),
                ...(s.uncovered ? { uncovered: s.uncovered } : {}),
              })),
              passed,
              failed,
            };
            process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
          } else if (opts.format === 'junit') {
            process.stdout.write(toJunit(suites));
          } else {
            if (opts.coverage) process.stdout.write(`\ncoverage\n${gaps.join('\n')}\n\n`);
            process.stdout.write(`${passed} passed, ${failed} failed\n`);
          }
          if (only && passed + failed === 0) {
            process.stderr.write(`no test matches --run ${opts.run}\n`);
            return 1;
          }
          return failed > 0 ? 1 : 0;
        },
      ),
    );
}
