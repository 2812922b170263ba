// `quotient policy check` and `quotient policy fmt`.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { analyzePolicy } from '../policy/analyze.ts';
import { codes, type Diagnostic, hasErrors } from '../policy/diagnostics.ts';
import { formatPolicy } from '../policy/format.ts';
import { parsePolicy } from '../policy/parse.ts';
import { toGithubAnnotations, toSarif } from './ci-formats.ts';
import { expandPolicyPaths, formatOption, readInput, STDIN_NAME } from './output.ts';
import { quotientVersion } from './program.ts';

/** Exit codes: 0 clean, 1 problems found, 2 usage errors (missing file, bad option). */
const EXIT_USAGE = 2;

type Source = { file: string; text: string };

/** Reads every file, or reports the unreadable ones and exits 2 before doing any work. */
function readSources(files: string[]): Source[] {
  const sources: Source[] = [];
  let failed = false;
  for (const file of expandPolicyPaths(files)) {
    if (file === '-') {
      sources.push({ file: STDIN_NAME, text: readInput('-') });
      continue;
    }
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' ? 'no such file' : ((error as Error).message ?? String(error));
      console.error(`quotient: cannot read ${file}: ${reason}`);
      failed = true;
    }
  }
  if (failed) process.exit(EXIT_USAGE);
  return sources;
}

/** The analysis's diagnostics; a crash inside the checker becomes one, never a stack trace. */
function safeAnalyze(text: string, file: string): Diagnostic[] {
  try {
    return analyzePolicy(text, file).diagnostics;
  } catch (error) {
    const at = { line: 1, column: 1, offset: 0 };
    return [
      {
        severity: 'error',
        code: codes.internalParserError,
        message: `internal error while checking this file: ${(error as Error)?.message ?? String(error)}`,
        range: { start: at, end: at },
        hint: 'this is a bug in quotient; please report it with the file',
        file,
      },
    ];
  }
}

/** Text output stops after this many problems per file; `--format json` lists them all. */
const MAX_SHOWN = 100;

/** Prints a file's diagnostics, at most MAX_SHOWN of them. */
function printDiagnostics(
  diagnostics: readonly Diagnostic[],
  text: string,
  file: string,
  print: (line: string) => void,
): void {
  if (diagnostics.length === 0) return;
  const lines = text.split(/\r\n|\r|\n/);
  for (const d of diagnostics.slice(0, MAX_SHOWN)) print(renderDiagnostic(d, lines, file));
  if (diagnostics.length > MAX_SHOWN) {
    print(
      `${file}: ${diagnostics.length - MAX_SHOWN} more problems not shown (--format json lists all)`,
    );
  }
}

/** `file:line:col: error CODE: message`, the source line, a caret under the span, a hint. */
export function renderDiagnostic(
  d: Diagnostic,
  /** the file's text, or its lines already split (faster when rendering many) */
  source: string | readonly string[],
  file: string,
): string {
  const lines = typeof source === 'string' ? source.split(/\r\n|\r|\n/) : source;
  const { line, column } = d.range.start;
  const out = [`${file}:${line}:${column}: ${d.severity} ${d.code}: ${d.message}`];
  const sourceLine = lines[line - 1];
  if (sourceLine !== undefined) {
    const width =
      d.range.end.line === line
        ? Math.max(1, d.range.end.column - column)
        : Math.max(1, sourceLine.length - column + 1);
    // keep tabs so the caret lines up under tab-indented text
    const pad = sourceLine.slice(0, column - 1).replace(/[^\t]/g, ' ');
    out.push(`  ${sourceLine.replace(/\s+$/, '')}`);
    out.push(`  ${pad}${'^'.repeat(width)}`);
  }
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}

function summary(errors: number, warnings: number, files: number): string {
  return errors + warnings > 0
    ? `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`
    : `${files} file${files === 1 ? '' : 's'} checked, no problems`;
}

export function registerPolicyCheckCommands(policyGroup: Command): void {
  policyGroup
    .command('check')
    .description('report syntax and meaning errors in policy files, with line and column')
    .argument('<files...>', '.policy files or directories to check ("-" reads standard input)')
    .addOption(
      formatOption(
        ['text', 'json', 'sarif', 'github'],
        'text',
        'output format: text, json, sarif (SARIF 2.1.0) or github (Actions annotations)',
      ),
    )
    .action((files: string[], options: { format: 'text' | 'json' | 'sarif' | 'github' }) => {
      const sources = readSources(files);
      let errors = 0;
      let warnings = 0;
      const report: { file: string; diagnostics: Diagnostic[] }[] = [];
      for (const { file, text } of sources) {
        const diagnostics = safeAnalyze(text, file);
        errors += diagnostics.filter((d) => d.severity === 'error').length;
        warnings += diagnostics.filter((d) => d.severity === 'warning').length;
        report.push({ file, diagnostics });
        if (options.format === 'text') printDiagnostics(diagnostics, text, file, console.log);
      }
      if (options.format === 'json') {
        console.log(JSON.stringify({ files: report, errors, warnings }, null, 2));
      } else if (options.format === 'sarif') {
        console.log(JSON.stringify(toSarif(report, quotientVersion()), null, 2));
      } else if (options.format === 'github') {
        for (const line of toGithubAnnotations(report)) console.log(line);
        console.log(summary(errors, warnings, sources.length));
      } else {
        console.log(summary(errors, warnings, sources.length));
      }
      process.exitCode = errors > 0 ? 1 : 0;
    });

  policyGroup
    .command('fmt')
    .description('print policy files in canonical layout (comments kept)')
    .argument('<files...>', '.policy files or directories to format ("-" reads standard input)')
    .option('--check', 'list files whose layout is not canonical; exit 1 if any')
    .option('--diff', 'print a unified diff to the canonical layout; exit 1 if any')
    .option('--write', 'rewrite files in place')
    .action((files: string[], options: { check?: boolean; diff?: boolean; write?: boolean }) => {
      const modes = [options.check, options.diff, options.write].filter(Boolean).length;
      if (modes > 1) {
        console.error('quotient: use one of --check, --diff or --write');
        process.exit(EXIT_USAGE);
      }
      if (options.write && files.includes('-')) {
        console.error('quotient: --write cannot rewrite standard input; leave it out to print');
        process.exit(EXIT_USAGE);
      }
      const sources = readSources(files);
      let broken = 0;
      let changed = 0;
      for (const { file, text } of sources) {
        const { ast, diagnostics } = parsePolicy(text, file);
        if (hasErrors(diagnostics)) {
          // never rewrite what we could not fully read: the output would lose text
          broken++;
          printDiagnostics(diagnostics, text, file, console.error);
          console.error(`${file}: not formatted, fix the syntax errors first`);
          continue;
        }
        const formatted = formatPolicy(ast);
        if (options.check) {
          if (formatted !== text) {
            changed++;
            console.log(file);
          }
        } else if (options.diff) {
          if (formatted !== text) {
            changed++;
            process.stdout.write(
              createTwoFilesPatch(file, file, text, formatted, 'as written', 'formatted', {
                headerOptions: FILE_HEADERS_ONLY,
              }),
            );
          }
        } else if (options.write) {
          if (formatted !== text) {
            writeFileSync(file, formatted);
            changed++;
            console.log(`formatted ${file}`);
          }
        } else {
          process.stdout.write(formatted);
        }
      }
      process.exitCode = broken > 0 || ((options.check || options.diff) && changed > 0) ? 1 : 0;
    });
}
