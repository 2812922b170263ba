// Renderers for a policy diff: readable text for a terminal, JSON for tools, and Markdown
// for the quarterly review document.
import { diffLines } from 'diff';
import {
  type Change,
  CONSTRUCTS,
  type PolicyDiff,
  type PolicySide,
  semanticChangeCount,
} from './compute.ts';

/**
 * The lines of a declaration that differ, `-` before and `+` after: a one-line change
 * inside a block shows that line, not the block. Unchanged lines are left out.
 */
export function changedLines(before: string | null, after: string | null): string[] {
  const out: string[] = [];
  for (const part of diffLines(before ?? '', after ?? '', { ignoreWhitespace: false })) {
    if (!part.added && !part.removed) continue;
    const sign = part.added ? '+' : '-';
    for (const line of part.value.split('\n').filter((l) => l.trim() !== ''))
      out.push(`${sign} ${line}`);
  }
  return out;
}

export const DIFF_FORMATS = ['text', 'json', 'markdown'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

const SIGN: Record<Change['kind'], string> = { added: '+', removed: '-', changed: '~', moved: '↕' };

function sideText(s: PolicySide): string {
  const label = [s.name, s.version].filter(Boolean).join(' ');
  return `${label || '(unnamed)'} [${s.hash.slice(0, 12)}]`;
}

function grouped(diff: PolicyDiff): [string, Change[]][] {
  return CONSTRUCTS.map((c): [string, Change[]] => [
    c,
    diff.changes.filter((x) => x.construct === c),
  ]).filter(([, list]) => list.length > 0);
}

function summaryLine(diff: PolicyDiff): string {
  const n = semanticChangeCount(diff);
  if (n === 0) return 'no semantic change';
  const parts = Object.entries(diff.counts).map(([c, k]) => `${c} ${k}`);
  return `${n} semantic change${n === 1 ? '' : 's'} (${parts.join(', ')})`;
}

export function renderDiffText(diff: PolicyDiff): string {
  const out: string[] = [
    `policy diff: ${sideText(diff.from)} → ${sideText(diff.to)}`,
    summaryLine(diff),
  ];
  for (const [construct, changes] of grouped(diff)) {
    out.push('', `${construct}:`);
    if (construct === 'assignments' && diff.assignmentOrder) {
      out.push('  order (first match wins):');
      out.push(...diff.assignmentOrder.before.map((l, i) => `      - ${i + 1}. ${l}`));
      out.push(...diff.assignmentOrder.after.map((l, i) => `      + ${i + 1}. ${l}`));
    }
    for (const c of changes) {
      out.push(
        `  ${SIGN[c.kind]} ${c.subject} ${c.kind}${c.semantic ? '' : ' (label only, not meaning)'}`,
      );
      const detailed = c.fields.length > 0;
      for (const f of c.fields) {
        if (f.field === 'action' && c.construct === 'escalations') continue;
        out.push(`      ${f.field}: ${f.before ?? '(none)'}  →  ${f.after ?? '(none)'}`);
        for (const s of f.subexpressions ?? [])
          out.push(`        changed: ${s.before}  →  ${s.after}`);
      }
      if (c.affects) out.push(`      affects: ${c.affects.join(', ')}`);
      if (!detailed || c.construct === 'escalations')
        for (const line of changedLines(c.before, c.after)) out.push(`      ${line}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderDiffJson(diff: PolicyDiff): string {
  return `${JSON.stringify({ ...diff, semanticChanges: semanticChangeCount(diff) }, null, 2)}\n`;
}

/** A table cell in code: a `|` would end the cell even inside backticks, so it is escaped. */
const code = (s: string | null) =>
  s === null ? '_(none)_' : `\`${s.replaceAll('`', "'").replaceAll('|', '\\|')}\``;

export function renderDiffMarkdown(diff: PolicyDiff): string {
  const out: string[] = [
    `# Policy review: ${sideText(diff.from)} → ${sideText(diff.to)}`,
    '',
    `**${summaryLine(diff)}.**`,
  ];
  const groups = grouped(diff);
  if (groups.length > 0) {
    out.push('', '| construct | added | removed | changed | moved |', '|---|---:|---:|---:|---:|');
    for (const [construct, changes] of groups) {
      const n = (k: Change['kind']) => changes.filter((c) => c.kind === k).length;
      out.push(
        `| ${construct} | ${n('added')} | ${n('removed')} | ${n('changed')} | ${n('moved')} |`,
      );
    }
  }
  for (const [construct, changes] of groups) {
    out.push('', `## ${construct[0].toUpperCase()}${construct.slice(1)}`);
    if (construct === 'assignments' && diff.assignmentOrder) {
      out.push(
        '',
        'The first matching rule wins, so order is meaning. Before and after:',
        '',
        '```diff',
      );
      out.push(...diff.assignmentOrder.before.map((l) => `- ${l}`));
      out.push(...diff.assignmentOrder.after.map((l) => `+ ${l}`));
      out.push('```');
    }
    for (const c of changes) {
      out.push(
        '',
        `### ${SIGN[c.kind]} ${c.subject}: ${c.kind}${c.semantic ? '' : ' (label only)'}`,
      );
      if (c.fields.length > 0) {
        out.push('', '| field | before | after |', '|---|---|---|');
        for (const f of c.fields) {
          out.push(`| ${f.field} | ${code(f.before)} | ${code(f.after)} |`.replaceAll('\n', ' '));
        }
        const subs = c.fields.flatMap((f) =>
          (f.subexpressions ?? []).map((s) => ({ f: f.field, ...s })),
        );
        if (subs.length > 0) {
          out.push('', 'Changed sub-expressions:', '');
          for (const s of subs) out.push(`- in ${s.f}: ${code(s.before)} → ${code(s.after)}`);
        }
      }
      if (c.affects) out.push('', `Affects: ${c.affects.join(', ')}.`);
      out.push('', '```diff', ...changedLines(c.before, c.after), '```');
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderDiff(diff: PolicyDiff, format: DiffFormat): string {
  if (format === 'json') return renderDiffJson(diff);
  if (format === 'markdown') return renderDiffMarkdown(diff);
  return renderDiffText(diff);
}
