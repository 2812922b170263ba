// What every command shares about input and output: `-` for standard input wherever a
// file is taken, and one `--format` flag (with `--json` kept, hidden, as `--format json`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';

/** The name a diagnostic or report gives text read from standard input. */
export const STDIN_NAME = '<stdin>';

let stdinText: string | undefined;

/** The text of a file, or of standard input for `-` (read once, however often asked). */
export function readInput(file: string): string {
  if (file !== '-') return readFileSync(file, 'utf8');
  stdinText ??= readFileSync(0, 'utf8');
  return stdinText;
}

/** The name to show for a file argument. */
export function displayName(file: string): string {
  return file === '-' ? STDIN_NAME : file;
}

/** `--format <format>` with its choices and default. */
export function formatOption<const F extends string>(
  choices: readonly F[],
  defaultValue: F,
  description = 'output format',
): Option {
  return new Option('--format <format>', description).choices(choices).default(defaultValue);
}

/** `--json`, the older spelling of `--format json`; hidden from help. */
export function legacyJsonOption(): Option {
  return new Option('--json', 'same as --format json').hideHelp();
}

/** True when the command should print JSON (`--format json`, or the older `--json`). */
export function wantsJson(flags: { format?: string; json?: boolean }): boolean {
  return flags.format === 'json' || flags.json === true;
}

/**
 * The paths with every directory replaced by the `*.policy` files under it, sorted; files,
 * `-` and paths that do not exist pass through for the caller to read or report.
 */
export function expandPolicyPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (path: string) => {
    const isDirectory = path !== '-' && statSync(path, { throwIfNoEntry: false })?.isDirectory();
    if (!isDirectory) {
      out.push(path);
      return;
    }
    for (const entry of readdirSync(path).sort()) {
      const child = join(path, entry);
      if (statSync(child).isDirectory() || entry.endsWith('.policy')) visit(child);
    }
  };
  for (const path of paths) visit(path);
  return out;
}
