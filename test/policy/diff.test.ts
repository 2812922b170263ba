import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import {
  type DiffInput,
  diffPolicies,
  renderDiff,
  semanticChangeCount,
} from '../../src/policy/diff.ts';

function side(text: string): DiffInput {
  const a = analyzePolicy(text);
  const errors = a.diagnostics.filter((d) => d.severity === 'error');
  if (!a.ir || errors.length) throw new Error(errors.map((d) => d.message).join('; '));
  return { ast: a.ast, ir: a.ir };
}

const BASE = `policy "p" version "1"
currency USD
timezone "Europe/London"
class standard "General"
class economy "Cheap"
model "m-std" class standard price { input 3.00 output 15.00 }
model "m-eco" class economy price { input 0.15 output 0.60 }
metric acceptance = accepted / max(accepted + rejected, 1)
metric per_task = tokens / max(tasks, 1)
leaderboard board "Board" {
  subject person
  window quarter
  score = 1000 * acceptance / log10(10 + per_task)
  top 10
}
tier base "Everyone" { limit 2M tokens per month models economy }
tier power "Builders" { limit 10M tokens per month models economy, standard }
assign power when role == "engineer"
assign base otherwise
budget each team { 2,000 USD per month }
escalation quota {
  at 70% notify person
  at 100% block
}
rule spike "Spike" severity medium {
  when tokens within 1d > 3 * tokens within 30d / 30
  then notify manager
}
`;

const diff = (a: string, b: string) => diffPolicies(side(a), side(b));

describe('policy diff', () => {
  it('layout, comments, number spelling and parentheses are no change', () => {
    const relaid = BASE.replace(
      'class standard "General"',
      '# a comment\nclass   standard   "General"  # trailing',
    )
      .replace('2,000 USD', '2k USD')
      .replace('10M tokens', '10,000,000 tokens')
      .replace('within 1d', 'within 24h')
      .replace('1000 * acceptance', '(1000 * acceptance)')
      .replace('  top 10', '\n\n  top 10');
    const d = diff(BASE, relaid);
    expect(d.equivalent).toBe(true);
    expect(d.changes).toEqual([]);
    expect(renderDiff(d, 'text')).toContain('no semantic change');
  });

  it('reordering independent declarations is no change', () => {
    const lines = BASE.split('\n');
    const tiers = lines.filter((l) => l.startsWith('tier '));
    const classes = lines.filter((l) => l.startsWith('class '));
    const reordered = BASE.replace(`${tiers[0]}\n${tiers[1]}`, `${tiers[1]}\n${tiers[0]}`)
      .replace(`${classes[0]}\n${classes[1]}`, `${classes[1]}\n${classes[0]}`)
      .replace('budget each team { 2,000 USD per month }\n', '')
      .replace('currency USD\n', 'currency USD\nbudget each team { 2,000 USD per month }\n');
    expect(reordered).not.toBe(BASE);
    const d = diff(BASE, reordered);
    expect(d.equivalent).toBe(true);
    expect(semanticChangeCount(d)).toBe(0);
  });

  it('reordering assign rules is a change: first match wins', () => {
    const swapped = BASE.replace(
      'assign power when role == "engineer"\nassign base otherwise',
      'assign base when team == "ops"\nassign power when role == "engineer"\nassign base otherwise',
    );
    const d = diff(BASE, swapped);
    expect(d.equivalent).toBe(false);
    expect(d.counts).toEqual({ assignments: 1 });
    expect(d.changes[0]).toMatchObject({
      construct: 'assignments',
      kind: 'added',
      after: 'assign base when team == "ops"',
    });
    expect(d.assignmentOrder?.after).toHaveLength(3);

    const two = `${BASE.replace('assign power when role == "engineer"\nassign base otherwise', 'assign power when role == "engineer"\nassign base when team == "ops"\nassign base otherwise')}`;
    const moved = two.replace(
      'assign power when role == "engineer"\nassign base when team == "ops"',
      'assign base when team == "ops"\nassign power when role == "engineer"',
    );
    const m = diff(two, moved);
    expect(m.counts).toEqual({ assignments: 1 });
    expect(m.changes[0].kind).toBe('moved');
    // one of the two swapped rules is reported as moved; the full order is shown alongside
    const [position] = m.changes[0].fields;
    expect(position.field).toBe('position');
    expect([position.before, position.after].sort()).toEqual(['1', '2']);
    expect(m.assignmentOrder?.after[0]).toBe('assign base when team == "ops"');
  });

  it('a changed price names the model and the price kind, in canonical syntax', () => {
    const d = diff(BASE, BASE.replace('input 3.00 output 15.00', 'input 3.00 output 12.50'));
    expect(d.counts).toEqual({ prices: 1 });
    const [c] = d.changes;
    expect(c).toMatchObject({ construct: 'prices', kind: 'changed', subject: 'model "m-std"' });
    expect(c.fields).toEqual([{ field: 'output', before: '15.00', after: '12.50' }]);
    expect(c.before).toBe('model "m-std" class standard price { input 3.00 output 15.00 }');
    expect(c.after).toBe('model "m-std" class standard price { input 3.00 output 12.50 }');
  });

  it('a changed formula reports the smallest differing sub-expressions', () => {
    const d = diff(
      BASE,
      BASE.replace('log10(10 + per_task)', 'log10(100 + per_task)').replace(
        '3 * tokens',
        '4 * tokens',
      ),
    );
    expect(d.counts).toEqual({ leaderboards: 1, rules: 1 });
    const board = d.changes.find((c) => c.construct === 'leaderboards');
    expect(board?.fields[0].field).toBe('score');
    expect(board?.fields[0].subexpressions).toEqual([{ before: '10', after: '100' }]);
    const rule = d.changes.find((c) => c.construct === 'rules');
    expect(rule?.fields[0]).toMatchObject({
      field: 'when',
      before: 'tokens within 1d > 3 * tokens within 30d / 30',
      after: 'tokens within 1d > 4 * tokens within 30d / 30',
      subexpressions: [{ before: '3', after: '4' }],
    });
  });

  it('a changed metric lists what it reaches', () => {
    const d = diff(
      BASE,
      BASE.replace(
        'accepted / max(accepted + rejected, 1)',
        'accepted / max(accepted + rejected + reworked, 1)',
      ),
    );
    const [c] = d.changes;
    expect(c.subject).toBe('metric acceptance');
    expect(c.fields[0].subexpressions).toEqual([
      { before: 'accepted + rejected', after: 'accepted + rejected + reworked' },
    ]);
    expect(c.affects).toEqual(['leaderboard board']);
  });

  it('added and removed escalation steps are reported one by one', () => {
    const d = diff(
      BASE,
      BASE.replace(
        '  at 70% notify person\n',
        '  at 90% require justification\n  forecast 100% notify person "on course to run out"\n',
      ),
    );
    expect(d.counts).toEqual({ escalations: 3 });
    expect(d.changes.map((c) => [c.kind, c.subject])).toEqual([
      ['removed', 'escalation quota at 70%'],
      ['added', 'escalation quota at 90%'],
      ['added', 'escalation quota forecast 100%'],
    ]);
    expect(d.changes[2].after).toBe('forecast 100% notify person "on course to run out"');
  });

  it('privacy, tiers and budgets are compared field by field; the header label is not meaning', () => {
    const changed = BASE.replace('version "1"', 'version "2"')
      .replace(
        'timezone "Europe/London"',
        'timezone "Europe/London"\nprivacy { min_group_size 8 identities masked }',
      )
      .replace('limit 10M', 'limit 8M')
      .replace('2,000 USD', '2,500 USD');
    const d = diff(BASE, changed);
    expect(d.counts).toEqual({ privacy: 1, tiers: 1, budgets: 1 });
    const header = d.changes.find((c) => c.construct === 'header');
    expect(header?.semantic).toBe(false);
    expect(d.changes.find((c) => c.construct === 'privacy')?.fields).toEqual([
      { field: 'min_group_size', before: '5', after: '8' },
    ]);
    expect(d.changes.find((c) => c.construct === 'tiers')?.fields).toEqual([
      { field: 'limit', before: '10M tokens per month', after: '8M tokens per month' },
    ]);
    expect(d.changes.find((c) => c.construct === 'budgets')?.fields).toEqual([
      { field: 'amount', before: '2,000 USD per month', after: '2,500 USD per month' },
    ]);
  });

  it("a pool's teams and a request limit's steps are compared field by field", () => {
    const a = `${BASE}\nbudget pool "ml" teams "x", "y" { 900 USD per month }\nrequest standard { warn above 100k input  block above 400k input }\n`;
    const b = a
      .replace('teams "x", "y"', 'teams "y", "z"')
      .replace('warn above 100k input', 'warn above 50k input "trim it"');
    const d = diff(a, b);
    expect(d.counts).toEqual({ budgets: 1, request_limits: 1 });
    expect(d.changes.find((c) => c.construct === 'budgets')).toMatchObject({
      subject: 'budget pool "ml"',
      fields: [{ field: 'teams', before: '"x", "y"', after: '"y", "z"' }],
    });
    expect(d.changes.find((c) => c.construct === 'request_limits')).toMatchObject({
      subject: 'request standard',
      fields: [
        { field: 'warn', before: 'above 100000 input', after: 'above 50000 input "trim it"' },
      ],
    });
    // the same teams in another order are the same pool
    expect(diff(a, a.replace('teams "x", "y"', 'teams "y", "x"')).equivalent).toBe(true);
  });

  it('renders text, JSON and a Markdown review document', () => {
    const d = diff(
      BASE,
      BASE.replace('output 15.00', 'output 12.50').replace('  at 70% notify person\n', ''),
    );
    const text = renderDiff(d, 'text');
    expect(text).toContain('2 semantic changes (prices 1, escalations 1)');
    expect(text).toContain('output: 15.00  →  12.50');
    expect(text).toContain('- at 70% notify person');
    const json = JSON.parse(renderDiff(d, 'json'));
    expect(json.semanticChanges).toBe(2);
    expect(json.changes[0].construct).toBe('prices');
    const md = renderDiff(d, 'markdown');
    expect(md).toMatch(/^# Policy review: /);
    expect(md).toContain('| prices | 0 | 0 | 1 | 0 |');
    expect(md).toContain('| output | `15.00` | `12.50` |');
    expect(md).toContain('```diff\n- at 70% notify person\n```');
  });

  it('the quarterly pair differs in every construct the review covers', () => {
    const read = (f: string) =>
      side(readFileSync(new URL(`../../policies/${f}`, import.meta.url), 'utf8'));
    const d = diffPolicies(read('2026-q3.policy'), read('2026-q4.policy'));
    expect(d.equivalent).toBe(false);
    expect(Object.keys(d.counts)).toEqual(
      expect.arrayContaining([
        'prices',
        'metrics',
        'leaderboards',
        'tiers',
        'assignments',
        'budgets',
        'escalations',
        'rules',
      ]),
    );
    const spike = d.changes.find((c) => c.subject === 'rule spike');
    expect(spike?.fields[0].subexpressions).toEqual([{ before: '4', after: '3' }]);
  });

  it('shows only the changed lines of a changed block, and escapes | in table cells', () => {
    const read = (f: string) =>
      side(readFileSync(new URL(`../../policies/${f}`, import.meta.url), 'utf8'));
    const d = diffPolicies(read('2026-q3.policy'), read('2026-q4.policy'));
    const md = renderDiff(d, 'markdown');
    const section = md.slice(md.indexOf('### ~ model "gpt-4o": changed'));
    const block = section.slice(section.indexOf('```diff'), section.indexOf('```\n', 8) + 3);
    // the price line changed; the model's header and `matches` line did not
    expect(block).toBe(
      '```diff\n-     input 2.50  output 10.00  cache_read 1.25\n+     input 2.00  output 8.00  cache_read 1.00\n```',
    );
    const text = renderDiff(d, 'text');
    expect(text).not.toContain('matches "gpt-4o-2*"');
    // a one-line change in a four-line rule prints that line only
    const before = `${BASE}\nrule r "R" severity low {\n  when tokens within 1d > 10\n  then notify person\n}\n`;
    const r = renderDiff(
      diffPolicies(side(before), side(before.replace('> 10', '> 20'))),
      'markdown',
    );
    expect(r).toContain(
      '```diff\n-   when tokens within 1d > 10\n+   when tokens within 1d > 20\n```',
    );
    expect(r).not.toContain('notify person');
    // a label holding | stays in its table cell
    const piped = renderDiff(
      diffPolicies(side(before), side(before.replace('"R"', '"R | S"'))),
      'markdown',
    );
    expect(piped).toContain('| label | `"R"` | `"R \\| S"` |');
  });
});
