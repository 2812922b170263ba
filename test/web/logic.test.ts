// Component logic of the console (pure functions the views draw from).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APP_ROUTES } from '../../src/api/console.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { auditFilterVariables, EMPTY_AUDIT_FILTER } from '../../web/src/lib/audit.ts';
import { burnDown, dayList } from '../../web/src/lib/burndown.ts';
import { csvField, toCsv } from '../../web/src/lib/csv.ts';
import { formatMoney, formatPercent, formatTokens, plainError } from '../../web/src/lib/format.ts';
import { ladderSteps, placeLadder } from '../../web/src/lib/ladder.ts';
import { boardsOf } from '../../web/src/lib/policy-text.ts';
import { quotaHistogram } from '../../web/src/lib/quota-histogram.ts';
import { whyNotRanked } from '../../web/src/lib/ranking.ts';
import { VIEW_LABELS, viewsFor } from '../../web/src/lib/views.ts';

const defaultPolicy = analyzePolicy(
  readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8'),
);

describe('burn-down', () => {
  it('lists the days of a period, end exclusive', () => {
    expect(dayList('2026-02-27T00:00:00Z', '2026-03-02T00:00:00Z')).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
    ]);
  });

  it('accumulates use to today and draws the forecast from there to the period end', () => {
    const series = burnDown(
      [
        { day: '2026-03-01', amount: 10 },
        { day: '2026-03-02', amount: 20 },
        { day: '2026-03-02', amount: 5 },
      ],
      '2026-03-01',
      '2026-03-05',
      '2026-03-02',
      100,
      70,
    );
    expect(series.days).toEqual(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']);
    expect(series.used).toEqual([10, 35, null, null]);
    // from 35 today to the forecast total 70 on the last day
    expect(series.forecast).toEqual([null, 35, 52.5, 70]);
  });
});

describe('escalation ladder', () => {
  it('reads the quota ladder of the default policy and marks the steps reached', () => {
    const steps = ladderSteps(defaultPolicy.ir, 'quota');
    expect(steps.length).toBeGreaterThan(0);
    const placed = placeLadder(steps, 1_000_000, 95);
    expect(placed.map((s) => s.percent)).toEqual(
      [...placed.map((s) => s.percent)].sort((a, b) => a - b),
    );
    for (const s of placed) {
      expect(s.reached).toBe(s.percent <= 95);
      expect(s.amount).toBe((1_000_000 * s.percent) / 100);
    }
    expect(placed.some((s) => s.label === 'blocked')).toBe(true);
  });

  it('is empty without a policy', () => {
    expect(ladderSteps(null, 'quota')).toEqual([]);
  });
});

describe('CSV', () => {
  it('quotes fields with commas, quotes and newlines (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    expect(
      toCsv(
        [
          { key: 'team', header: 'team' },
          { key: 'cost', header: 'cost_USD' },
        ],
        [
          { team: 'platform', cost: '1.50' },
          { team: 'r&d, labs', cost: '2' },
        ],
      ),
    ).toBe('team,cost_USD\r\nplatform,1.50\r\n"r&d, labs",2\r\n');
  });
});

describe('formatting', () => {
  it('shortens token counts and money', () => {
    expect(formatTokens(950)).toBe('950');
    expect(formatTokens(12_500)).toBe('12.5k');
    expect(formatTokens(2_000_000)).toBe('2M');
    expect(formatTokens(12_762_258)).toBe('12.8M');
    // whole numbers keep their zeros (a burn-down's axis read 12k and 1k for 120k and 100k)
    expect(formatTokens(120_000)).toBe('120k');
    expect(formatTokens(100_000)).toBe('100k');
    expect(formatTokens(200_000_000)).toBe('200M');
    expect(formatTokens(10_000)).toBe('10k');
    expect(formatMoney('1234.5', 'USD')).toBe('1,234.50 USD');
    expect(formatPercent(127.6)).toBe('128%');
    expect(formatPercent(1.23)).toBe('1.2%');
  });

  it('turns failures into plain words', () => {
    expect(plainError('plain')).toBe('plain');
    const network = Object.assign(new Error('[Network] fetch failed'), {
      networkError: new Error('x'),
      graphQLErrors: [],
    });
    expect(plainError(network as never)).toMatch(/could not be reached/);
    const forbidden = Object.assign(new Error('[GraphQL] Not authorized'), {
      graphQLErrors: [{ message: 'Not authorized to resolve Query.usage', extensions: {} }],
    });
    expect(plainError(forbidden as never)).toBe('Your role may not see this.');
  });
});

describe('boards and ranking', () => {
  it('reads boards with their rules from the policy IR', () => {
    const boards = boardsOf(defaultPolicy.ir);
    const vpt = boards.find((b) => b.name === 'value_per_token');
    expect(vpt).toBeDefined();
    expect(vpt?.scoreText).toContain('acceptance');
  });

  it('says why a person is not ranked, in the order the rules apply', () => {
    const rules = {
      requiresOptIn: true,
      eligibleText: 'tasks >= 5 and opted_in',
      excludeText: 'team.sensitivity == "restricted"',
    };
    expect(whyNotRanked(rules, { optedIn: false, restrictedTeam: true })).toMatch(/not opted in/);
    expect(whyNotRanked(rules, { optedIn: true, restrictedTeam: true })).toMatch(/restricted/);
    expect(whyNotRanked(rules, { optedIn: true, restrictedTeam: false })).toMatch(/eligib/);
  });
});

describe('views by role', () => {
  it('offers Me only to a session bound to a person, and nothing to ingest', () => {
    expect(viewsFor('member', 'ana@x')).toContain('me');
    expect(viewsFor('viewer', null)).not.toContain('me');
    expect(viewsFor('viewer', null)).not.toContain('inbox');
    expect(viewsFor('governance', null)).toContain('inbox');
    expect(viewsFor('ingest', null)).toEqual([]);
  });

  it('has each view served as a page by the server (a reload or a link lands on it)', () => {
    for (const view of Object.keys(VIEW_LABELS)) expect(APP_ROUTES).toContain(`/${view}`);
  });

  it('offers My reports to sessions bound to a person, not to viewers', () => {
    expect(viewsFor('member', 'ana@x')).toContain('reports');
    expect(viewsFor('governance', 'gov@x')).toContain('reports');
    expect(viewsFor('governance', null)).not.toContain('reports');
    expect(viewsFor('viewer', 'vi@x')).not.toContain('reports');
  });

  it('offers the audit log to governance and admin only', () => {
    expect(viewsFor('governance', null)).toContain('audit');
    expect(viewsFor('governance', 'gov@x')).toContain('audit');
    expect(viewsFor('admin', null)).toContain('audit');
    expect(viewsFor('viewer', null)).not.toContain('audit');
    expect(viewsFor('member', 'ana@x')).not.toContain('audit');
  });
});

describe('audit log filters', () => {
  it('sends blank fields as no filter and dates as whole UTC days', () => {
    expect(auditFilterVariables(EMPTY_AUDIT_FILTER)).toEqual({
      action: null,
      actor: null,
      subject: null,
      from: null,
      to: null,
    });
    expect(
      auditFilterVariables({
        action: ' policy.* ',
        actor: '12',
        subject: '',
        from: '2026-03-01',
        to: '2026-04-01',
      }),
    ).toEqual({
      action: 'policy.*',
      actor: '12',
      subject: null,
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-04-01T00:00:00.000Z',
    });
  });
});

describe('quota-use histogram', () => {
  it('labels bins, keeps withheld counts empty and places each step on its bin', () => {
    const h = quotaHistogram({
      bins: [
        { from: 0, to: 50, before: 4, after: null },
        { from: 50, to: 100, before: 3, after: 5 },
        { from: 100, to: null, before: null, after: 3 },
      ],
      thresholds: [
        { trigger: 'at', percent: 100, action: 'require_approval' },
        { trigger: 'at', percent: 70, action: 'notify' },
        { trigger: 'forecast', percent: 100, action: 'notify' },
      ],
    });
    expect(h.labels).toEqual(['0–50%', '50–100%', '100%+']);
    expect(h.before).toEqual([4, 3, null]);
    expect(h.after).toEqual([null, 5, 3]);
    expect(h.withheld).toBe(true);
    expect(h.marks).toEqual([
      { label: '50–100%', name: '70% notify' },
      { label: '100%+', name: '100% require approval' },
      { label: '100%+', name: 'forecast 100% notify' },
    ]);
  });
});
