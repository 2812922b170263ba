// Impact replay: what a new policy version would have done to a past window of real usage.
// The window's stored facts are read once (for what both versions need) and evaluated at
// the window's end under each version; the report compares tiers, escalations, rules,
// budget bands, leaderboards and (when prices changed) cost, computed exactly from token
// sums under each price table. Identities pass through the caller's `identity` function,
// so the report is masked unless the caller may see names.
import { buildRuleSet } from '../policy/compile/index.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import { evaluate } from '../policy/evaluate/index.ts';
import type {
  Band,
  EvaluateInput,
  EvaluateResult,
  FactsByWindow,
  SubjectResult,
} from '../policy/evaluate/types.ts';
import { canonicalJson, policyHash, type RuleSetIR } from '../policy/ir.ts';
import { type PriceTable, picoToDecimal } from '../policy/price.ts';
import { collectOrg, collectTeamDays, factWindow, type Needs, needsOf } from './facts.ts';
import { type CostReader, type CostSums, usageCostReader } from './impact-costs.ts';
import { compareRequestLimits, type RequestLimitImpact } from './impact-requests.ts';
import {
  daysUpTo,
  parseWindow,
  type ReviewWindow,
  replayClock,
  WindowError,
} from './impact-window.ts';
import { kendallTauB } from './kendall.ts';
import type { Directory, FactWindow, UsageReader } from './ports.ts';
import { TeamDayWindowError } from './team-days.ts';

export { WindowError } from './impact-window.ts';

export type Identity = { id: string; masked: boolean };
export type IdentityFn = (personId: string) => Identity;

export type ImpactSide = {
  label: string;
  name: string | null;
  version: string | null;
  hash: string;
};

export type TierMove = { person: Identity; from: string | null; to: string | null };
export type StepDelta = {
  ladder: string;
  trigger: 'at' | 'forecast';
  threshold: number;
  /** subjects (people, teams, the org) at which the step fires */
  before: number;
  after: number;
  delta: number;
};
export type RuleDelta = {
  rule: string;
  severity: string | null;
  before: number;
  after: number;
  delta: number;
};
/** Subjects who earn a badge under each version, and who earn it under only one. */
export type BadgeDelta = {
  badge: string;
  label: string | null;
  before: number;
  after: number;
  /** earned under the new version only */
  newly: number;
  /** earned under the old version only */
  noLonger: number;
};
export type BudgetFlip = {
  subject: Identity & { kind: 'person' | 'team' | 'org' };
  budget: string;
  before: { band: Band; percent: number } | null;
  after: { band: Band; percent: number } | null;
};
export type RankMove = {
  subject: Identity;
  before: { rank: number; cohort: string | null; score: number };
  after: { rank: number; cohort: string | null; score: number };
  /** positive: moved up */
  move: number;
};
export type BoardImpact = {
  name: string;
  presentIn: 'both' | 'old' | 'new';
  top: { before: number | null; after: number | null };
  ranked: { before: number; after: number; both: number };
  /** how many enter and leave the published top N (the lists below are capped) */
  counts: { entering: number; leaving: number; moved: number };
  entering: { subject: Identity; rank: number; cohort: string | null; score: number }[];
  leaving: { subject: Identity; rank: number; cohort: string | null; score: number }[];
  largestMoves: RankMove[];
  /** Kendall's tau-b between the two scores, over subjects ranked under both; null below 2 */
  kendallTau: number | null;
};
export type CostLine = { key: string; before: string; after: string; delta: string };
export type CostImpact = {
  currency: string;
  total: CostLine;
  byModel: CostLine[];
  /** the teams whose cost moves most */
  byTeam: CostLine[];
  /** models one side does not price (their usage costs 0 on that side) */
  unpriced: { before: string[]; after: string[] };
};

/** The friction a policy puts on a person, strongest first. */
export const CONSEQUENCES = [
  'block',
  'require_approval',
  'require_justification',
  'notify',
] as const;
export type Consequence = (typeof CONSEQUENCES)[number];

/** People on whom an action falls (through an escalation step or a rule), before and after. */
export type ConsequenceDelta = {
  action: Consequence;
  before: number;
  after: number;
  /** under the new version only */
  newly: number;
  /** under the old version only */
  noLonger: number;
};

/** One team's or role's share of the change, in counts of people. */
export type GroupImpact = {
  key: string;
  people: number;
  /** null: withheld (fewer people than the viewer's suppression threshold) */
  tierChanges: number | null;
  /** people on whom each action newly falls */
  newly: Record<Consequence, number | null>;
  /** people on whom each action no longer falls */
  noLonger: Record<Consequence, number | null>;
};

/** People by quota use (percent of their limit), in bins, with the ladder's thresholds. */
export type QuotaDistribution = {
  /** null counts: withheld below the viewer's suppression threshold */
  bins: { from: number; to: number | null; before: number | null; after: number | null }[];
  /** the new version's quota steps (percent of the limit) */
  thresholds: { trigger: 'at' | 'forecast'; percent: number; action: string }[];
};

export type ImpactReport = {
  from: ImpactSide;
  to: ImpactSide;
  window: {
    spec: string;
    label: string;
    from: string;
    to: string;
    timezone: string;
    evaluatedAt: string;
    /** the day after the last local day whose usage is in the replay (at most `to`) */
    dataTo: string;
  };
  /** false: the window holds no usage, outcomes or flags; every other section is empty */
  hasData: boolean;
  message: string | null;
  identities: 'named' | 'masked';
  population: { people: number; teams: number };
  tiers: {
    changed: number;
    transitions: { from: string | null; to: string | null; count: number }[];
    before: Record<string, number>;
    after: Record<string, number>;
    people: TierMove[];
  };
  escalations: StepDelta[];
  /** people newly (or no longer) blocked, asked for approval, justification, notified */
  consequences: ConsequenceDelta[];
  /** the same, per team and per role (people without one under "(none)") */
  groups: { byTeam: GroupImpact[]; byRole: GroupImpact[] };
  quotaDistribution: QuotaDistribution;
  rules: RuleDelta[];
  /** badges awarded before and after (absent from neither version: every declared badge) */
  badges: BadgeDelta[];
  budgets: { flips: BudgetFlip[]; count: number; evaluated: number };
  leaderboards: BoardImpact[];
  /** null when both versions price every model the same */
  cost: CostImpact | null;
  /** requests each version's request limits warn about and block; null without any */
  requestLimits: RequestLimitImpact | null;
  /** how the replay was done, for the review document */
  notes: string[];
};

export type ImpactRequest = {
  reader: UsageReader;
  from: { ir: RuleSetIR; label: string };
  to: { ir: RuleSetIR; label: string };
  /** `2026-Q3`, `2026-10`, `2026-W40`, `last-quarter`, ... in the new version's timezone */
  window: string;
  identity: IdentityFn;
  /** the present, for relative windows and windows still running (default: the real clock) */
  now?: Date;
  /** exact cost sums under several price tables (default: through `reader.usage`) */
  costs?: CostReader;
  /** cap on listed individuals per section (default 25); counts are always complete */
  listLimit?: number;
  /** nothing at or after this instant is read (below governance: the start of today) */
  closedBefore?: Date;
  /**
   * Team boards ranked on team-days of at least this many people (team-days.ts), as lower
   * roles' team boards are; left out when a version's boards cannot be read that way.
   */
  teamDayFloor?: number | null;
};

const side = (x: { ir: RuleSetIR; label: string }): ImpactSide => ({
  label: x.label,
  name: x.ir.meta.name,
  version: x.ir.meta.version,
  hash: policyHash(x.ir),
});

function pricesOf(ir: RuleSetIR): PriceTable {
  return { currency: ir.currency, models: ir.models };
}

const samePrices = (a: RuleSetIR, b: RuleSetIR) =>
  a.currency === b.currency && canonicalJson(a.models) === canonicalJson(b.models);

const picoToNumber = (pico: bigint) => Number(pico) / 1e12;

type DayWindow = Extract<FactWindow, { kind: 'days' }>;

/** The day-based windows, at `clock`, whose `cost` fact either version reads. */
function costWindows(needs: Needs, clock: Date, timeZone: string): DayWindow[] {
  const keys = new Set<string>();
  for (const kind of ['person', 'team', 'org'] as const) {
    for (const [key, facts] of needs[kind]) if (facts.has('cost')) keys.add(key);
  }
  // sub-day windows keep the stored cost (they are read from raw events)
  return [...keys]
    .sort()
    .map((key) => factWindow(key, ['cost'], clock, timeZone))
    .filter((w): w is DayWindow => w.kind === 'days');
}

/**
 * Replaces the stored `cost` facts (priced at ingest) with cost under table `t` of the
 * sums. Team and org values are exact sums of their people's costs.
 */
function applyCosts(input: EvaluateInput, sums: CostSums, t: number, directory: Directory): void {
  const teamOf = new Map(directory.people.map((p) => [p.id, p.team]));
  const team = new Map<string, Map<string, bigint>>();
  const org = new Map<string, bigint>();
  for (const [key, byPerson] of sums.person) {
    const teams = new Map<string, bigint>();
    let total = 0n;
    for (const [id, costs] of byPerson) {
      total += costs[t];
      const tm = teamOf.get(id);
      if (tm) teams.set(tm, (teams.get(tm) ?? 0n) + costs[t]);
    }
    team.set(key, teams);
    org.set(key, total);
  }
  // in place: the input is this replay's own, and the evaluator keeps no reference to it
  const set = (facts: FactsByWindow, pick: (key: string) => bigint | undefined) => {
    for (const key of sums.person.keys()) {
      const values = facts[key];
      if (values && 'cost' in values) values.cost = picoToNumber(pick(key) ?? 0n);
    }
  };
  for (const s of input.subjects) {
    set(s.facts, (key) =>
      s.kind === 'person' ? sums.person.get(key)?.get(s.id)?.[t] : team.get(key)?.get(s.id),
    );
  }
  if (input.org) set(input.org.facts, (key) => org.get(key));
}

function costImpact(sums: CostSums, a: RuleSetIR, b: RuleSetIR, limit: number): CostImpact {
  type Pair = { before: bigint; after: bigint };
  const total: Pair = { before: 0n, after: 0n };
  const byModel = new Map<string, Pair>();
  const byTeam = new Map<string, Pair>();
  const add = (map: Map<string, Pair>, key: string, before: bigint, after: bigint) => {
    const cur = map.get(key) ?? { before: 0n, after: 0n };
    cur.before += before;
    cur.after += after;
    map.set(key, cur);
  };
  const models = new Set<string>();
  for (const r of sums.teamModel) {
    const [before, after] = r.pico;
    models.add(r.model);
    add(byModel, r.model, before, after);
    add(byTeam, r.team ?? '(no team)', before, after);
    total.before += before;
    total.after += after;
  }
  const line = (key: string, v: Pair): CostLine => ({
    key,
    before: picoToDecimal(v.before),
    after: picoToDecimal(v.after),
    delta: picoToDecimal(v.after - v.before),
  });
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const byDelta = (x: [string, Pair], y: [string, Pair]) => {
    const dx = abs(x[1].after - x[1].before);
    const dy = abs(y[1].after - y[1].before);
    return dx === dy ? (x[0] < y[0] ? -1 : 1) : dy > dx ? 1 : -1;
  };
  const unpriced = (ir: RuleSetIR) => [...models].filter((m) => !(m in ir.models)).sort();
  return {
    currency: b.currency,
    total: line('total', total),
    byModel: [...byModel].sort(byDelta).map(([k, v]) => line(k, v)),
    byTeam: [...byTeam]
      .filter(([, v]) => v.before !== v.after)
      .sort(byDelta)
      .slice(0, limit)
      .map(([k, v]) => line(k, v)),
    unpriced: { before: unpriced(a), after: unpriced(b) },
  };
}

// ---------- comparisons ----------

type Pair = {
  a: SubjectResult | undefined;
  b: SubjectResult | undefined;
  kind: 'person' | 'team';
  id: string;
};

function pairs(ra: EvaluateResult, rb: EvaluateResult): Pair[] {
  const map = new Map<string, Pair>();
  const key = (s: SubjectResult) => `${s.kind}\u0000${s.id}`;
  for (const s of ra.subjects) map.set(key(s), { a: s, b: undefined, kind: s.kind, id: s.id });
  for (const s of rb.subjects) {
    const cur = map.get(key(s));
    if (cur) cur.b = s;
    else map.set(key(s), { a: undefined, b: s, kind: s.kind, id: s.id });
  }
  // no sort: every list built from these pairs is sorted where it is reported
  return [...map.values()];
}

function compareTiers(ps: Pair[], identity: IdentityFn, limit: number): ImpactReport['tiers'] {
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  const transitions = new Map<string, { from: string | null; to: string | null; count: number }>();
  const people: TierMove[] = [];
  let changed = 0;
  for (const p of ps) {
    if (p.kind !== 'person') continue;
    const ta = p.a?.tier?.tier ?? null;
    const tb = p.b?.tier?.tier ?? null;
    if (ta) before[ta] = (before[ta] ?? 0) + 1;
    if (tb) after[tb] = (after[tb] ?? 0) + 1;
    if (ta === tb) continue;
    changed++;
    const k = `${ta}\u0000${tb}`;
    const t = transitions.get(k) ?? { from: ta, to: tb, count: 0 };
    t.count++;
    transitions.set(k, t);
    people.push({ person: identity(p.id), from: ta, to: tb });
  }
  people.sort((x, y) => (x.person.id < y.person.id ? -1 : 1));
  return {
    changed,
    transitions: [...transitions.values()].sort(
      (x, y) => y.count - x.count || String(x.from).localeCompare(String(y.from)),
    ),
    before,
    after,
    people: people.slice(0, limit),
  };
}

function compareSteps(
  ra: EvaluateResult,
  rb: EvaluateResult,
  ia: RuleSetIR,
  ib: RuleSetIR,
): StepDelta[] {
  const counts = new Map<string, StepDelta>();
  const levelKey = (ladder: string, trigger: string, threshold: number) =>
    `${ladder}\u0000${trigger}\u0000${threshold}`;
  // every step of either ladder is listed, even at zero, so a new step shows as 0 → n
  for (const ir of [ia, ib]) {
    for (const [ladder, l] of Object.entries(ir.escalations)) {
      for (const s of l.steps) {
        counts.set(levelKey(ladder, s.trigger, s.threshold), {
          ladder,
          trigger: s.trigger,
          threshold: s.threshold,
          before: 0,
          after: 0,
          delta: 0,
        });
      }
    }
  }
  const tally = (r: EvaluateResult, field: 'before' | 'after') => {
    const seen = new Set<string>();
    const note = (owner: string, steps: SubjectResult['escalations']) => {
      for (const s of steps) {
        const k = levelKey(s.ladder, s.trigger, s.threshold);
        const once = `${k}\u0000${owner}`;
        if (seen.has(once)) continue;
        seen.add(once);
        const entry = counts.get(k);
        if (entry) entry[field]++;
      }
    };
    for (const s of r.subjects) note(`${s.kind}:${s.id}`, s.escalations);
    if (r.org) note('org', r.org.escalations);
  };
  tally(ra, 'before');
  tally(rb, 'after');
  return [...counts.values()]
    .map((c) => ({ ...c, delta: c.after - c.before }))
    .sort((x, y) =>
      x.ladder !== y.ladder
        ? x.ladder.localeCompare(y.ladder)
        : x.trigger !== y.trigger
          ? x.trigger === 'at'
            ? -1
            : 1
          : x.threshold - y.threshold,
    );
}

/** The actions that fall on a subject: its escalation steps' and its rules'. */
function actionsOf(s: SubjectResult | undefined): Set<Consequence> {
  const out = new Set<Consequence>();
  if (!s) return out;
  for (const x of [...s.escalations, ...s.rules]) out.add(x.action.kind);
  return out;
}

const noCounts = (): Record<Consequence, number> => ({
  block: 0,
  require_approval: 0,
  require_justification: 0,
  notify: 0,
});

function consequencesOf(
  ps: Pair[],
  directory: Directory,
): { totals: ConsequenceDelta[]; groups: ImpactReport['groups'] } {
  const totals = new Map<Consequence, ConsequenceDelta>(
    CONSEQUENCES.map((action) => [action, { action, before: 0, after: 0, newly: 0, noLonger: 0 }]),
  );
  const person = new Map(directory.people.map((p) => [p.id, p]));
  const byTeam = new Map<string, GroupImpact>();
  const byRole = new Map<string, GroupImpact>();
  const group = (map: Map<string, GroupImpact>, key: string) => {
    let g = map.get(key);
    if (!g) {
      g = { key, people: 0, tierChanges: 0, newly: noCounts(), noLonger: noCounts() };
      map.set(key, g);
    }
    return g;
  };
  for (const p of ps) {
    if (p.kind !== 'person') continue;
    const entry = person.get(p.id);
    const groups = [group(byTeam, entry?.team ?? '(none)'), group(byRole, entry?.role ?? '(none)')];
    const before = actionsOf(p.a);
    const after = actionsOf(p.b);
    const tierChanged = (p.a?.tier?.tier ?? null) !== (p.b?.tier?.tier ?? null);
    for (const g of groups) {
      g.people++;
      if (tierChanged) g.tierChanges = (g.tierChanges ?? 0) + 1;
    }
    for (const action of CONSEQUENCES) {
      const t = totals.get(action) as ConsequenceDelta;
      const x = before.has(action);
      const y = after.has(action);
      if (x) t.before++;
      if (y) t.after++;
      if (y && !x) {
        t.newly++;
        for (const g of groups) g.newly[action] = (g.newly[action] ?? 0) + 1;
      }
      if (x && !y) {
        t.noLonger++;
        for (const g of groups) g.noLonger[action] = (g.noLonger[action] ?? 0) + 1;
      }
    }
  }
  const changed = (g: GroupImpact) =>
    (g.tierChanges ?? 0) +
    CONSEQUENCES.reduce((n, c) => n + (g.newly[c] ?? 0) + (g.noLonger[c] ?? 0), 0);
  const order = (map: Map<string, GroupImpact>) =>
    [...map.values()].sort((x, y) => changed(y) - changed(x) || x.key.localeCompare(y.key));
  return {
    totals: [...totals.values()],
    groups: { byTeam: order(byTeam), byRole: order(byRole) },
  };
}

/** Bins of 10 points up to 150%, then one open bin; people with a quota under each side. */
function quotaDistribution(ps: Pair[], ib: RuleSetIR): QuotaDistribution {
  const width = 10;
  const last = 150;
  const bins: QuotaDistribution['bins'] = [];
  for (let from = 0; from < last; from += width)
    bins.push({ from, to: from + width, before: 0, after: 0 });
  bins.push({ from: last, to: null, before: 0, after: 0 });
  const put = (percent: number, field: 'before' | 'after') => {
    const i = Math.min(Math.floor(Math.max(percent, 0) / width), bins.length - 1);
    bins[i][field] = (bins[i][field] ?? 0) + 1;
  };
  for (const p of ps) {
    if (p.kind !== 'person') continue;
    if (p.a?.quota) put(p.a.quota.percent, 'before');
    if (p.b?.quota) put(p.b.quota.percent, 'after');
  }
  const steps = ib.escalations.quota?.steps ?? [];
  return {
    bins,
    thresholds: steps.map((x) => ({
      trigger: x.trigger,
      percent: x.threshold,
      action: x.action.kind,
    })),
  };
}

function compareRules(
  ra: EvaluateResult,
  rb: EvaluateResult,
  ia: RuleSetIR,
  ib: RuleSetIR,
): RuleDelta[] {
  const names = [...new Set([...Object.keys(ia.rules), ...Object.keys(ib.rules)])].sort();
  const count = (r: EvaluateResult, name: string) =>
    r.subjects.filter((s) => s.rules.some((f) => f.rule === name)).length;
  return names.map((rule) => {
    const before = count(ra, rule);
    const after = count(rb, rule);
    return {
      rule,
      severity: ib.rules[rule]?.severity ?? ia.rules[rule]?.severity ?? null,
      before,
      after,
      delta: after - before,
    };
  });
}

function compareBadges(ps: Pair[], ia: RuleSetIR, ib: RuleSetIR): BadgeDelta[] {
  const names = [
    ...new Set([...Object.keys(ia.badges ?? {}), ...Object.keys(ib.badges ?? {})]),
  ].sort();
  const earns = (s: SubjectResult | undefined, name: string) =>
    s?.badges.some((x) => x.badge === name) ?? false;
  return names.map((badge) => {
    const delta: BadgeDelta = {
      badge,
      label: ib.badges?.[badge]?.label ?? ia.badges?.[badge]?.label ?? null,
      before: 0,
      after: 0,
      newly: 0,
      noLonger: 0,
    };
    for (const p of ps) {
      const x = earns(p.a, badge);
      const y = earns(p.b, badge);
      if (x) delta.before++;
      if (y) delta.after++;
      if (y && !x) delta.newly++;
      if (x && !y) delta.noLonger++;
    }
    return delta;
  });
}

function compareBudgets(
  ps: Pair[],
  ra: EvaluateResult,
  rb: EvaluateResult,
  identity: IdentityFn,
  limit: number,
): ImpactReport['budgets'] {
  const flips: BudgetFlip[] = [];
  let evaluated = 0;
  const one = (
    subject: BudgetFlip['subject'],
    ba: SubjectResult['budgets'],
    bb: SubjectResult['budgets'],
  ) => {
    const keys = [...new Set([...ba.map((b) => b.key), ...bb.map((b) => b.key)])].sort();
    for (const key of keys) {
      evaluated++;
      const x = ba.find((b) => b.key === key);
      const y = bb.find((b) => b.key === key);
      if (x && y && x.band === y.band) continue;
      // a budget only one version has is a flip only when it is not green there
      if (!x && y?.band === 'green') continue;
      if (!y && x?.band === 'green') continue;
      flips.push({
        subject,
        budget: key,
        before: x ? { band: x.band, percent: round1(x.percent) } : null,
        after: y ? { band: y.band, percent: round1(y.percent) } : null,
      });
    }
  };
  for (const p of ps) {
    const who = p.kind === 'person' ? identity(p.id) : { id: p.id, masked: false };
    one({ ...who, kind: p.kind }, p.a?.budgets ?? [], p.b?.budgets ?? []);
  }
  one({ id: 'org', masked: false, kind: 'org' }, ra.org?.budgets ?? [], rb.org?.budgets ?? []);
  const severity = (f: BudgetFlip) => Math.abs((f.after?.percent ?? 0) - (f.before?.percent ?? 0));
  flips.sort((x, y) => severity(y) - severity(x) || x.subject.id.localeCompare(y.subject.id));
  return { flips: flips.slice(0, Math.max(limit, 0)), count: flips.length, evaluated };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

function compareBoards(
  ps: Pair[],
  ia: RuleSetIR,
  ib: RuleSetIR,
  identity: IdentityFn,
  limit: number,
): BoardImpact[] {
  const names = [
    ...new Set([...Object.keys(ia.leaderboards), ...Object.keys(ib.leaderboards)]),
  ].sort();
  return names.map((name) => {
    const inA = name in ia.leaderboards;
    const inB = name in ib.leaderboards;
    const entering: BoardImpact['entering'] = [];
    const leaving: BoardImpact['leaving'] = [];
    const moves: RankMove[] = [];
    const xs: number[] = [];
    const ys: number[] = [];
    let rankedA = 0;
    let rankedB = 0;
    for (const p of ps) {
      const ea = p.a?.leaderboards[name];
      const eb = p.b?.leaderboards[name];
      const ranked = (e: typeof ea) => e?.eligible === true && e.rank !== null && e.score !== null;
      const ra = ranked(ea);
      const rb = ranked(eb);
      if (ra) rankedA++;
      if (rb) rankedB++;
      if (!ra && !rb) continue;
      const who = p.kind === 'person' ? identity(p.id) : { id: p.id, masked: false };
      const topA = ra && ea?.inTop === true;
      const topB = rb && eb?.inTop === true;
      if (topB && !topA && eb)
        entering.push({
          subject: who,
          rank: eb.rank ?? 0,
          cohort: eb.cohort,
          score: round4(eb.score ?? 0),
        });
      if (topA && !topB && ea)
        leaving.push({
          subject: who,
          rank: ea.rank ?? 0,
          cohort: ea.cohort,
          score: round4(ea.score ?? 0),
        });
      if (ra && rb && ea && eb) {
        xs.push(ea.score ?? 0);
        ys.push(eb.score ?? 0);
        const move = (ea.rank ?? 0) - (eb.rank ?? 0);
        moves.push({
          subject: who,
          before: { rank: ea.rank ?? 0, cohort: ea.cohort, score: round4(ea.score ?? 0) },
          after: { rank: eb.rank ?? 0, cohort: eb.cohort, score: round4(eb.score ?? 0) },
          move,
        });
      }
    }
    const byRank = (
      x: { rank: number; cohort: string | null },
      y: { rank: number; cohort: string | null },
    ) => String(x.cohort).localeCompare(String(y.cohort)) || x.rank - y.rank;
    entering.sort(byRank);
    leaving.sort(byRank);
    moves.sort(
      (x, y) => Math.abs(y.move) - Math.abs(x.move) || x.subject.id.localeCompare(y.subject.id),
    );
    const tau = kendallTauB(xs, ys);
    return {
      name,
      presentIn: inA && inB ? 'both' : inA ? 'old' : 'new',
      top: {
        before: ia.leaderboards[name]?.top ?? null,
        after: ib.leaderboards[name]?.top ?? null,
      },
      ranked: { before: rankedA, after: rankedB, both: xs.length },
      counts: {
        entering: entering.length,
        leaving: leaving.length,
        moved: moves.filter((m) => m.move !== 0).length,
      },
      entering: entering.slice(0, limit),
      leaving: leaving.slice(0, limit),
      largestMoves: moves.filter((m) => m.move !== 0).slice(0, limit),
      kendallTau: tau === null ? null : round4(tau),
    };
  });
}

// ---------- the replay ----------

/** Team pairs of both versions' boards over team-days of at least `floor` people; null when unreadable. */
async function teamDayPairs(
  reader: UsageReader,
  rsA: RuleSet,
  rsB: RuleSet,
  clock: Date,
  floor: number,
): Promise<Pair[] | null> {
  try {
    const [a, b] = await Promise.all(
      [rsA, rsB].map(async (rs) => {
        const { input } = await collectTeamDays(reader, rs, clock, floor);
        return evaluate(rs, input, { only: 'boards' });
      }),
    );
    return pairs(a, b).filter((p) => p.kind === 'team');
  } catch (error) {
    if (error instanceof TeamDayWindowError) return null;
    throw error;
  }
}

async function windowHasData(
  reader: UsageReader,
  days: { from: string; to: string },
): Promise<boolean> {
  if (days.from >= days.to) return false;
  const sums = await reader.sumFacts(
    [
      {
        kind: 'days',
        from: days.from,
        to: days.to,
        key: 'window',
        environment: null,
        facts: ['requests', 'tasks', 'redaction_failures', 'sensitive_flags'],
      },
    ],
    ['org'],
  );
  const values = sums.org?.get('window')?.get('org');
  return values !== undefined && Object.values(values).some((v) => v > 0);
}

export async function impactReplay(request: ImpactRequest): Promise<ImpactReport> {
  const { reader, identity } = request;
  const limit = request.listLimit ?? 25;
  const now = request.now ?? new Date();
  const ia = request.from.ir;
  const ib = request.to.ir;
  const timezone = ib.timezone;
  const window: ReviewWindow = parseWindow(request.window, timezone, now);
  let clock = replayClock(window, now);
  if (request.closedBefore && request.closedBefore < now) {
    if (window.start >= request.closedBefore)
      throw new WindowError(
        `window ${window.label} has no closed day yet (it begins ${window.from}): this replay reads closed days only`,
      );
    clock = replayClock(window, request.closedBefore);
  }
  const days = daysUpTo(window, clock);
  const report: ImpactReport = {
    from: side(request.from),
    to: side(request.to),
    window: {
      spec: window.spec,
      label: window.label,
      from: window.from,
      to: window.to,
      timezone,
      evaluatedAt: clock.toISOString(),
      dataTo: days.to,
    },
    hasData: false,
    message: null,
    identities: 'named',
    population: { people: 0, teams: 0 },
    tiers: { changed: 0, transitions: [], before: {}, after: {}, people: [] },
    escalations: [],
    consequences: [],
    groups: { byTeam: [], byRole: [] },
    quotaDistribution: { bins: [], thresholds: [] },
    rules: [],
    badges: [],
    budgets: { flips: [], count: 0, evaluated: 0 },
    leaderboards: [],
    cost: null,
    requestLimits: null,
    notes: [],
  };
  const noData = () => {
    report.message = `no usage in window ${window.label} (${window.from} to ${window.to}, ${timezone}): nothing to replay`;
    return report;
  };
  const rsA = buildRuleSet(ia);
  const rsB = buildRuleSet(ib);
  const reprice = !samePrices(ia, ib);
  const costs = request.costs ?? usageCostReader(reader);
  const evaluated: {
    a: EvaluateResult;
    b: EvaluateResult;
    sums: CostSums | null;
    directory: Directory;
  } = {
    a: null as unknown as EvaluateResult,
    b: null as unknown as EvaluateResult,
    sums: null,
    directory: { people: [], teams: [] },
  };
  if (ia.timezone === ib.timezone) {
    // one read of the window's facts serves both versions
    // the presence check, the facts and the cost sums are independent reads: on a server
    // they run side by side on separate connections
    const needs = needsOf([rsA, rsB]);
    const [presence, { input, directory }, sums] = await Promise.all([
      // with repricing, the cost sums already show whether the window has usage
      reprice ? Promise.resolve(null) : windowHasData(reader, days),
      collectOrg(reader, needs, clock, timezone),
      reprice
        ? costs.costSums({
            windows: costWindows(needs, clock, timezone),
            tables: [pricesOf(ia), pricesOf(ib)],
            review: days,
          })
        : Promise.resolve(null),
    ]);
    const present =
      presence ?? ((sums?.teamModel.length ?? 0) > 0 || (await windowHasData(reader, days)));
    if (!present) return noData();
    evaluated.directory = directory;
    if (sums) {
      evaluated.sums = sums;
      applyCosts(input, sums, 0, directory);
      evaluated.a = evaluate(rsA, input);
      applyCosts(input, sums, 1, directory);
      evaluated.b = evaluate(rsB, input);
    } else {
      evaluated.a = evaluate(rsA, input);
      evaluated.b = evaluate(rsB, input);
    }
  } else {
    // different timezones draw different day boundaries: each version reads its own
    if (!(await windowHasData(reader, days))) return noData();
    for (const [rs, slot, t] of [
      [rsA, 'a', 0],
      [rsB, 'b', 1],
    ] as const) {
      const needs = needsOf([rs]);
      const tz = rs.ir.timezone;
      const { input, directory } = await collectOrg(reader, needs, clock, tz);
      evaluated.directory = directory;
      if (!reprice) {
        evaluated[slot] = evaluate(rs, input);
        continue;
      }
      const sums = await costs.costSums({
        windows: costWindows(needs, clock, tz),
        tables: [pricesOf(ia), pricesOf(ib)],
        review: days,
      });
      evaluated.sums ??= sums;
      applyCosts(input, sums, t, directory);
      evaluated[slot] = evaluate(rs, input);
    }
  }
  report.hasData = true;
  const a = { result: evaluated.a };
  const b = { result: evaluated.b };
  const ps = pairs(a.result, b.result);
  report.population = {
    people: ps.filter((p) => p.kind === 'person').length,
    teams: ps.filter((p) => p.kind === 'team').length,
  };
  let masked = false;
  const seen: IdentityFn = (id) => {
    const who = identity(id);
    masked ||= who.masked;
    return who;
  };
  report.tiers = compareTiers(ps, seen, limit);
  report.escalations = compareSteps(a.result, b.result, ia, ib);
  const people = consequencesOf(ps, evaluated.directory);
  report.consequences = people.totals;
  report.groups = people.groups;
  report.quotaDistribution = quotaDistribution(ps, ib);
  report.rules = compareRules(a.result, b.result, ia, ib);
  report.badges = compareBadges(ps, ia, ib);
  report.budgets = compareBudgets(ps, a.result, b.result, seen, limit);
  if (request.teamDayFloor == null) report.leaderboards = compareBoards(ps, ia, ib, seen, limit);
  else {
    const floor = request.teamDayFloor;
    const teamDays = await teamDayPairs(reader, rsA, rsB, clock, floor);
    // people from the replay, teams from their team-days: each board ranks its own kind
    const people = ps.filter((p) => p.kind === 'person');
    const boards = compareBoards([...people, ...(teamDays ?? [])], ia, ib, seen, limit);
    const teamBoard = (name: string) =>
      ia.leaderboards[name]?.subject === 'team' || ib.leaderboards[name]?.subject === 'team';
    report.leaderboards = teamDays ? boards : boards.filter((b) => !teamBoard(b.name));
    report.notes.push(
      teamDays
        ? `team boards are ranked on team-days of at least ${floor} active people, with the costs stored at ingest`
        : `team boards are left out: a version's boards read a window that is not made of whole team-days`,
    );
  }
  masked ||= identity('probe@identity').masked;
  report.identities = masked ? 'masked' : 'named';
  if (evaluated.sums) report.cost = costImpact(evaluated.sums, ia, ib, limit);
  report.requestLimits = await compareRequestLimits(
    reader,
    ia,
    ib,
    window.start,
    new Date(clock.getTime() + 1),
  );
  report.notes.push(
    `both versions evaluated at ${clock.toISOString()} (the end of ${window.label} in ${timezone}): monthly quotas and budgets are the window's last month, quarterly boards its quarter, trailing windows end there`,
    reprice
      ? `prices differ: cost facts were recomputed under each version's full price model (${evaluated.sums?.person.size ?? 0} window(s)), exactly in pico-units`
      : 'prices are the same in both versions: the costs stored at ingest were used',
  );
  return report;
}
