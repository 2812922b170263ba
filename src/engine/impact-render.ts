// Renderers for an impact report: text for a terminal, JSON for tools, Markdown for the
// quarterly review document. Every number comes from the report; nothing is recomputed.
import type { BoardImpact, Identity, ImpactReport, ImpactSide } from './impact.ts';

export const IMPACT_FORMATS = ['text', 'json', 'markdown'] as const;
export type ImpactFormat = (typeof IMPACT_FORMATS)[number];

const sideText = (s: ImpactSide) =>
  `${s.label} (${[s.name, s.version].filter(Boolean).join(' ')}, ${s.hash.slice(0, 12)})`;
const who = (i: Identity) => i.id;
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const tier = (t: string | null) => t ?? '(none)';
const money = (decimal: string) => {
  // 12-decimal exact strings → two decimals for reading (the JSON keeps every digit)
  const n = Number(decimal);
  return n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
};
const band = (b: { band: string; percent: number } | null) =>
  b ? `${b.band} (${b.percent}%)` : '(none)';
const step = (s: { trigger: string; threshold: number }) => `${s.trigger} ${s.threshold}%`;

function headline(r: ImpactReport): string[] {
  const w = r.window;
  return [
    `Window ${w.label} (${w.from} to ${w.to}, ${w.timezone}), evaluated at ${w.evaluatedAt}`,
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
  out.push(`tiers: ${r.tiers.changed} people change tier`);
  for (const t of r.tiers.transitions) out.push(`  ${tier(t.from)} → ${tier(t.to)}: ${t.count}`);
  for (const p of r.tiers.people) out.push(`    ${who(p.person)}: ${tier(p.from)} → ${tier(p.to)}`);
  out.push('', 'escalation steps (subjects at which each step fires):');
  for (const s of r.escalations) {
    out.push(`  ${s.ladder} ${step(s)}: ${s.before} → ${s.after} (${signed(s.delta)})`);
  }
  out.push('', 'rules (people for whom each rule fires):');
  for (const x of r.rules) out.push(`  ${x.rule}: ${x.before} → ${x.after} (${signed(x.delta)})`);
  out.push('', `budgets: ${r.budgets.count} of ${r.budgets.evaluated} budget states change band`);
  for (const f of r.budgets.flips) {
    out.push(
      `  ${f.subject.kind} ${who(f.subject)} [${f.budget}]: ${band(f.before)} → ${band(f.after)}`,
    );
  }
  for (const b of r.leaderboards) {
    out.push(
      '',
      `leaderboard ${b.name} (${b.presentIn === 'both' ? 'in both' : `only in ${b.presentIn}`}): ${boardSummary(b)}`,
    );
    for (const e of b.entering)
      out.push(`  + ${who(e.subject)} enters at #${e.rank}${e.cohort ? ` in ${e.cohort}` : ''}`);
    for (const e of b.leaving)
      out.push(`  - ${who(e.subject)} leaves (was #${e.rank}${e.cohort ? ` in ${e.cohort}` : ''})`);
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

export function renderImpactMarkdown(r: ImpactReport): string {
  const out = [`# Impact review: ${sideText(r.from)} → ${sideText(r.to)}`, ''];
  if (!r.hasData) return `${[...out, `**${r.message ?? 'no usage in window'}.**`].join('\n')}\n`;
  out.push(...headline(r).map((l) => `${l}.  `), '');
  // the summary a reviewer reads first
  const up = r.escalations.reduce((n, s) => n + Math.max(s.delta, 0), 0);
  const down = r.escalations.reduce((n, s) => n + Math.min(s.delta, 0), 0);
  out.push('## Summary', '');
  out.push(`- **${r.tiers.changed}** people change tier.`);
  out.push(`- Escalation steps firing: **${signed(up)}** more, **${down}** fewer.`);
  out.push(`- **${r.budgets.count}** budget states change band.`);
  for (const b of r.leaderboards) out.push(`- Leaderboard \`${b.name}\`: ${boardSummary(b)}.`);
  if (r.cost)
    out.push(
      `- Cost over the window: ${money(r.cost.total.before)} → ${money(r.cost.total.after)} ${r.cost.currency} (${money(r.cost.total.delta)}).`,
    );
  out.push('', '## Tiers', '');
  if (r.tiers.transitions.length === 0) out.push('No one changes tier.');
  else {
    out.push('| from | to | people |', '|---|---|---:|');
    for (const t of r.tiers.transitions)
      out.push(`| ${tier(t.from)} | ${tier(t.to)} | ${t.count} |`);
    const names = [
      ...new Set([...Object.keys(r.tiers.before), ...Object.keys(r.tiers.after)]),
    ].sort();
    out.push('', '| tier | before | after |', '|---|---:|---:|');
    for (const n of names)
      out.push(`| ${n} | ${r.tiers.before[n] ?? 0} | ${r.tiers.after[n] ?? 0} |`);
    if (r.tiers.people.length) {
      out.push(
        '',
        `People (first ${r.tiers.people.length} of ${r.tiers.changed}): ${r.tiers.people.map((p) => `${who(p.person)} (${tier(p.from)} → ${tier(p.to)})`).join(', ')}.`,
      );
    }
  }
  out.push(
    '',
    '## Escalation steps',
    '',
    'Subjects (people, teams, the organisation) at which each step would fire.',
    '',
  );
  out.push('| ladder | step | before | after | delta |', '|---|---|---:|---:|---:|');
  for (const s of r.escalations)
    out.push(`| ${s.ladder} | ${step(s)} | ${s.before} | ${s.after} | ${signed(s.delta)} |`);
  out.push(
    '',
    '## Rules',
    '',
    '| rule | severity | before | after | delta |',
    '|---|---|---:|---:|---:|',
  );
  for (const x of r.rules)
    out.push(`| ${x.rule} | ${x.severity ?? ''} | ${x.before} | ${x.after} | ${signed(x.delta)} |`);
  out.push(
    '',
    '## Budgets',
    '',
    `${r.budgets.count} of ${r.budgets.evaluated} budget states change band.`,
  );
  if (r.budgets.flips.length) {
    out.push('', '| subject | budget | before | after |', '|---|---|---|---|');
    for (const f of r.budgets.flips)
      out.push(
        `| ${f.subject.kind} ${who(f.subject)} | ${f.budget} | ${band(f.before)} | ${band(f.after)} |`,
      );
  }
  for (const b of r.leaderboards) {
    out.push('', `## Leaderboard \`${b.name}\``, '', `${boardSummary(b)}.`);
    if (b.entering.length) {
      const shown =
        b.entering.length < b.counts.entering
          ? ` (first ${b.entering.length} of ${b.counts.entering})`
          : '';
      out.push('', `| entering${shown} | cohort | rank | score |`, '|---|---|---:|---:|');
      for (const e of b.entering)
        out.push(`| ${who(e.subject)} | ${e.cohort ?? ''} | ${e.rank} | ${e.score} |`);
    }
    if (b.leaving.length) {
      const shown =
        b.leaving.length < b.counts.leaving
          ? ` (first ${b.leaving.length} of ${b.counts.leaving})`
          : '';
      out.push('', `| leaving${shown} | cohort | was rank | score |`, '|---|---|---:|---:|');
      for (const e of b.leaving)
        out.push(`| ${who(e.subject)} | ${e.cohort ?? ''} | ${e.rank} | ${e.score} |`);
    }
    if (b.largestMoves.length) {
      out.push('', '| largest moves | before | after | move |', '|---|---|---|---:|');
      for (const m of b.largestMoves.slice(0, 10)) {
        const at = (x: { rank: number; cohort: string | null }) =>
          `#${x.rank}${x.cohort ? ` (${x.cohort})` : ''}`;
        out.push(`| ${who(m.subject)} | ${at(m.before)} | ${at(m.after)} | ${signed(m.move)} |`);
      }
    }
  }
  if (r.cost) {
    const c = r.cost;
    out.push(
      '',
      '## Cost',
      '',
      `Recomputed from token sums under each version's prices (${c.currency}, exact).`,
      '',
    );
    out.push('| model | before | after | delta |', '|---|---:|---:|---:|');
    out.push(
      `| **total** | ${money(c.total.before)} | ${money(c.total.after)} | ${money(c.total.delta)} |`,
    );
    for (const m of c.byModel)
      out.push(`| ${m.key} | ${money(m.before)} | ${money(m.after)} | ${money(m.delta)} |`);
    if (c.byTeam.length) {
      out.push('', '| team | before | after | delta |', '|---|---:|---:|---:|');
      for (const t of c.byTeam)
        out.push(`| ${t.key} | ${money(t.before)} | ${money(t.after)} | ${money(t.delta)} |`);
    }
  }
  out.push('', '## How this was computed', '', ...r.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

export function renderImpact(r: ImpactReport, format: ImpactFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (format === 'markdown') return renderImpactMarkdown(r);
  return renderImpactText(r);
}
