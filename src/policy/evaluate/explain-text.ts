// Explanations as a person reads them: `quotient policy eval --format text` and
// `quotient explain`. Everything printed comes from the evaluation result; nothing is
// recomputed here, so the text and the JSON cannot disagree.
import type { IrAction } from '../ir.ts';
import type {
  BoardEntry,
  BudgetState,
  EvaluateResult,
  Explanation,
  FiredRule,
  PeriodStanding,
  SubjectResult,
  TierAssignment,
  TriggeredStep,
} from './types.ts';

/** Whole numbers with thousands separators; fractions to at most four significant places. */
export function numberText(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const digits = Math.abs(n) >= 100 ? 2 : 4;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

const percentText = (p: number) => `${numberText(Math.round(p * 10) / 10)}%`;
/** The local date of an instant in the policy's timezone (UTC without one). */
function day(iso: string, timeZone = 'UTC'): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date(iso));
}

/** How the text is dressed: money's currency, and the timezone for period dates. */
export type TextOptions = { currency?: string; timezone?: string };

export function actionText(a: IrAction): string {
  switch (a.kind) {
    case 'notify':
      return `notify ${a.audiences.join(', ')}${a.message ? ` ("${a.message}")` : ''}`;
    case 'require_justification':
      return 'require a justification';
    case 'require_approval':
      return `require approval by ${a.approver}`;
    case 'block':
      return 'block';
  }
}

function explanationLines(e: Explanation, indent: string): string[] {
  const out: string[] = [];
  if (e.facts.length) {
    out.push(`${indent}facts read:`);
    for (const f of e.facts)
      out.push(`${indent}  ${f.name} (${f.window}) = ${numberText(f.value)}`);
  }
  if (e.metrics.length) {
    out.push(`${indent}metrics used:`);
    for (const m of e.metrics)
      out.push(
        `${indent}  ${m.name} = ${m.formula} = ${numberText(m.value)}${m.unit === '1' ? '' : ` ${m.unit}`}`,
      );
  }
  if (e.attributes.length) {
    const shown = e.attributes.map((a) => `${a.name} = ${JSON.stringify(a.value ?? null)}`);
    out.push(`${indent}attributes: ${shown.join(', ')}`);
  }
  for (const f of e.flags) out.push(`${indent}warning: ${f.kind} in ${f.where}: ${f.note}`);
  return out;
}

export function tierLines(t: TierAssignment | null): string[] {
  if (!t) return ['Tier: none (no assign rule matched)'];
  const rule = t.rule.otherwise
    ? `assign rule ${t.rule.index + 1} (otherwise: no earlier rule matched)`
    : `assign rule ${t.rule.index + 1}: when ${t.rule.when}`;
  return [
    `Tier: ${t.tier}${t.label ? ` ("${t.label}")` : ''}`,
    `  because ${rule}`,
    ...(t.rule.values ? [`  with ${t.rule.values}`] : []),
  ];
}

function standingLines(s: PeriodStanding, used: number, unit: string, timezone?: string): string[] {
  const next = s.nextThreshold
    ? `  next step: at ${s.nextThreshold.trigger === 'forecast' ? 'a forecast of ' : ''}${s.nextThreshold.percent}% (${numberText(s.nextThreshold.amount)}${unit}): ${actionText(s.nextThreshold.action)}`
    : '  no further step';
  return [
    `  ${numberText(used)} of ${numberText(s.limit)}${unit} used this ${s.period} (${day(s.periodStart, timezone)} up to ${day(s.periodEnd, timezone)}): ${percentText(s.percent)}, ${numberText(s.remaining)}${unit} left`,
    `  band ${s.band}: ${s.bandReason}`,
    `  forecast for the ${s.period}: ${percentText(s.forecast.percent)} (${s.forecast.formula})`,
    next,
  ];
}

export function quotaLines(s: SubjectResult, options: TextOptions = {}): string[] {
  if (!s.quota) return [];
  const q = s.quota;
  const classes = q.allowedClasses === 'any' ? 'any' : q.allowedClasses.join(', ');
  return [
    `Quota (tier ${q.tier}, model classes: ${classes}):`,
    ...standingLines(q, q.used, ' tokens', options.timezone),
  ];
}

export function budgetLines(
  budgets: readonly BudgetState[],
  options: TextOptions & { whose?: string } = {},
): string[] {
  const money = options.currency ? ` ${options.currency}` : '';
  return budgets.flatMap((b) => [
    `${options.whose ?? 'Budget'} "${b.key}"${b.environment ? ` (${b.environment})` : ''}:`,
    ...standingLines(b, b.spent, b.unit === 'tokens' ? ' tokens' : money, options.timezone),
  ]);
}

export function stepLines(steps: readonly TriggeredStep[]): string[] {
  if (steps.length === 0) return ['Escalation steps: none fire'];
  return [
    'Escalation steps that fire:',
    ...steps.map(
      (x) =>
        `  ${x.ladder} ${x.of}: ${x.trigger} ${x.threshold}% (${x.trigger === 'forecast' ? 'forecast' : 'observed'} ${percentText(x.observed)}): ${actionText(x.action)}`,
    ),
  ];
}

export function ruleLines(rules: readonly FiredRule[]): string[] {
  if (rules.length === 0) return ['Rules: none fire'];
  return [
    'Rules that fire:',
    ...rules.flatMap((r) => [
      `  ${r.rule}${r.label ? ` ("${r.label}")` : ''} [${r.severity}]: ${actionText(r.action)}`,
      ...(r.detector ? [`    detected: ${r.detector.text}`] : []),
      // a detector rule without a condition of its own reads nothing else
      ...(r.detector && r.explanation.formula === 'true'
        ? []
        : [`    when ${r.explanation.formula}`, ...explanationLines(r.explanation, '    ')]),
    ]),
  ];
}

export function boardLines(name: string, b: BoardEntry): string[] {
  const where = b.cohort ? ` in cohort ${b.cohort}` : '';
  const head = b.eligible
    ? b.rank === null
      ? `Leaderboard ${name}: not ranked${where}`
      : `Leaderboard ${name}: rank ${b.rank} of ${b.cohortSize}${where}${b.inTop ? ' (in the published top)' : ''}, score ${b.score === null ? '-' : numberText(b.score)}`
    : `Leaderboard ${name}: not ranked (${b.reason ?? 'not eligible'})`;
  return [head, `  score = ${b.explanation.formula}`, ...explanationLines(b.explanation, '  ')];
}

/** One subject's explanation: tier, quota, budgets, steps, rules, boards. */
export function subjectText(
  s: SubjectResult,
  options: TextOptions & { board?: string } = {},
): string[] {
  const boards = Object.entries(s.leaderboards).filter(
    ([name]) => options.board === undefined || name === options.board,
  );
  const out = [`${s.kind} ${s.id}`];
  const body = [
    ...(s.kind === 'person' ? tierLines(s.tier) : []),
    ...quotaLines(s, options),
    ...budgetLines(s.budgets, options),
    ...stepLines(s.escalations),
    ...ruleLines(s.rules),
    ...boards.flatMap(([name, b]) => boardLines(name, b)),
    ...s.flags.map((f) => `warning: ${f.kind} in ${f.where}: ${f.note}`),
  ];
  return [...out, ...body.map((l) => `  ${l}`)];
}

/** The whole evaluation, subject after subject. */
export function evaluationText(r: EvaluateResult): string {
  const head = [
    `policy ${[r.policy.name, r.policy.version].filter(Boolean).join(' ') || '(unnamed)'} [${r.policy.hash.slice(0, 12)}], evaluated at ${r.now} (${r.timezone})`,
  ];
  const options = { timezone: r.timezone };
  const blocks = r.subjects.map((s) => subjectText(s, options).join('\n'));
  if (r.org && (r.org.budgets.length || r.org.escalations.length)) {
    blocks.push(
      [
        'organisation',
        ...[...budgetLines(r.org.budgets, options), ...stepLines(r.org.escalations)].map(
          (l) => `  ${l}`,
        ),
      ].join('\n'),
    );
  }
  for (const e of r.errors)
    blocks.push(`subject ${e.subject}: not evaluated: ${e.field}: ${e.message}`);
  return `${[head.join('\n'), ...blocks].join('\n\n')}\n`;
}
