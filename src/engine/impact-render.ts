// Renderers for an impact report: text for a terminal, JSON for tools, Markdown for the
// quarterly review document. Every number comes from the report; nothing is recomputed.

import type { BoardImpact, Identity, ImpactReport } from './impact.ts';
import {
  type Chart,
  consequenceHeadlines,
  type Inline,
  money,
  reviewDocument,
  sideText,
  signed,
  TAU_EXPLAINED,
  type Table,
  unpricedWarnings,
  windowText,
} from './impact-document.ts';
import { renderImpactHtml } from './impact-html.ts';

export const IMPACT_FORMATS = ['text', 'json', 'markdown', 'html'] as const;
export type ImpactFormat = (typeof IMPACT_FORMATS)[number];

const who = (i: Identity) => i.id;
const tier = (t: string | null) => t ?? '(none)';
const band = (b: { band: string; percent: number } | null) =>
  b ? `${b.band} (${b.percent}%)` : '(none)';
const step = (s: { trigger: string; threshold: number }) => `${s.trigger} ${s.threshold}%`;
const plain = (text: Inline) => text.map((p) => (typeof p === 'string' ? p : p.strong)).join('');

function headline(r: ImpactReport): string[] {
  return [
    windowText(r),
    `${r.population.people} people and ${r.population.teams} teams; identities ${r.identities}`,
  ];
}

function boardSummary(b: BoardImpact): string {
  const tau = b.kendallTau === null ? 'n/a' : b.kendallTau.toFixed(3);
  return `ranked ${b.ranked.before} → ${b.ranked.after} (${b.ranked.both} under both); top ${b.top.before ?? '-'} → ${b.top.after ?? '-'}: ${b.counts.entering} entering, ${b.counts.leaving} leaving, ${b.counts.moved} change rank; Kendall tau-b ${tau}`;
}

export function renderImpactText(r: ImpactReport): string {
  const out = [`policy impact: ${sideText(r.from)} → ${sideText(r.to)}`];
  if (!r.hasData) return `${[...out, r.message ?? 'no usage in window'].join('\n')}\n`;
  out.push(...headline(r), '');
  for (const line of consequenceHeadlines(r)) out.push(plain(line));
  for (const line of unpricedWarnings(r)) out.push(`warning: ${plain(line)}`);
  out.push('', `tiers: ${r.tiers.changed} people change tier`);
  for (const t of r.tiers.transitions) out.push(`  ${tier(t.from)} → ${tier(t.to)}: ${t.count}`);
  for (const p of r.tiers.people) out.push(`    ${who(p.person)}: ${tier(p.from)} → ${tier(p.to)}`);
  const groups = (label: string, list: ImpactReport['groups']['byTeam']) => {
    const changed = list.filter((g) => g.tierChanges !== 0);
    if (changed.length === 0) return;
    out.push('', `by ${label} (people, tier changes, newly blocked):`);
    for (const g of changed)
      out.push(
        `  ${g.key}: ${g.people}, ${g.tierChanges ?? 'withheld'}, ${g.newly.block ?? 'withheld'}`,
      );
  };
  groups('team', r.groups.byTeam);
  groups('role', r.groups.byRole);
  out.push('', 'escalation steps (subjects at which each step fires):');
  for (const s of r.escalations) {
    out.push(`  ${s.ladder} ${step(s)}: ${s.before} → ${s.after} (${signed(s.delta)})`);
  }
  out.push('', 'rules (people for whom each rule fires):');
  for (const x of r.rules) out.push(`  ${x.rule}: ${x.before} → ${x.after} (${signed(x.delta)})`);
  if (r.badges.length > 0) {
    out.push('', 'badges (subjects who earn each):');
    for (const x of r.badges)
      out.push(
        `  ${x.badge}: ${x.before} → ${x.after} (${x.newly} newly, ${x.noLonger} no longer)`,
      );
  }
  out.push('', `budgets: ${r.budgets.count} of ${r.budgets.evaluated} budget states change band`);
  for (const f of r.budgets.flips) {
    out.push(
      `  ${f.subject.kind} ${who(f.subject)} [${f.budget}]: ${band(f.before)} → ${band(f.after)}`,
    );
  }
  if (r.requestLimits) {
    const q = r.requestLimits;
    out.push(
      '',
      `request limits (of ${q.requests} requests): warned ${q.before.warned} → ${q.after.warned}, blocked ${q.before.blocked} → ${q.after.blocked}`,
    );
    for (const c of q.classes)
      out.push(
        `  ${c.modelClass} (${c.requests} requests): warned ${c.before.warned} → ${c.after.warned}, blocked ${c.before.blocked} → ${c.after.blocked}`,
      );
  }
  for (const b of r.leaderboards) {
    out.push(
      '',
      `note: ${TAU_EXPLAINED}`,
      `leaderboard ${b.name} (${b.presentIn === 'both' ? 'in both' : `only in ${b.presentIn}`}): ${boardSummary(b)}`,
    );
    for (const e of b.entering)
      out.push(`  + ${who(e.subject)} enters at #${e.rank}${e.cohort ? ` in ${e.cohort}` : ''}`);
    for (const e of b.leaving)
      out.push(
        `  - ${who(e.subject)} leaves (was #${e.rank}${e.cohort ? ` in ${e.cohort}` : ' on the whole board'})`,
      );
    for (const m of b.largestMoves.slice(0, 10)) {
      out.push(
        `  ${m.move > 0 ? '↑' : '↓'} ${who(m.subject)}: #${m.before.rank} → #${m.after.rank} (${signed(m.move)})`,
      );
    }
  }
  if (r.cost) {
    const c = r.cost;
    out.push(
      '',
      `cost (${c.currency}, recomputed from token sums): ${money(c.total.before)} → ${money(c.total.after)} (${money(c.total.delta)})`,
    );
    for (const m of c.byModel)
      out.push(`  ${m.key}: ${money(m.before)} → ${money(m.after)} (${money(m.delta)})`);
    if (c.byTeam.length) out.push('  teams moving most:');
    for (const t of c.byTeam)
      out.push(`    ${t.key}: ${money(t.before)} → ${money(t.after)} (${money(t.delta)})`);
  }
  out.push('', ...r.notes.map((n) => `note: ${n}`));
  return `${out.join('\n')}\n`;
}

/** Escapes text for Markdown, tables included: `|` and the inline markup characters. */
export function markdownText(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

const inlineMarkdown = (text: Inline) =>
  text
    .map((part) =>
      typeof part === 'string' ? markdownText(part) : `**${markdownText(part.strong)}**`,
    )
    .join('');

/** Mermaid labels are quoted; quotes and markup inside become entities. */
const mermaidLabel = (text: string) =>
  `"${text.replace(/["#]/g, (c) => (c === '"' ? '#quot;' : '#35;'))}"`;

function mermaid(chart: Chart): string[] {
  if (chart.kind === 'flow') {
    const ids = new Map<string, string>();
    const id = (side: 'a' | 'b', name: string) => {
      const key = `${side}\u0000${name}`;
      if (!ids.has(key)) ids.set(key, `${side}${ids.size}`);
      return ids.get(key) as string;
    };
    const lines = ['flowchart LR'];
    for (const e of chart.edges) {
      lines.push(
        `  ${id('a', e.from)}[${mermaidLabel(`${e.from} (before)`)}] -->|${e.count}| ${id('b', e.to)}[${mermaidLabel(`${e.to} (after)`)}]`,
      );
    }
    return ['```mermaid', ...lines, '```'];
  }
  if (chart.kind === 'bars') {
    const values = (v: (number | null)[]) => `[${v.map((n) => n ?? 0).join(', ')}]`;
    const max = Math.max(1, ...chart.series.flatMap((x) => x.values.map((n) => n ?? 0)));
    const lines = [
      'xychart-beta',
      `  title ${mermaidLabel(`${chart.title} (${chart.series.map((x, i) => `${x.name}: ${i === 0 ? 'line' : 'bars'}`).join(', ')})`)}`,
      `  x-axis [${chart.categories.map(mermaidLabel).join(', ')}]`,
      `  y-axis ${mermaidLabel(chart.yLabel)} 0 --> ${Math.ceil(max * 1.1)}`,
    ];
    // the newer version as bars, the older as a line over them
    const [before, ...rest] = chart.series;
    for (const x of rest) lines.push(`  bar ${values(x.values)}`);
    if (before) lines.push(`  line ${values(before.values)}`);
    return ['```mermaid', ...lines, '```'];
  }
  const lines = ['xychart-beta', `  title ${mermaidLabel(chart.title)}`];
  lines.push(`  x-axis [${chart.items.map((i) => mermaidLabel(i.label)).join(', ')}]`);
  lines.push(`  y-axis ${mermaidLabel('rank (before: line, after: bars)')}`);
  lines.push(`  bar [${chart.items.map((i) => i.after).join(', ')}]`);
  lines.push(`  line [${chart.items.map((i) => i.before).join(', ')}]`);
  return ['```mermaid', ...lines, '```'];
}

function markdownTable(t: Table): string[] {
  return [
    `| ${t.head.map(markdownText).join(' | ')} |`,
    `|${t.numeric.map((n) => (n ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((row) => `| ${row.map(markdownText).join(' | ')} |`),
  ];
}

export function renderImpactMarkdown(r: ImpactReport): string {
  const doc = reviewDocument(r);
  const out = [`# ${markdownText(doc.title)}`, ''];
  out.push(...doc.intro.map((line) => `${inlineMarkdown(line)}  `));
  for (const section of doc.sections) {
    out.push('', `## ${markdownText(section.title)}`);
    for (const block of section.blocks) {
      out.push('');
      if (block.kind === 'paragraph') out.push(inlineMarkdown(block.text));
      else if (block.kind === 'warning') out.push(`> **Warning:** ${inlineMarkdown(block.text)}`);
      else if (block.kind === 'list') out.push(...block.items.map((i) => `- ${inlineMarkdown(i)}`));
      else if (block.kind === 'table') out.push(...markdownTable(block.table));
      else out.push(...mermaid(block.chart));
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderImpact(r: ImpactReport, format: ImpactFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (format === 'markdown') return renderImpactMarkdown(r);
  if (format === 'html') return renderImpactHtml(r);
  return renderImpactText(r);
}
