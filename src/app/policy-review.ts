// Quarterly review: the semantic diff of two policies and the impact replay of a past window
// under both. Each side is a stored version or policy text. The diff reads no data, so any
// policy reader may ask for it. The replay reads real usage, so (privacy.ts, docs/privacy.md):
// - replaying caller-written text, or any output that names or ranks people, is governance
//   work (audited when it names people);
// - below governance only published versions replay, over visible teams only, and the
//   report keeps aggregates: no person lists, no ranked entries, and counts of fewer than
//   the ACTIVE policy's min_group_size people left out (never the replayed versions' own);
//   it reads closed days only and ranks team boards on team-days of k people (R5, R11).

import {
  type GroupImpact,
  type ImpactReport,
  impactReplay,
  WindowError,
} from '../engine/impact.ts';
import type { CostReader } from '../engine/impact-costs.ts';
import type { UsageReader } from '../engine/ports.ts';
import { analyzePolicy } from '../policy/analyze.ts';
import { codes, hasErrors } from '../policy/diagnostics.ts';
import { type DiffInput, diffPolicies, type PolicyDiff } from '../policy/diff.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { Store } from '../store/db.ts';
import { storeCostReader } from '../store/impact-costs.ts';
import { findPolicyVersion, UnknownVersionError } from '../store/policies.ts';
import { usageReader } from '../store/usage-reader.ts';
import { activePolicyFor } from './active-policy.ts';
import type { Session } from './caller.ts';
import { ForbiddenError, InvalidWindowError, NotFoundError, PolicyInvalidError } from './errors.ts';
import { perStore } from './per-store.ts';
import {
  coarsePercent,
  countShown,
  type PrivacyView,
  privacyFor,
  teamBoardFloor,
  todayStart,
} from './privacy.ts';

export type PolicySideRequest = { version?: string | null; source?: string | null };
export type LoadedSide = DiffInput & { label: string };

export type DiffResult = PolicyDiff & { fromLabel: string; toLabel: string };

export type PolicyReview = {
  diff(session: Session, from: PolicySideRequest, to: PolicySideRequest): Promise<DiffResult>;
  impact(
    session: Session,
    from: PolicySideRequest,
    to: PolicySideRequest,
    window: string,
  ): Promise<ImpactReport>;
  /**
   * The replay of two loaded sides as this caller may see it (the command line loads files
   * and stored versions itself); whether the caller may replay text is the caller's check.
   */
  replay(session: Session, a: LoadedSide, b: LoadedSide, window: string): Promise<ImpactReport>;
};

export const policyReviewFor = perStore(createPolicyReview);

function createPolicyReview(store: Store): PolicyReview {
  const privacy = privacyFor(store);
  const policy = activePolicyFor(store);

  async function loadSide(side: PolicySideRequest, which: string): Promise<LoadedSide> {
    if ((side.version == null) === (side.source == null)) {
      throw new PolicyInvalidError([
        {
          severity: 'error',
          code: codes.invalidRequest,
          message: `${which}: give exactly one of \`version\` or \`source\``,
          range: {
            start: { line: 1, column: 1, offset: 0 },
            end: { line: 1, column: 1, offset: 0 },
          },
        },
      ]);
    }
    if (side.source != null) {
      const analysis = analyzePolicy(side.source);
      if (!analysis.ir || hasErrors(analysis.diagnostics))
        throw new PolicyInvalidError(analysis.diagnostics);
      return { ast: analysis.ast, ir: analysis.ir, label: `${which} source` };
    }
    try {
      const row = await findPolicyVersion(store, side.version ?? '');
      return { ast: parsePolicy(row.source).ast, ir: row.ir, label: `v${row.id} (${row.version})` };
    } catch (error) {
      if (error instanceof UnknownVersionError)
        throw new NotFoundError('policy version', side.version ?? '');
      throw error;
    }
  }

  return {
    async diff(_session, from, to) {
      const a = await loadSide(from, 'from');
      const b = await loadSide(to, 'to');
      return { ...diffPolicies(a, b), fromLabel: a.label, toLabel: b.label };
    },

    async impact(session, from, to, window) {
      const view = await privacy.view(session);
      if (!view.named && (from.source != null || to.source != null))
        throw new ForbiddenError(
          'replaying policy text over real usage needs a governance key: below governance, compare published versions',
        );
      return replay(session, await loadSide(from, 'from'), await loadSide(to, 'to'), window);
    },
    replay,
  };

  async function replay(
    session: Session,
    a: LoadedSide,
    b: LoadedSide,
    window: string,
  ): Promise<ImpactReport> {
    const { audit } = session;
    const view = await privacy.view(session);
    const reader = usageReader(store);
    const costs = storeCostReader(store);
    // below governance a replay reads closed days only, in both versions' timezones, and
    // ranks team boards on team-days of k people, as boards do: two replays of the same
    // versions do not differ by what anyone did today (R5, R11)
    const now = policy.now();
    const closedBefore = view.named
      ? undefined
      : new Date(
          Math.min(
            todayStart(now, a.ir.timezone).getTime(),
            todayStart(now, b.ir.timezone).getTime(),
          ),
        );
    let report: ImpactReport;
    try {
      report = await impactReplay({
        reader: view.named ? reader : visibleReader(reader, view.visibleTeams ?? []),
        costs: view.named ? costs : visibleCosts(costs, view),
        from: { ir: a.ir, label: a.label },
        to: { ir: b.ir, label: b.label },
        window,
        now,
        closedBefore,
        teamDayFloor: teamBoardFloor(view, 'team'),
        identity: (id) => view.identity(id, 'impact'),
      });
    } catch (error) {
      if (error instanceof WindowError) throw new InvalidWindowError(window, error.message);
      throw error;
    }
    if (view.named) {
      if (report.hasData)
        await audit.record({
          action: 'policy.impact',
          subject: `window ${report.window.label}`,
          detail: { from: a.label, to: b.label, named: true },
        });
      return report;
    }
    return aggregatesOnly(report, view);
  }
}

/** A reader over the people of visible teams only: hidden people are in no figure. */
export function visibleReader(reader: UsageReader, teams: readonly string[]): UsageReader {
  const visible = new Set(teams);
  const scope = { people: [] as string[], teams: [...teams] };
  const narrow = (s: Parameters<UsageReader['directory']>[0]) =>
    s
      ? {
          people: [],
          teams: (s.teams ?? []).filter((t) => visible.has(t)),
        }
      : scope;
  return {
    directory: (s) => reader.directory(narrow(s)),
    sumFacts: (windows, groupings, s) => reader.sumFacts(windows, groupings, narrow(s)),
    teamBudgetCosts: (periods, ts) =>
      reader.teamBudgetCosts(
        periods,
        ts.filter((t) => visible.has(t)),
      ),
    watermark: () => reader.watermark(),
    requestSizes: (start, end, thresholds, s) =>
      reader.requestSizes(start, end, thresholds, narrow(s)),
    teamDayFacts: (r) =>
      reader.teamDayFacts({ ...r, teams: r.teams.filter((t) => visible.has(t)) }),
    usage: (q) =>
      reader.usage({
        ...q,
        people: [],
        teams: (q.teams ?? [...visible]).filter((t) => visible.has(t)),
      }),
  };
}

function visibleCosts(costs: CostReader, view: PrivacyView): CostReader {
  return {
    async costSums(request) {
      const sums = await costs.costSums(request);
      return {
        // per-person sums only feed the replay's facts; hidden people are not in its directory
        person: sums.person,
        teamModel: sums.teamModel.filter((r) => r.team !== null && view.teamVisible(r.team)),
      };
    },
  };
}

/**
 * Withholds (null) counts a lower role may not see in one column of a table whose total is
 * shown elsewhere: rows left out, and counts under k. Then, while the withheld counts add up
 * to fewer than k (the total minus the shown cells would reveal them), the smallest shown
 * count is withheld too.
 */
export function withholdSmall(
  values: readonly (number | null)[],
  hiddenRow: readonly boolean[],
  shown: (n: number) => boolean,
): (number | null)[] {
  const out = values.map((n, i) => (n === null || hiddenRow[i] || !shown(n) ? null : n));
  const withheldSum = () =>
    values.reduce<number>((sum, n, i) => (out[i] === null ? sum + (n ?? 0) : sum), 0);
  if (withheldSum() === 0) return out;
  while (!shown(withheldSum())) {
    let smallest = -1;
    out.forEach((n, i) => {
      if (n !== null && n > 0 && (smallest < 0 || n < (out[smallest] as number))) smallest = i;
    });
    if (smallest < 0) break;
    out[smallest] = null;
  }
  return out;
}

export const SMALLER_GROUPS = '(smaller groups)';

/**
 * Teams or roles of fewer than k people are not shown by name: they are added up into one
 * row, `(smaller groups)`, and while that row holds fewer than k people the smallest named
 * group joins it. So every row, and the population minus the named rows, is k or more.
 */
export function mergeSmallGroups(
  list: GroupImpact[],
  shown: (n: number) => boolean,
): GroupImpact[] {
  const named = list.filter((g) => shown(g.people));
  const small = list.filter((g) => !shown(g.people));
  if (small.length === 0) return list;
  named.sort((a, b) => a.people - b.people);
  while (!shown(small.reduce((n, g) => n + g.people, 0)) && named.length > 0)
    small.push(named.shift() as GroupImpact);
  const add = (a: number | null, b: number | null) => (a ?? 0) + (b ?? 0);
  const merged = small.reduce<GroupImpact>(
    (m, g) => ({
      key: SMALLER_GROUPS,
      people: m.people + g.people,
      tierChanges: add(m.tierChanges, g.tierChanges),
      newly: Object.fromEntries(
        Object.entries(g.newly).map(([c, n]) => [c, add(m.newly[c as keyof typeof m.newly], n)]),
      ) as GroupImpact['newly'],
      noLonger: Object.fromEntries(
        Object.entries(g.noLonger).map(([c, n]) => [
          c,
          add(m.noLonger[c as keyof typeof m.noLonger], n),
        ]),
      ) as GroupImpact['noLonger'],
    }),
    {
      key: SMALLER_GROUPS,
      people: 0,
      tierChanges: 0,
      newly: { block: 0, require_approval: 0, require_justification: 0, notify: 0 },
      noLonger: { block: 0, require_approval: 0, require_justification: 0, notify: 0 },
    },
  );
  const order = new Map(list.map((g, i) => [g.key, i]));
  named.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
  return [...named, merged];
}

/** The report as a lower role may see it: aggregates that pass the active suppression. */
export function aggregatesOnly(report: ImpactReport, view: PrivacyView): ImpactReport {
  const shown = (n: number) => countShown(view, n);
  const transitions = report.tiers.transitions.filter((t) => shown(t.count));
  const keep = (counts: Record<string, number>) =>
    Object.fromEntries(Object.entries(counts).filter(([, n]) => shown(n)));
  const consequenceShown = (c: ImpactReport['consequences'][number]) =>
    [c.before, c.after, c.newly, c.noLonger].every(shown);
  // as consequences: who gains or loses a badge is a count that must hold k or more
  const badgeShown = (b: ImpactReport['badges'][number]) =>
    [b.before, b.after, b.newly, b.noLonger].every(shown);
  // a team or role smaller than k is left out; within the others, counts under k are
  // withheld, with enough others beside them that no total minus the shown parts is under k
  const groups = (all: GroupImpact[]): GroupImpact[] => {
    const list = mergeSmallGroups(all, shown);
    const none = list.map(() => false);
    const column = (values: (number | null)[]) => withholdSmall(values, none, shown);
    const tierChanges = column(list.map((g) => g.tierChanges));
    const kinds = Object.keys(list[0]?.newly ?? {}) as (keyof GroupImpact['newly'])[];
    const newly = new Map(kinds.map((c) => [c, column(list.map((g) => g.newly[c]))]));
    const noLonger = new Map(kinds.map((c) => [c, column(list.map((g) => g.noLonger[c]))]));
    return list.map((g, i) => ({
      ...g,
      tierChanges: tierChanges[i],
      newly: Object.fromEntries(kinds.map((c) => [c, newly.get(c)?.[i] ?? null])),
      noLonger: Object.fromEntries(kinds.map((c) => [c, noLonger.get(c)?.[i] ?? null])),
    })) as GroupImpact[];
  };
  const bins = report.quotaDistribution.bins;
  const none = bins.map(() => false);
  const binsBefore = withholdSmall(
    bins.map((b) => b.before),
    none,
    shown,
  );
  const binsAfter = withholdSmall(
    bins.map((b) => b.after),
    none,
    shown,
  );
  const withheld =
    report.tiers.transitions.length -
    transitions.length +
    report.escalations.filter((s) => !shown(s.before) || !shown(s.after)).length +
    report.rules.filter((r) => !shown(r.before) || !shown(r.after)).length +
    report.badges.filter((b) => !badgeShown(b)).length +
    report.consequences.filter((c) => !consequenceShown(c)).length;
  return {
    ...report,
    identities: 'masked',
    tiers: {
      changed: transitions.reduce((sum, t) => sum + t.count, 0),
      transitions,
      before: keep(report.tiers.before),
      after: keep(report.tiers.after),
      people: [],
    },
    escalations: report.escalations.filter((s) => shown(s.before) && shown(s.after)),
    consequences: report.consequences.filter(consequenceShown),
    groups: {
      byTeam: groups(report.groups.byTeam),
      byRole: groups(report.groups.byRole),
    },
    quotaDistribution: {
      ...report.quotaDistribution,
      bins: bins.map((b, i) => ({ ...b, before: binsBefore[i], after: binsAfter[i] })),
    },
    rules: report.rules.filter((r) => shown(r.before) && shown(r.after)),
    badges: report.badges.filter(badgeShown),
    // costs under two price tables are two equations over per-model usage (and byModel is
    // per-model outright): a model cell, perhaps one person's, so withheld (privacy.md, R1)
    cost: null,
    // per class, a count may be one person's requests: below governance only the totals
    requestLimits: report.requestLimits && { ...report.requestLimits, classes: [] },
    budgets: {
      // team budgets of visible teams are group figures; people's budgets are personal
      // on the rounded grid of group figures: the replay's window is the caller's choice,
      // and an exact team percent would give the team's spend (R13)
      flips: report.budgets.flips
        .filter((f) => f.subject.kind === 'team')
        .map((f) => ({
          ...f,
          before: f.before && { ...f.before, percent: coarsePercent(f.before.percent) },
          after: f.after && { ...f.after, percent: coarsePercent(f.after.percent) },
        })),
      count: report.budgets.flips.filter((f) => f.subject.kind === 'team').length,
      evaluated: report.budgets.evaluated,
    },
    leaderboards: report.leaderboards.map((b) => ({
      ...b,
      entering: [],
      leaving: [],
      largestMoves: [],
    })),
    notes: [
      ...report.notes,
      ...(report.cost
        ? [
            'below governance: cost under the two price tables is withheld (repriced totals give usage by model, which a team filter does not)',
          ]
        : []),
      `below governance: the replay reads closed days only (usage before ${report.window.dataTo}), covers visible teams only (restricted teams and teams under ${view.minGroupSize} people are left out), lists of people and ranked entries are withheld, teams and roles of fewer people are added up into one row (counts under k in any row show as withheld), and ${withheld} count(s) under ${view.minGroupSize} people were left out (the active policy's min_group_size)`,
    ],
  };
}
