// Chargeback: spend over a period grouped by cost centre, team, model, class, project or
// environment, with optional roll-up rows for every parent team (its own usage and all its
// descendants'). Figures come from the usage read (src/app/usage.ts), so the same privacy
// rules apply (privacy.ts): below governance only visible teams count, by team and cost
// centre only, small groups suppressed; roll-ups add up shown rows only, and teams absent
// for the caller (restricted) get no roll-up row. Money is added exactly (BigInt pico-units).
import { parseWindow, WindowError } from '../engine/impact-window.ts';
import type { UsageDimension, UsageRow } from '../engine/usage.ts';
import { decimalToPico, picoToDecimal } from '../policy/price.ts';
import type { Store } from '../store/db.ts';
import { teamTree } from '../store/directory.ts';
import type { Session } from './caller.ts';
import { ForbiddenError, InvalidRequestError } from './errors.ts';
import { perStore } from './per-store.ts';
import { privacyFor } from './privacy.ts';
import { readServiceFor } from './reads.ts';
import { usageReadsFor } from './usage.ts';

export const SPEND_DIMENSIONS = [
  'cost_center',
  'team',
  'model',
  'class',
  'project',
  'environment',
] as const;
export type SpendDimension = (typeof SPEND_DIMENSIONS)[number];

const USAGE_DIMENSION: Record<SpendDimension, UsageDimension> = {
  cost_center: 'costCenter',
  team: 'team',
  model: 'model',
  class: 'class',
  project: 'project',
  environment: 'environment',
};

export type SpendRequest = {
  /** a month (2026-11), quarter (2026-Q4), ISO week, year, or last-/this-month …; default this month */
  period?: string | null;
  by: readonly SpendDimension[];
  /** add a row per parent team summing its subtree (needs `team` in `by`) */
  rollup?: boolean;
};

/** The usage figures a spend row carries (tokens by kind, exact cost, requests). */
export type SpendFigures = Pick<
  UsageRow,
  | 'people'
  | 'inputTokens'
  | 'outputTokens'
  | 'cacheReadTokens'
  | 'cacheWriteTokens'
  | 'tokens'
  | 'cost'
  | 'requests'
  | 'unpricedRequests'
>;

export type SpendRow = SpendFigures & {
  group: Partial<Record<SpendDimension, string | null>>;
  /**
   * null for a team's own usage; for a roll-up row, the number of teams whose usage it
   * adds up (the team and its descendants with usage shown)
   */
  rollupOf: number | null;
};

export type SpendReport = {
  period: string;
  /** local dates [from, to) in the policy timezone */
  from: string;
  to: string;
  by: SpendDimension[];
  currency: string;
  timezone: string;
  rows: SpendRow[];
  /** the sum of every row shown that is not a roll-up: what the report charges in all */
  total: SpendFigures;
  suppressedGroups: number;
  minGroupSize: number | null;
};

export type SpendReports = {
  report(session: Session, request: SpendRequest): Promise<SpendReport>;
};

export const spendReportsFor = perStore(createSpendReports);

function createSpendReports(store: Store): SpendReports {
  const reads = readServiceFor(store);
  const privacy = privacyFor(store);
  const usage = usageReadsFor(store);
  return {
    async report(session, request) {
      if (session.caller.role === 'member' || session.caller.role === 'ingest')
        throw new ForbiddenError(
          'spend reports need a viewer, governance or admin key (a member reads their own usage)',
        );
      const by = [...new Set(request.by)];
      const problems: { field: string; message: string }[] = [];
      for (const d of by)
        if (!(SPEND_DIMENSIONS as readonly string[]).includes(d))
          problems.push({
            field: 'by',
            message: `unknown dimension "${d}" (use ${SPEND_DIMENSIONS.join(', ')})`,
          });
      if (request.rollup && !by.includes('team'))
        problems.push({ field: 'rollup', message: 'rolling up the team tree needs `team` in by' });
      const active = await reads.active();
      const timezone = active?.ruleSet.ir.timezone ?? 'UTC';
      let window: ReturnType<typeof parseWindow> | null = null;
      try {
        window = parseWindow(request.period ?? 'this-month', timezone, reads.now());
      } catch (error) {
        if (!(error instanceof WindowError)) throw error;
        problems.push({ field: 'period', message: error.message });
      }
      if (problems.length > 0 || !window) throw new InvalidRequestError(problems);
      const [result, view] = await Promise.all([
        usage.usage(session, {
          from: window.from,
          to: window.to,
          groupBy: by.map((d) => USAGE_DIMENSION[d]),
        }),
        privacy.view(session),
      ]);
      const rows: SpendRow[] = result.rows.map((r) => {
        const group: SpendRow['group'] = {};
        for (const d of by) group[d] = r.group[USAGE_DIMENSION[d]] ?? null;
        return { group, rollupOf: null, ...figuresOf(r) };
      });
      const shown = request.rollup
        ? [...rows, ...rollups(rows, by, await teamTree(store), view.teamAbsent)]
        : rows;
      return {
        period: window.label,
        from: window.from,
        to: result.query.to, // below governance: before today (privacy.md, R11)
        by,
        currency: result.currency,
        timezone: result.timezone,
        rows: shown,
        total: sumFigures(rows),
        suppressedGroups: result.suppressed,
        minGroupSize: result.minGroupSize,
      };
    },
  };
}

function figuresOf(r: SpendFigures): SpendFigures {
  return {
    people: r.people,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cacheReadTokens: r.cacheReadTokens,
    cacheWriteTokens: r.cacheWriteTokens,
    tokens: r.tokens,
    cost: r.cost,
    requests: r.requests,
    unpricedRequests: r.unpricedRequests,
  };
}

/**
 * Adds figures, money exactly. `people` is the sum of the rows' people: distinct people
 * only where rows are of different teams (a person counts in their current team) and not
 * split by model, class, project or environment.
 */
function sumFigures(rows: readonly SpendFigures[]): SpendFigures {
  let cost = 0n;
  const out: SpendFigures = {
    people: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    tokens: 0,
    cost: '0',
    requests: 0,
    unpricedRequests: 0,
  };
  for (const r of rows) {
    out.people += r.people;
    out.inputTokens += r.inputTokens;
    out.outputTokens += r.outputTokens;
    out.cacheReadTokens += r.cacheReadTokens;
    out.cacheWriteTokens += r.cacheWriteTokens;
    out.tokens += r.tokens;
    out.requests += r.requests;
    out.unpricedRequests += r.unpricedRequests;
    cost += decimalToPico(r.cost);
  }
  out.cost = picoToDecimal(cost);
  return out;
}

/**
 * One row per (parent team, other dimensions) adding up the shown rows of the team and its
 * descendants: every team with child teams gets its roll-up, sorted by team.
 */
function rollups(
  rows: readonly SpendRow[],
  by: readonly SpendDimension[],
  tree: readonly { id: string; parentId: string | null }[],
  absent: (team: string) => boolean,
): SpendRow[] {
  const parentOf = new Map(tree.map((t) => [t.id, t.parentId]));
  const ancestors = (team: string): string[] => {
    const out: string[] = [];
    const seen = new Set([team]);
    for (
      let up = parentOf.get(team) ?? null;
      up !== null && !seen.has(up);
      up = parentOf.get(up) ?? null
    ) {
      seen.add(up);
      out.push(up);
    }
    return out;
  };
  const others = by.filter((d) => d !== 'team');
  const groups = new Map<
    string,
    { group: SpendRow['group']; rows: SpendRow[]; teams: Set<string> }
  >();
  const parents = new Set(tree.flatMap((t) => (t.parentId ? [t.parentId] : [])));
  for (const row of rows) {
    const team = row.group.team;
    if (!team) continue;
    for (const a of [team, ...ancestors(team)]) {
      if (absent(a) || !parents.has(a)) continue;
      const group: SpendRow['group'] = { team: a };
      for (const d of others) group[d] = row.group[d];
      const key = JSON.stringify(by.map((d) => group[d] ?? null));
      let entry = groups.get(key);
      if (!entry) {
        entry = { group, rows: [], teams: new Set() };
        groups.set(key, entry);
      }
      entry.rows.push(row);
      entry.teams.add(team);
    }
  }
  const out: SpendRow[] = [];
  for (const [, entry] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    out.push({ group: entry.group, rollupOf: entry.teams.size, ...sumFigures(entry.rows) });
  return out;
}
