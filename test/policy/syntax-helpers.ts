// Shared by the front-end tests: reading the shipped policies and comparing ASTs
// "up to ranges".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyFile } from '../../src/policy/ast.ts';
import type { Diagnostic } from '../../src/policy/diagnostics.ts';

export const root = join(import.meta.dirname, '..', '..');

export function shippedPolicies(): { file: string; text: string }[] {
  const files = [
    ...readdirSync(join(root, 'policies')).map((f) => join('policies', f)),
    ...readdirSync(join(root, 'policies', 'examples')).map((f) => join('policies', 'examples', f)),
  ].filter((f) => f.endsWith('.policy'));
  return files.map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));
}

export function defaultPolicy(): string {
  return readFileSync(join(root, 'policies', 'default.policy'), 'utf8');
}

/** The AST without source ranges (and comments by text only). */
export function withoutRanges(ast: PolicyFile): unknown {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (k !== 'range' && !k.endsWith('Range')) out[k] = strip(v);
      }
      return out;
    }
    return value;
  };
  return {
    declarations: strip(ast.declarations),
    comments: ast.comments.map((c) => c.text.trimEnd()),
  };
}

/** Every diagnostic's range lies in the text, in order, with line/column matching offset. */
export function rangeProblems(text: string, diagnostics: Diagnostic[]): string[] {
  const problems: string[] = [];
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') lineStarts.push(i + 1);
    else if (c === '\r') {
      if (text[i + 1] === '\n') i++;
      lineStarts.push(i + 1);
    }
  }
  for (const d of diagnostics) {
    const { start, end } = d.range;
    for (const p of [start, end]) {
      if (!(p.offset >= 0 && p.offset <= text.length))
        problems.push(`${d.code}: offset ${p.offset} outside file`);
      const lineStart = lineStarts[p.line - 1];
      if (lineStart === undefined || p.offset - lineStart + 1 !== p.column) {
        problems.push(`${d.code}: ${p.line}:${p.column} does not match offset ${p.offset}`);
      }
    }
    if (end.offset < start.offset) problems.push(`${d.code}: range ends before it starts`);
  }
  return problems;
}
