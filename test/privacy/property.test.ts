// The suppression properties (docs/privacy.md): for random organisations, usage and viewer
// query sequences (filters, groupings, buckets, windows, budgets, boards),
// 1. adding usage to a person in a suppressed or restricted group changes no figure a viewer
//    receives, so no figure, difference or complement can determine that person's value;
// 2. moving usage between models and projects (same person, day and cost) changes no figure
//    a viewer receives, so no difference of two filters can single out the few people
//    inside a model, class, project or environment cell of a visible team. Viewer queries
//    that filter or group by those dimensions are refused, and the property checks it.
// Controls check each perturbation is real: governance's answer does change.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { auditFor } from '../../src/app/audit.ts';
import { boardsFor } from '../../src/app/boards.ts';
import { budgetsFor } from '../../src/app/budgets.ts';
import type { Caller, Session } from '../../src/app/caller.ts';
import { ForbiddenError } from '../../src/app/errors.ts';
import type { Role } from '../../src/app/roles.ts';
import { usageReadsFor } from '../../src/app/usage.ts';
import type { UsageDimension } from '../../src/engine/usage.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const NOW = new Date('2026-11-20T12:00:00Z');
const K = 3;
const MODELS = ['m1', 'm2'];
const PROJECTS = ['alpha', 'beta'];

const POLICY = `policy "property" version "1"
currency USD
timezone "UTC"
privacy { min_group_size ${K}  identities masked }
class standard "General"
class economy "Cheap"
model "m1" class standard price { input 1.00 output 2.00 }
model "m2" class economy price { input 1.00 output 2.00 }
leaderboard people "People" { subject person window month score = 1000 / log10(10 + tokens) top 100 }
leaderboard teams "Teams" { subject team window month score = 1000 / log10(10 + tokens) top 100 }
tier base "Base" { limit 10M tokens per month models any }
assign base otherwise
budget each team { 1,000 USD per month }
budget org { 10,000 USD per month }
`;

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
  activePolicyFor(store).setClock(() => NOW);
  await publishPolicySource(store, { source: POLICY, activate: true });
}, 120_000);
afterAll(async () => {
  await store?.destroy();
});

const session = (role: Role): Session => {
  const caller: Caller = { keyId: `k-${role}`, name: role, role, person: null };
  return { caller, audit: auditFor(store, caller) };
};

type Team = { size: number; restricted: boolean };
type Event = { person: number; day: number; model: string; project: string; tokens: number };
type UsageAsk = {
  kind: 'usage';
  groupBy: UsageDimension[];
  bucket: 'day' | 'week' | 'month' | null;
  teams: number[] | null;
  models: string[] | null;
  projects: string[] | null;
  from: number;
  days: number;
};
type Ask = UsageAsk | { kind: 'budgets'; team: number | null } | { kind: 'board'; name: string };

const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}`;

const orgArb = fc.record({
  teams: fc.array(fc.record({ size: fc.integer({ min: 1, max: 5 }), restricted: fc.boolean() }), {
    minLength: 2,
    maxLength: 5,
  }),
  teamless: fc.integer({ min: 0, max: 2 }),
});

const askArb = (teams: number): fc.Arbitrary<Ask> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('usage' as const),
      groupBy: fc.subarray<UsageDimension>(['team', 'model', 'class', 'project', 'environment']),
      bucket: fc.constantFrom('day' as const, 'week' as const, 'month' as const, null),
      teams: fc.option(fc.subarray([...Array(teams).keys()], { minLength: 1 }), { nil: null }),
      models: fc.option(fc.subarray(MODELS, { minLength: 1 }), { nil: null }),
      projects: fc.option(fc.subarray(PROJECTS, { minLength: 1 }), { nil: null }),
      from: fc.integer({ min: 1, max: 20 }),
      days: fc.integer({ min: 1, max: 20 }),
    }),
    fc.record({
      kind: fc.constant('budgets' as const),
      team: fc.option(fc.integer({ min: 0, max: teams - 1 }), { nil: null }),
    }),
    fc.record({ kind: fc.constant('board' as const), name: fc.constantFrom('people', 'teams') }),
  );

const eventArb = (people: number) =>
  fc.record({
    person: fc.integer({ min: 0, max: people - 1 }),
    day: fc.integer({ min: 1, max: 20 }),
    model: fc.constantFrom(...MODELS),
    project: fc.constantFrom(...PROJECTS),
    tokens: fc.integer({ min: 1, max: 5_000_000 }),
  });

let run = 0;

describe('viewer figures never determine a suppressed or restricted person', () => {
  it('are unchanged by any change to a hidden person’s usage', async () => {
    await fc.assert(
      fc.asyncProperty(
        orgArb.chain((org) => {
          const people = org.teams.reduce((s, t) => s + t.size, 0) + org.teamless;
          return fc.record({
            org: fc.constant(org),
            usage: fc.array(eventArb(people), { minLength: 1, maxLength: 25 }),
            asks: fc.array(askArb(org.teams.length), { minLength: 1, maxLength: 6 }),
            extra: fc.array(eventArb(people), { minLength: 1, maxLength: 3 }),
            pick: fc.nat(),
          });
        }),
        async ({ org, usage, asks, extra, pick }) => {
          const r = run++;
          // each run is its own organisation inside the same database (ids namespaced)
          const teamId = (i: number) => `r${r}-t${i}`;
          const members: { id: string; team: number | null }[] = [];
          org.teams.forEach((t: Team, i: number) => {
            for (let j = 0; j < t.size; j++) members.push({ id: `r${r}-t${i}-p${j}`, team: i });
          });
          for (let j = 0; j < org.teamless; j++)
            members.push({ id: `r${r}-none-p${j}`, team: null });
          const hidden = members.filter(
            (m) => m.team !== null && (org.teams[m.team].restricted || org.teams[m.team].size < K),
          );
          if (hidden.length === 0) return; // nothing to protect in this organisation
          const target = hidden[pick % hidden.length];
          const events = (list: Event[], tag: string, person?: string) =>
            list.map((e, i) => ({
              type: 'usage',
              id: `r${r}-${tag}-${i}`,
              ts: `${day(e.day)}T10:00:00Z`,
              person: person ?? members[e.person].id,
              model: e.model,
              project: e.project,
              input_tokens: e.tokens,
              output_tokens: Math.floor(e.tokens / 3),
            }));
          await load([
            ...org.teams.map((t: Team, i: number) => ({
              type: 'team',
              team: teamId(i),
              sensitivity: t.restricted ? 'restricted' : 'normal',
            })),
            ...members.map((m) => ({
              type: 'person',
              person: m.id,
              ...(m.team === null ? {} : { team: teamId(m.team) }),
              role: 'engineer',
              opted_in: true,
            })),
            ...events(usage, 'u'),
          ]);
          const before = await answers(asks, teamId, 'viewer');
          const governanceBefore = await answers(asks, teamId, 'governance');
          // the hidden person uses more: every other figure stays as it was
          await load(events(extra, 'x', target.id));
          const after = await answers(asks, teamId, 'viewer');
          expect(after).toEqual(before);
          // control: the perturbation is real (governance's org-wide usage moved)
          const total = async () =>
            JSON.stringify(await usageReadsFor(store).usage(session('governance'), {}));
          expect(await total()).not.toEqual(JSON.stringify(governanceBefore.at(-1)));
        },
      ),
      { numRuns: Number(process.env.PRIVACY_RUNS ?? 15), endOnFailure: true },
    );
  }, 600_000);
});

describe('viewer figures never single out a model, class or project cell of a team', () => {
  it('are unchanged when usage moves between models and projects', async () => {
    await fc.assert(
      fc.asyncProperty(
        orgArb.chain((org) => {
          const people = org.teams.reduce((s, t) => s + t.size, 0) + org.teamless;
          return fc.record({
            org: fc.constant(org),
            usage: fc.array(eventArb(people), { minLength: 1, maxLength: 25 }),
            moves: fc.array(fc.record({ model: fc.boolean(), project: fc.boolean() }), {
              minLength: 25,
              maxLength: 25,
            }),
            asks: fc.array(
              askArb(org.teams.length).map((ask): Ask => {
                // answers about this organisation only (the database holds every run's)
                if (ask.kind === 'usage') return { ...ask, teams: ask.teams ?? [0] };
                if (ask.kind === 'budgets') return { ...ask, team: ask.team ?? 0 };
                return { kind: 'usage', ...EVERYTHING_BY_TEAM };
              }),
              { minLength: 1, maxLength: 6 },
            ),
          });
        }),
        async ({ org, usage, moves, asks }) => {
          const r = run++;
          const other = (list: readonly string[], v: string) => list[(list.indexOf(v) + 1) % 2];
          // the same people, days, tokens and cost; other models and projects
          const moved = usage.map((e, i) => ({
            ...e,
            model: moves[i].model ? other(MODELS, e.model) : e.model,
            project: moves[i].project ? other(PROJECTS, e.project) : e.project,
          }));
          const worlds = [`r${r}a`, `r${r}b`];
          await loadWorld(worlds[0], org, usage);
          await loadWorld(worlds[1], org, moved);
          // (the last answer, the org-wide usage, covers both worlds: left out)
          const seen = async (world: string, role: Role) =>
            JSON.stringify(
              (await answers(asks, (i) => `${world}-t${i}`, role)).slice(0, -1),
            ).replaceAll(world, 'world');
          expect(await seen(worlds[1], 'viewer')).toEqual(await seen(worlds[0], 'viewer'));
          // control: where the move changed a cell, governance sees it
          const byCell = (world: string) =>
            usageReadsFor(store)
              .usage(session('governance'), {
                from: day(1),
                to: day(21),
                groupBy: ['team', 'model', 'project'],
                teams: org.teams.map((_t: Team, i: number) => `${world}-t${i}`),
              })
              .then((u) => JSON.stringify(u.rows).replaceAll(world, 'world'));
          // a moved event of someone in a team (the teamless are in no team's cells)
          const inTeams = org.teams.reduce((s, t) => s + t.size, 0);
          const changed = moved.some(
            (e, i) =>
              e.person < inTeams && (e.model !== usage[i].model || e.project !== usage[i].project),
          );
          if (changed) expect(await byCell(worlds[1])).not.toEqual(await byCell(worlds[0]));
        },
      ),
      { numRuns: Number(process.env.PRIVACY_RUNS ?? 15), endOnFailure: true },
    );
  }, 600_000);
});

// 3. Time cannot difference: windows, buckets and repeated reads. A viewer may ask a visible
//    team's usage over [a, b) and [a, b + 1), by day and by month, overlapping windows,
//    cost centres, read the team board, and ask again later. A team-day with fewer than k active people (the
//    team has k members, but fewer used anything that day), and anything used today, must
//    then change no figure: otherwise two windows or two reads differ by exactly it.
type TimeAsk = {
  groupBy: UsageDimension[];
  bucket: 'day' | 'week' | 'month' | null;
  teams: number[] | null;
  from: number;
  to: number;
};

const timeAskArb = (teams: number): fc.Arbitrary<TimeAsk> =>
  fc.record({
    groupBy: fc.subarray<UsageDimension>(['team', 'costCenter']),
    bucket: fc.constantFrom('day' as const, 'week' as const, 'month' as const, null),
    teams: fc.option(fc.subarray([...Array(teams).keys()], { minLength: 1 }), { nil: null }),
    from: fc.integer({ min: 1, max: 21 }),
    to: fc.integer({ min: 2, max: 22 }),
  });

/**
 * Each ask over [a, b), [a, b + 1), the other bucket, and the month so far (the default
 * window, today included): differences of any two are in the sequence.
 */
const withNeighbours = (
  asks: TimeAsk[],
): (TimeAsk | (Omit<TimeAsk, 'from' | 'to'> & { from: null; to: null }))[] =>
  asks.flatMap((a) => {
    const from = Math.min(a.from, a.to - 1);
    return [
      { ...a, from },
      { ...a, from, to: a.to + 1 },
      { ...a, from, bucket: a.bucket === 'day' ? ('month' as const) : ('day' as const) },
      { ...a, from: null, to: null },
    ];
  });

describe('viewer figures never difference a small team-day or a read against a later one', () => {
  it('are unchanged by usage on a team-day with fewer than k active people, or today', async () => {
    const TODAY = 20; // NOW is 2026-11-20: a closed day is before it
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(fc.integer({ min: K, max: K + 2 }), { minLength: 1, maxLength: 3 })
          .chain((sizes) => {
            const people = sizes.reduce((s, n) => s + n, 0);
            return fc.record({
              sizes: fc.constant(sizes),
              centres: fc.array(fc.constantFrom('cc1', 'cc2'), {
                minLength: sizes.length,
                maxLength: sizes.length,
              }),
              usage: fc.array(eventArb(people), { minLength: 1, maxLength: 40 }),
              asks: fc.array(timeAskArb(sizes.length), { minLength: 1, maxLength: 4 }),
              pick: fc.nat(),
              today: fc.boolean(),
              tokens: fc.integer({ min: 1, max: 5_000_000 }),
            });
          }),
        async ({ sizes, centres, usage, asks, pick, today, tokens }) => {
          const r = run++;
          const world = `r${r}`;
          const members: { id: string; team: number }[] = [];
          sizes.forEach((n, i) => {
            for (let j = 0; j < n; j++) members.push({ id: `${world}-t${i}-p${j}`, team: i });
          });
          const teamId = (i: number) => `${world}-t${i}`;
          // the team-days with fewer than k active people, and who was active in each
          const active = new Map<string, Set<number>>();
          for (const e of usage) {
            const key = `${members[e.person].team}:${e.day}`;
            active.set(key, (active.get(key) ?? new Set()).add(e.person));
          }
          const small: { person: number; day: number }[] = [];
          sizes.forEach((_n, team) => {
            for (let d = 1; d < TODAY; d++) {
              const who = active.get(`${team}:${d}`) ?? new Set<number>();
              if (who.size >= K) continue;
              // someone already active that day, or anyone in the team on a quiet day: the
              // team-day stays under k with the extra usage
              const candidates = who.size
                ? [...who]
                : members.flatMap((m, i) => (m.team === team ? [i] : []));
              for (const person of candidates) small.push({ person, day: d });
            }
          });
          // or today, in a team whose whole membership is already active today: a team-day
          // of k people, whose figure a read now and a read later would difference
          const busy = pick % sizes.length;
          const todays = members.flatMap((m, i) =>
            m.team === busy
              ? [{ person: i, day: TODAY, model: MODELS[0], project: PROJECTS[0], tokens: 1000 }]
              : [],
          );
          const base = today ? [...usage, ...todays] : usage;
          const target = today ? todays[pick % todays.length] : small[pick % small.length];
          if (!target) return; // every closed team-day had k active people
          await load([
            ...sizes.map((_n, i) => ({
              type: 'team',
              team: teamId(i),
              cost_center: `${world}-${centres[i]}`,
              sensitivity: 'normal',
            })),
            ...members.map((m) => ({
              type: 'person',
              person: m.id,
              team: teamId(m.team),
              role: 'engineer',
              opted_in: true,
            })),
            ...usageRows(
              world,
              members.map((m) => m.id),
              base,
            ),
          ]);
          const all = withNeighbours(asks);
          const seen = async (role: Role) => {
            const out: unknown[] = [];
            for (const a of all) {
              const result = await usageReadsFor(store).usage(session(role), {
                from: a.from === null ? null : day(a.from),
                to: a.to === null ? null : day(a.to),
                groupBy: a.groupBy,
                bucket: a.bucket,
                teams: (a.teams ?? [...sizes.keys()]).map(teamId),
              });
              out.push({ to: result.query.to, rows: result.rows });
            }
            // and the team board: ranked on the same team-days below governance (R5)
            const board = await boardsFor(store).board(session(role), { name: 'teams' });
            out.push(
              board
                .page(0, board.total)
                .filter((e) => e.id.startsWith(`${world}-`))
                .map((e) => [e.id, e.rank, e.score, e.explanation.facts]),
            );
            return JSON.stringify(out).replaceAll(world, 'world');
          };
          const governanceTotal = () =>
            usageReadsFor(store)
              .usage(session('governance'), {
                from: day(1),
                to: day(TODAY + 1),
                teams: sizes.map((_n, i) => teamId(i)),
              })
              .then((u) => JSON.stringify(u.rows));
          const before = await seen('viewer');
          const governanceBefore = await governanceTotal();
          await load([
            {
              type: 'usage',
              id: `${world}-extra`,
              ts: `${day(target.day)}T11:00:00Z`,
              person: members[target.person].id,
              model: MODELS[0],
              project: PROJECTS[0],
              input_tokens: tokens,
              output_tokens: 0,
            },
          ]);
          expect(await seen('viewer')).toEqual(before);
          // control: the extra usage is real, and governance sees it
          expect(await governanceTotal()).not.toEqual(governanceBefore);
        },
      ),
      { numRuns: Number(process.env.PRIVACY_RUNS ?? 15), endOnFailure: true },
    );
  }, 600_000);
});

const EVERYTHING_BY_TEAM = {
  groupBy: ['team'] as UsageDimension[],
  bucket: 'day' as const,
  teams: [0],
  models: null,
  projects: null,
  from: 1,
  days: 20,
};

/** One organisation, its people named `<world>-t<i>-p<j>`, with this usage. */
async function loadWorld(world: string, org: { teams: Team[]; teamless: number }, usage: Event[]) {
  const members: { id: string; team: number | null }[] = [];
  org.teams.forEach((t, i) => {
    for (let j = 0; j < t.size; j++) members.push({ id: `${world}-t${i}-p${j}`, team: i });
  });
  for (let j = 0; j < org.teamless; j++) members.push({ id: `${world}-none-p${j}`, team: null });
  await load([
    ...org.teams.map((t, i) => ({
      type: 'team',
      team: `${world}-t${i}`,
      sensitivity: t.restricted ? 'restricted' : 'normal',
    })),
    ...members.map((m) => ({
      type: 'person',
      person: m.id,
      ...(m.team === null ? {} : { team: `${world}-t${m.team}` }),
      role: 'engineer',
      opted_in: true,
    })),
    ...usageRows(
      world,
      members.map((m) => m.id),
      usage,
    ),
  ]);
}

/** Usage rows `<world>-u<i>`, event i by person ids[event.person]. */
function usageRows(world: string, ids: readonly string[], list: readonly Event[]) {
  return list.map((e, i) => ({
    type: 'usage',
    id: `${world}-u${i}`,
    ts: `${day(e.day)}T10:00:00Z`,
    person: ids[e.person],
    model: e.model,
    project: e.project,
    input_tokens: e.tokens,
    output_tokens: Math.floor(e.tokens / 3),
  }));
}

async function load(rows: Record<string, unknown>[]) {
  const result = await ingestBatch(
    store,
    rows.map((data, line) => ({ line, data })),
    { now: NOW.getTime() },
  );
  if (result.totals.rejected > 0) throw new Error(JSON.stringify(result.results.slice(0, 3)));
}

/** What a caller receives for each ask, plus (last) the unfiltered usage. */
async function answers(asks: Ask[], teamId: (i: number) => string, role: Role): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const ask of asks) {
    const s = session(role);
    if (ask.kind === 'usage') {
      const to = Math.min(ask.from + ask.days, 21);
      const request = {
        from: day(ask.from),
        to: to > ask.from ? day(to) : day(21),
        groupBy: ask.groupBy,
        bucket: ask.bucket,
        teams: ask.teams?.map(teamId) ?? null,
        models: ask.models,
        projects: ask.projects,
      };
      const refused = !!(ask.models || ask.projects || ask.groupBy.some((d) => d !== 'team'));
      if (refused && role !== 'governance') {
        // below governance only team filters and groupings answer
        await expect(usageReadsFor(store).usage(s, request)).rejects.toThrow(ForbiddenError);
        out.push('refused');
        continue;
      }
      const result = await usageReadsFor(store).usage(s, request);
      out.push({ rows: result.rows, suppressed: result.suppressed });
    } else if (ask.kind === 'budgets') {
      const result = await budgetsFor(store).list(s, {
        team: ask.team === null ? null : teamId(ask.team),
      });
      out.push({
        rows: result.rows.map((r) => [r.subjectKind, r.subjectId, r.state.spent, r.state.percent]),
        suppressed: result.suppressed,
      });
    } else {
      const board = await boardsFor(store).board(s, { name: ask.name });
      out.push(
        board.page(0, board.total).map((e) => [e.shown.id, e.rank, e.score, e.explanation.facts]),
      );
    }
  }
  out.push(await usageReadsFor(store).usage(session(role), {}));
  return out;
}
