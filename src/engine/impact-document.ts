// The review document of an impact report, independent of its markup: headlines by
// consequence, sections of tables and charts. impact-render.ts writes it as Markdown (with
// Mermaid charts) and impact-html.ts as HTML (with SVG charts), so both say the same thing.
// Every number comes from the report; nothing is recomputed.
import type {
  BoardImpact,
  Consequence,
  CostLine,
  GroupImpact,
  Identity,
  ImpactReport,
  ImpactSide,
} from './impact.ts';

/** The window, its clock and (when the replay stopped early, e.g. at closed days) its last day. */
export function windowText(r: ImpactReport): string {
  const w = r.window;
  const stopped = w.dataTo < w.to ? `, usage before ${w.dataTo}` : '';
  return `Window ${w.label} (${w.from} to ${w.to}, ${w.timezone}), evaluated at ${w.evaluatedAt}${stopped}`;
}

/** Inline text: plain strings, and strong (bold) parts. Renderers escape both. */
export type Inline = (string | { strong: string })[];

export type Table = {
  head: string[];
  /** right-aligned (numeric) columns */
  numeric: boolean[];
  rows: string[][];
};

export type Chart =
  | {
      kind: 'bars';
      title: string;
      categories: string[];
      series: { name: string; values: (number | null)[] }[];
      yLabel: string;
      /** vertical marks at a fractional category position (quota thresholds) */
      markers?: { at: number; label: string }[];
    }
  | { kind: 'flow'; title: string; edges: { from: string; to: string; count: number }[] }
  | {
      kind: 'slope';
      title: string;
      items: { label: string; before: number; after: number }[];
    };

export type Block =
  | { kind: 'paragraph'; text: Inline }
  | { kind: 'list'; items: Inline[] }
  | { kind: 'warning'; text: Inline }
  | { kind: 'table'; table: Table }
  | { kind: 'chart'; chart: Chart };

export type Section = { title: string; blocks: Block[] };

export type ReviewDocument = { title: string; intro: Inline[]; sections: Section[] };

export const sideText = (s: ImpactSide) =>
  `${s.label} (${[s.name, s.version].filter(Boolean).join(' ')}, ${s.hash.slice(0, 12)})`;
const who = (i: Identity) => i.id;
export const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const tier = (t: string | null) => t ?? '(none)';
const count = (n: number | null) => (n === null ? 'withheld' : String(n));
export function money(decimal: string): string {
  // 12-decimal exact strings → two decimals for reading (the JSON keeps every digit)
  return Number(decimal).toLocaleString('en-US', {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
}
const band = (b: { band: string; percent: number } | null) =>
  b ? `${b.band} (${b.percent}%)` : '(none)';
const step = (s: { trigger: string; threshold: number }) => `${s.trigger} ${s.threshold}%`;
const cohort = (c: string | null) => c ?? '(no cohort)';

/** How each consequence reads in a headline: "43 more people would be blocked". */
const CONSEQUENCE_TEXT: Record<Consequence, { verb: string; column: string }> = {
  block: { verb: 'be blocked', column: 'blocked' },
  require_approval: { verb: 'need approval', column: 'need approval' },
  require_justification: { verb: 'have to justify their use', column: 'justify' },
  notify: { verb: 'be notified', column: 'notified' },
};

const people = (n: number) => `${n} ${n === 1 ? 'person' : 'people'}`;

/** "43 more people would be blocked (2 no longer would)". */
export function consequenceHeadlines(r: ImpactReport): Inline[] {
  const out: Inline[] = [];
  for (const c of r.consequences) {
    if (c.newly === 0 && c.noLonger === 0) continue;
    const { verb } = CONSEQUENCE_TEXT[c.action];
    const parts: Inline = [];
    if (c.newly > 0)
      parts.push(
        { strong: `${c.newly} more ${c.newly === 1 ? 'person' : 'people'}` },
        ` would ${verb}`,
      );
    if (c.noLonger > 0)
      parts.push(
        c.newly > 0 ? ', and ' : '',
        { strong: `${people(c.noLonger)}` },
        ` would no longer ${verb}`,
      );
    parts.push(` (${c.before} → ${c.after} in all).`);
    out.push(parts);
  }
  return out;
}

export const TAU_EXPLAINED =
  "Kendall's tau-b compares the order of the people ranked under both versions: 1 is the same order, 0 no relation, −1 the reverse.";

function tauReading(tau: number | null): string {
  if (tau === null) return 'too few ranked under both to compare';
  const a = Math.abs(tau);
  const strength = a >= 0.8 ? 'closely' : a >= 0.5 ? 'broadly' : a >= 0.2 ? 'weakly' : 'hardly';
  return tau < 0 && a >= 0.2
    ? `the new order tends to reverse the old (tau-b ${tau.toFixed(3)})`
    : `the new order ${strength} agrees with the old (tau-b ${tau.toFixed(3)})`;
}

/** Unpriced models, as a reviewer should be warned of them. */
export function unpricedWarnings(r: ImpactReport): Inline[] {
  if (!r.cost) return [];
  const { before, after } = r.cost.unpriced;
  const both = before.filter((m) => after.includes(m));
  const out: Inline[] = [];
  if (both.length)
    out.push([
      { strong: `Unpriced in both versions: ${both.join(', ')}.` },
      ' Their usage costs nothing on either side, so the cost figures leave it out; add prices before trusting the totals.',
    ]);
  const onlyBefore = before.filter((m) => !after.includes(m));
  if (onlyBefore.length)
    out.push([
      { strong: `Unpriced in the old version only: ${onlyBefore.join(', ')}.` },
      ' The cost increase includes usage the old version priced at nothing.',
    ]);
  const onlyAfter = after.filter((m) => !before.includes(m));
  if (onlyAfter.length)
    out.push([
      { strong: `Unpriced in the new version: ${onlyAfter.join(', ')}.` },
      ' The new version would let this usage cost nothing.',
    ]);
  return out;
}

function costCell(line: CostLine, unpriced: { before: boolean; after: boolean }): string[] {
  return [
    line.key,
    unpriced.before ? 'unpriced' : money(line.before),
    unpriced.after ? 'unpriced' : money(line.after),
    unpriced.before || unpriced.after ? '—' : money(line.delta),
  ];
}

function groupTable(label: string, groups: GroupImpact[]): Table | null {
  const changed = groups.filter(
    (g) =>
      (g.tierChanges ?? 1) > 0 ||
      Object.values(g.newly).some((n) => n !== 0) ||
      Object.values(g.noLonger).some((n) => n !== 0),
  );
  if (changed.length === 0) return null;
  const kinds = (Object.keys(CONSEQUENCE_TEXT) as Consequence[]).filter((c) =>
    groups.some((g) => g.newly[c] !== 0 || g.noLonger[c] !== 0),
  );
  const delta = (g: GroupImpact, c: Consequence) => {
    const up = g.newly[c];
    const down = g.noLonger[c];
    if (up === null || down === null) return 'withheld';
    return up === 0 && down === 0
      ? '0'
      : [up ? `+${up}` : '', down ? `−${down}` : ''].filter(Boolean).join(' ');
  };
  return {
    head: [label, 'people', 'change tier', ...kinds.map((c) => CONSEQUENCE_TEXT[c].column)],
    numeric: [false, true, true, ...kinds.map(() => true)],
    rows: changed.map((g) => [
      g.key,
      String(g.people),
      count(g.tierChanges),
      ...kinds.map((c) => delta(g, c)),
    ]),
  };
}

function boardBlocks(b: BoardImpact): Block[] {
  const blocks: Block[] = [
    {
      kind: 'paragraph',
      text: [
        `Ranked ${b.ranked.before} → ${b.ranked.after} (${b.ranked.both} under both); top ${b.top.before ?? '-'} → ${b.top.after ?? '-'}: `,
        { strong: `${b.counts.entering} enter` },
        ', ',
        { strong: `${b.counts.leaving} leave` },
        `, ${b.counts.moved} change rank; ${tauReading(b.kendallTau)}.`,
      ],
    },
    { kind: 'paragraph', text: [TAU_EXPLAINED] },
  ];
  const capped = (n: number, total: number) => (n < total ? ` (first ${n} of ${total})` : '');
  const list = (what: 'entering' | 'leaving', rankHead: string) => {
    const entries = b[what];
    if (entries.length === 0) return;
    blocks.push({
      kind: 'table',
      table: {
        head: [`${what}${capped(entries.length, b.counts[what])}`, 'cohort', rankHead, 'score'],
        numeric: [false, false, true, true],
        rows: entries.map((e) => [
          who(e.subject),
          cohort(e.cohort),
          String(e.rank),
          String(e.score),
        ]),
      },
    });
  };
  list('entering', 'rank');
  list('leaving', 'was rank');
  const moves = b.largestMoves.slice(0, 10);
  if (moves.length) {
    blocks.push({
      kind: 'table',
      table: {
        head: [
          'largest moves',
          'cohort before',
          'rank before',
          'cohort after',
          'rank after',
          'move',
        ],
        numeric: [false, false, true, false, true, true],
        rows: moves.map((m) => [
          who(m.subject),
          cohort(m.before.cohort),
          String(m.before.rank),
          cohort(m.after.cohort),
          String(m.after.rank),
          signed(m.move),
        ]),
      },
    });
    blocks.push({
      kind: 'chart',
      chart: {
        kind: 'slope',
        title: `Rank before and after: ${b.name} (largest moves)`,
        items: moves.map((m) => ({
          label: who(m.subject),
          before: m.before.rank,
          after: m.after.rank,
        })),
      },
    });
  }
  return blocks;
}

export function reviewDocument(r: ImpactReport): ReviewDocument {
  const title = `Impact review: ${sideText(r.from)} → ${sideText(r.to)}`;
  if (!r.hasData)
    return { title, intro: [[{ strong: `${r.message ?? 'no usage in window'}.` }]], sections: [] };
  const intro: Inline[] = [
    [`${windowText(r)}.`],
    [`${r.population.people} people and ${r.population.teams} teams; identities ${r.identities}.`],
  ];
  const sections: Section[] = [];

  // what a reviewer reads first: consequences for people, not step counts
  const summary: Inline[] = [...consequenceHeadlines(r)];
  if (summary.length === 0)
    summary.push([
      'No one would be blocked, asked for approval or justification, or notified differently.',
    ]);
  const moves = r.tiers.transitions
    .map((t) => `${tier(t.from)} → ${tier(t.to)}: ${t.count}`)
    .join(', ');
  summary.push([
    { strong: people(r.tiers.changed) },
    ` would change tier${moves ? ` (${moves})` : ''}.`,
  ]);
  if (r.budgets.count)
    summary.push([
      { strong: `${r.budgets.count}` },
      ` of ${r.budgets.evaluated} budget states change band.`,
    ]);
  for (const b of r.leaderboards)
    summary.push([
      `Leaderboard ${b.name}: `,
      { strong: `${b.counts.entering} enter` },
      ` the top${b.top.after ? ` ${b.top.after}` : ''}, ${b.counts.leaving} leave; ${tauReading(b.kendallTau)}.`,
    ]);
  if (r.cost)
    summary.push([
      `Cost over the window: ${money(r.cost.total.before)} → ${money(r.cost.total.after)} ${r.cost.currency} (`,
      { strong: money(r.cost.total.delta) },
      ').',
    ]);
  const warnings = unpricedWarnings(r);
  sections.push({
    title: 'Summary',
    blocks: [
      { kind: 'list', items: summary },
      ...warnings.map((text): Block => ({ kind: 'warning', text })),
    ],
  });

  const byTeam = groupTable('team', r.groups.byTeam);
  const byRole = groupTable('role', r.groups.byRole);
  const groupBlocks: Block[] = [];
  if (byTeam || byRole)
    groupBlocks.push({
      kind: 'paragraph',
      text: [
        'People per team and per role who would change tier, and on whom each action would newly fall (+) or no longer fall (−). Groups with no change are not listed.',
      ],
    });
  if (byTeam) groupBlocks.push({ kind: 'table', table: byTeam });
  if (byRole) groupBlocks.push({ kind: 'table', table: byRole });
  if (!byTeam && !byRole)
    groupBlocks.push({ kind: 'paragraph', text: ['No team or role is affected.'] });
  sections.push({ title: 'By team and role', blocks: groupBlocks });

  const tierBlocks: Block[] = [];
  if (r.tiers.transitions.length === 0)
    tierBlocks.push({ kind: 'paragraph', text: ['No one changes tier.'] });
  else {
    tierBlocks.push({
      kind: 'chart',
      chart: {
        kind: 'flow',
        title: 'Tier moves',
        edges: r.tiers.transitions.map((t) => ({
          from: tier(t.from),
          to: tier(t.to),
          count: t.count,
        })),
      },
    });
    tierBlocks.push({
      kind: 'table',
      table: {
        head: ['from', 'to', 'people'],
        numeric: [false, false, true],
        rows: r.tiers.transitions.map((t) => [tier(t.from), tier(t.to), String(t.count)]),
      },
    });
    const names = [
      ...new Set([...Object.keys(r.tiers.before), ...Object.keys(r.tiers.after)]),
    ].sort();
    tierBlocks.push({
      kind: 'table',
      table: {
        head: ['tier', 'before', 'after'],
        numeric: [false, true, true],
        rows: names.map((n) => [n, String(r.tiers.before[n] ?? 0), String(r.tiers.after[n] ?? 0)]),
      },
    });
    if (r.tiers.people.length)
      tierBlocks.push({
        kind: 'paragraph',
        text: [
          `People (first ${r.tiers.people.length} of ${r.tiers.changed}): ${r.tiers.people.map((p) => `${who(p.person)} (${tier(p.from)} → ${tier(p.to)})`).join(', ')}.`,
        ],
      });
  }
  sections.push({ title: 'Tiers', blocks: tierBlocks });

  const q = r.quotaDistribution;
  if (q.bins.some((b) => (b.before ?? 0) + (b.after ?? 0) > 0)) {
    const width = q.bins.length > 1 ? (q.bins[0].to ?? 10) - q.bins[0].from : 10;
    sections.push({
      title: 'Quota use',
      blocks: [
        {
          kind: 'paragraph',
          text: [
            `People by the share of their quota used at the end of the window, under each version. Quota steps of the new version: ${q.thresholds.map((t) => `${t.trigger} ${t.percent}% (${t.action})`).join(', ') || 'none'}.`,
          ],
        },
        {
          kind: 'chart',
          chart: {
            kind: 'bars',
            title: 'People by quota use, with the quota steps',
            categories: q.bins.map((b) => (b.to === null ? `${b.from}%+` : `${b.from}–${b.to}%`)),
            series: [
              { name: 'before', values: q.bins.map((b) => b.before) },
              { name: 'after', values: q.bins.map((b) => b.after) },
            ],
            yLabel: 'people',
            markers: q.thresholds.map((t) => ({
              at: Math.min(t.percent / width, q.bins.length),
              label: `${t.trigger === 'forecast' ? 'forecast ' : ''}${t.percent}% ${t.action}`,
            })),
          },
        },
      ],
    });
  }

  sections.push({
    title: 'Escalation steps',
    blocks: [
      {
        kind: 'paragraph',
        text: [
          'Subjects (people, teams, the organisation) at which each step would fire. Someone over 90% is counted at 70% too, so these do not add up; the summary counts people.',
        ],
      },
      {
        kind: 'table',
        table: {
          head: ['ladder', 'step', 'before', 'after', 'delta'],
          numeric: [false, false, true, true, true],
          rows: r.escalations.map((s) => [
            s.ladder,
            step(s),
            String(s.before),
            String(s.after),
            signed(s.delta),
          ]),
        },
      },
    ],
  });
  sections.push({
    title: 'Rules',
    blocks: [
      {
        kind: 'table',
        table: {
          head: ['rule', 'severity', 'before', 'after', 'delta'],
          numeric: [false, false, true, true, true],
          rows: r.rules.map((x) => [
            x.rule,
            x.severity ?? '',
            String(x.before),
            String(x.after),
            signed(x.delta),
          ]),
        },
      },
    ],
  });
  if (r.badges.length > 0)
    sections.push({
      title: 'Badges',
      blocks: [
        {
          kind: 'table',
          table: {
            head: ['badge', 'before', 'after', 'newly', 'no longer'],
            numeric: [false, true, true, true, true],
            rows: r.badges.map((x) => [
              x.label ? `${x.badge} (${x.label})` : x.badge,
              String(x.before),
              String(x.after),
              String(x.newly),
              String(x.noLonger),
            ]),
          },
        },
      ],
    });
  const budgetBlocks: Block[] = [
    {
      kind: 'paragraph',
      text: [`${r.budgets.count} of ${r.budgets.evaluated} budget states change band.`],
    },
  ];
  if (r.budgets.flips.length)
    budgetBlocks.push({
      kind: 'table',
      table: {
        head: ['subject', 'budget', 'before', 'after'],
        numeric: [false, false, false, false],
        rows: r.budgets.flips.map((f) => [
          `${f.subject.kind} ${who(f.subject)}`,
          f.budget,
          band(f.before),
          band(f.after),
        ]),
      },
    });
  sections.push({ title: 'Budgets', blocks: budgetBlocks });
  if (r.requestLimits) {
    const q = r.requestLimits;
    const counts = (c: { before: { warned: number; blocked: number }; after: typeof c.before }) => [
      String(c.before.warned),
      String(c.after.warned),
      String(c.before.blocked),
      String(c.after.blocked),
    ];
    sections.push({
      title: 'Request limits',
      blocks: [
        {
          kind: 'paragraph',
          text: [
            `Of ${q.requests} requests, each version would have warned about and blocked (by the input of each request):`,
          ],
        },
        {
          kind: 'table',
          table: {
            head: ['class', 'requests', 'warned before', 'after', 'blocked before', 'after'],
            numeric: [false, true, true, true, true, true],
            rows: [
              ...q.classes.map((c) => [c.modelClass, String(c.requests), ...counts(c)]),
              ['all', String(q.requests), ...counts(q)],
            ],
          },
        },
      ],
    });
  }
  for (const b of r.leaderboards)
    sections.push({ title: `Leaderboard ${b.name}`, blocks: boardBlocks(b) });

  if (r.cost) {
    const c = r.cost;
    const unpriced = (m: string) => ({
      before: c.unpriced.before.includes(m),
      after: c.unpriced.after.includes(m),
    });
    const costBlocks: Block[] = [
      {
        kind: 'paragraph',
        text: [`Recomputed from token sums under each version's prices (${c.currency}, exact).`],
      },
      ...warnings.map((text): Block => ({ kind: 'warning', text })),
      {
        kind: 'table',
        table: {
          head: ['model', 'before', 'after', 'delta'],
          numeric: [false, true, true, true],
          rows: [
            ['total', money(c.total.before), money(c.total.after), money(c.total.delta)],
            ...c.byModel.map((m) => costCell(m, unpriced(m.key))),
          ],
        },
      },
    ];
    if (c.byTeam.length) {
      costBlocks.push(
        {
          kind: 'chart',
          chart: {
            kind: 'bars',
            title: `Cost by team (${c.currency}), the teams whose cost moves most`,
            categories: c.byTeam.map((t) => t.key),
            series: [
              {
                name: 'before',
                values: c.byTeam.map((t) => Math.round(Number(t.before) * 100) / 100),
              },
              {
                name: 'after',
                values: c.byTeam.map((t) => Math.round(Number(t.after) * 100) / 100),
              },
            ],
            yLabel: c.currency,
          },
        },
        {
          kind: 'table',
          table: {
            head: ['team', 'before', 'after', 'delta'],
            numeric: [false, true, true, true],
            rows: c.byTeam.map((t) => [t.key, money(t.before), money(t.after), money(t.delta)]),
          },
        },
      );
    }
    sections.push({ title: 'Cost', blocks: costBlocks });
  }
  sections.push({
    title: 'How this was computed',
    blocks: [{ kind: 'list', items: r.notes.map((n) => [n]) }],
  });
  return { title, intro, sections };
}
