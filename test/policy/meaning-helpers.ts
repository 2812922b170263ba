// Shared helpers for the checker, compiler and evaluator tests: policy text in, results out.
import { readFileSync } from 'node:fs';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { buildRuleSet, compilePolicy } from '../../src/policy/compile/index.ts';
import type { Diagnostic } from '../../src/policy/diagnostics.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

/** The language sketch from DESIGN.md, used as a known-good base for broken variants. */
export const BASE = readFileSync(new URL('../fixtures/sketch.policy', import.meta.url), 'utf8');

export function compileText(text: string) {
  const { ast, diagnostics } = parsePolicy(text, 'test.policy');
  return { ast, ...compilePolicy(ast, diagnostics) };
}

export function ruleSetOf(text: string) {
  const c = compileText(text);
  if (!c.ok) throw new Error(c.diagnostics.map(show).join('\n'));
  return buildRuleSet(c.ir);
}

export function show(d: Diagnostic): string {
  return `${d.range.start.line}:${d.range.start.column} ${d.severity} ${d.code} ${d.message}`;
}

/** 1-based line:column of the n-th occurrence of `needle` (n from 0). */
export function at(text: string, needle: string, n = 0): string {
  let offset = -1;
  for (let i = 0; i <= n; i++) {
    offset = text.indexOf(needle, offset + 1);
    if (offset < 0) throw new Error(`not found: ${needle}`);
  }
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/** Diagnostics with a given code, as "line:col" strings. */
export function where(diagnostics: Diagnostic[], code: string): string[] {
  return diagnostics
    .filter((d) => d.code === code)
    .map((d) => `${d.range.start.line}:${d.range.start.column}`);
}

/** One side of a semantic diff: the policy's AST and IR (it must compile). */
export function diffSide(text: string) {
  const a = analyzePolicy(text);
  if (!a.ir) throw new Error(a.diagnostics.map(show).join('\n'));
  return { ast: a.ast, ir: a.ir };
}
