// Seasons: the declaration parses, checks (dates, order, overlap, `window season` without
// one), lowers to the IR without changing older hashes, formats, diffs, and boards and
// badges with `window season` read the season the clock is in.
import { describe, expect, it } from 'vitest';
import { analyzePolicy as analyze } from '../../src/policy/analyze.ts';
import { diffPolicies } from '../../src/policy/diff.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

const format = (text: string) => formatPolicy(parsePolicy(text).ast);

import { boardBounds, seasonOn } from '../../src/policy/windows.ts';

const HEAD = `policy "s" version "1"
currency USD
timezone "Europe/Paris"
metric tokens_per_task = tokens / max(tasks, 1)
`;
const SEASONS = `season q4_2026 "Q4 2026" { from "2026-10-01"  until "2027-01-01" }
season q1_2027 { from "2027-01-01"  until "2027-04-01" }
`;
const BOARD = `leaderboard legends "Legends" {
  subject person
  window season
  score = tasks
}
badge legend { window season  when tasks >= 20 }
`;

describe('seasons', () => {
  it('lower to the IR, and a policy without seasons keeps its shape', () => {
    const a = analyze(HEAD + SEASONS + BOARD);
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(a.ir?.seasons).toEqual({
      q1_2027: { label: null, from: '2027-01-01', until: '2027-04-01' },
      q4_2026: { label: 'Q4 2026', from: '2026-10-01', until: '2027-01-01' },
    });
    expect(a.ir?.leaderboards.legends.window).toBe('season');
    expect(analyze(HEAD).ir).not.toHaveProperty('seasons');
  });

  it('reports missing, malformed, reversed and overlapping dates, and window season without a season', () => {
    const codes = (src: string) =>
      analyze(HEAD + src)
        .diagnostics.filter((d) => d.severity === 'error')
        .map((d) => d.code);
    expect(codes('season a { from "2026-10-01" }\n')).toEqual(['Q5032']);
    expect(codes('season a { from "2026-13-01"  until "2027-01-01" }\n')).toEqual(['Q5032']);
    expect(codes('season a { from "2027-01-01"  until "2026-10-01" }\n')).toEqual(['Q5032']);
    expect(
      codes(
        'season a { from "2026-10-01"  until "2027-01-01" }\nseason b { from "2026-12-01"  until "2027-02-01" }\n',
      ),
    ).toEqual(['Q5032']);
    expect(codes(BOARD)).toEqual(['Q5033', 'Q5033']);
  });

  it('diffs changed dates under seasons, and the hash changes with them', () => {
    const side = (text: string) => {
      const a = analyze(text);
      return { ast: a.ast, ir: a.ir!, hash: a.hash };
    };
    const before = side(HEAD + SEASONS + BOARD);
    const after = side(HEAD + SEASONS.replace('until "2027-04-01"', 'until "2027-05-01"') + BOARD);
    expect(after.hash).not.toBe(before.hash);
    const d = diffPolicies(before, after);
    expect(d.changes.map((c) => [c.construct, c.subject, c.fields.map((f) => f.field)])).toEqual([
      ['seasons', 'season q1_2027', ['until']],
    ]);
  });

  it('formats to one aligned line each, idempotently', () => {
    const text = format(`${HEAD}season   q4 "Q4"{until "2027-01-01" from "2026-10-01"}\n${BOARD}`);
    expect(text).toContain('season q4 "Q4" { from "2026-10-01"  until "2027-01-01" }');
    expect(text).toContain('  window season');
    expect(format(text)).toBe(text);
  });

  it('picks the season of a day, the last ended between seasons, the first before any', () => {
    const spans = [
      { from: '2026-10-01', until: '2027-01-01' },
      { from: '2027-02-01', until: '2027-04-01' },
    ];
    expect(seasonOn(spans, '2026-11-15')).toBe(spans[0]);
    expect(seasonOn(spans, '2027-01-15')).toBe(spans[0]);
    expect(seasonOn(spans, '2027-02-01')).toBe(spans[1]);
    expect(seasonOn(spans, '2026-01-01')).toBe(spans[0]);
    const ir = analyze(HEAD + SEASONS + BOARD).ir!;
    // local midnight in Paris
    expect(boardBounds(ir, 'season', '2026-11-15T12:00:00Z')).toEqual({
      start: new Date('2026-09-30T22:00:00Z'),
      end: new Date('2026-12-31T23:00:00Z'),
    });
  });
});
