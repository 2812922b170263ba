// Leaderboards: the board at a window (default now) and the previous window, through the
// org evaluation cache, as this caller may see it. Privacy (restricted subjects, small
// teams and cohorts, scoped pseudonyms, no quasi-identifiers) comes from privacy.ts.
import { type Purpose, teamDayPurpose } from '../engine/cache.ts';
import { boardNeeds, factWindows } from '../engine/facts.ts';
import { parseWindow, replayClock, WindowError } from '../engine/impact-window.ts';
import {
  type BoardView,
  type BoardViewEntry,
  boardView,
  previousClock,
  type Standing,
  standingOf,
  UnknownBoardError,
} from '../engine/leaderboard.ts';
import { teamDayUnreadable } from '../engine/team-days.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import type { BadgeAward } from '../policy/evaluate/types.ts';
import type { Store } from '../store/db.ts';
import { boardSnapshotsFor } from './board-snapshots.ts';
import type { Session } from './caller.ts';
import {
  ForbiddenError,
  InvalidRequestError,
  NoActivePolicyError,
  NotFoundError,
} from './errors.ts';
import { perStore } from './per-store.ts';
import { boardHiddenOf, type Identity, privacyFor, teamBoardFloor, todayStart } from './privacy.ts';
import { readServiceFor } from './reads.ts';

export type BoardEntry = BoardViewEntry & {
  /** the subject as this caller sees it (a board- and period-scoped pseudonym when masked) */
  shown: Identity;
};

export type Board = Omit<BoardView, 'entries'> & {
  /** entries shown (after the cohort filter, top and privacy rules) */
  total: number;
  /** entries offset to offset + limit, each as this caller may see its subject */
  page(offset: number, limit: number): BoardEntry[];
  stale: boolean;
  dataVersion: string;
};

export type BoardRequest = { name: string; cohort?: string | null; window?: string | null };

export type Boards = {
  board(session: Session, request: BoardRequest): Promise<Board>;
  /**
   * The caller's own standing on a board (their team's, on a team board): the rank, or why
   * they are not ranked. The board's privacy rules decide what counts as shown.
   */
  standing(session: Session, board: string): Promise<Standing & { stale: boolean }>;
  /**
   * The badges a person earns now under the active policy (each in its window), from the
   * boards cache; null unless the caller is that person or governance (as their figures).
   */
  badges(session: Session, person: string): Promise<BadgeAward[] | null>;
};

export const boardsFor = perStore(createBoards);

function createBoards(store: Store): Boards {
  const reads = readServiceFor(store);
  const privacy = privacyFor(store);
  const snapshots = boardSnapshotsFor(store);
  return {
    async board(session, args) {
      const active = await reads.active();
      if (!active) throw new NoActivePolicyError();
      const { ruleSet } = active;
      const watermark = await reads.marks(active);
      const definition = ruleSet.ir.leaderboards[args.name];
      if (!definition) throw new NotFoundError('leaderboard', args.name);
      const now = reads.now();
      let clock = now;
      if (args.window) {
        try {
          clock = replayClock(parseWindow(args.window, ruleSet.ir.timezone, now), now);
        } catch (error) {
          if (error instanceof WindowError)
            throw new InvalidRequestError([{ field: 'window', message: error.message }]);
          throw error;
        }
      }
      const view = await privacy.view(session);
      const floor = teamBoardFloor(view, definition.subject);
      const source = boardSource(ruleSet, args.name, floor, clock, now);
      // a fresh server answers from the persisted boards while it evaluates its own
      const served = (at: Date) =>
        source.purpose === 'boards'
          ? snapshots.current(reads.cache, ruleSet, at, watermark)
          : reads.cache.current(ruleSet, at, watermark, source.purpose);
      const [current, previous] = await Promise.all([
        served(source.clock),
        served(previousClock(ruleSet, args.name, source.clock)),
      ]);
      let board: BoardView;
      try {
        board = boardView(ruleSet, args.name, current.evaluation, previous.evaluation, {
          cohort: args.cohort,
          hidden: boardHiddenOf(view, definition.subject),
        });
      } catch (error) {
        if (error instanceof UnknownBoardError) throw new NotFoundError('leaderboard', args.name);
        throw error;
      }
      // pseudonyms are scoped to this board and period: they join to nothing else
      const scope = `board:${board.name}:${board.periodStart}`;
      const { entries, ...about } = board;
      return {
        ...about,
        total: entries.length,
        page: (offset, limit) =>
          entries.slice(offset, offset + limit).map(
            (e): BoardEntry => ({
              rank: e.rank,
              subject: e.subject,
              id: e.id,
              cohort: e.cohort,
              score: e.score,
              // not copied: a persisted board parses its explanations when first asked
              get explanation() {
                return e.explanation;
              },
              movement: e.movement,
              shown:
                e.subject === 'person' ? view.identity(e.id, scope) : { id: e.id, masked: false },
            }),
          ),
        stale: current.stale || previous.stale,
        dataVersion: current.watermark,
      };
    },

    async badges(session, person) {
      const view = await privacy.view(session);
      if (view.identity(person).masked) return null;
      const active = await reads.active();
      if (!active?.ruleSet.badges.length) return [];
      const { ruleSet } = active;
      const watermark = await reads.marks(active);
      const current = await reads.cache.current(ruleSet, reads.now(), watermark, 'boards');
      const found = current.evaluation.result.subjects.find(
        (s) => s.kind === 'person' && s.id === person,
      );
      return found?.badges ?? [];
    },

    async standing(session, name) {
      const person = session.caller.person;
      if (!person)
        throw new ForbiddenError('this key is bound to no person: a standing is your own');
      const active = await reads.active();
      if (!active) throw new NoActivePolicyError();
      const { ruleSet } = active;
      const watermark = await reads.marks(active);
      const definition = ruleSet.ir.leaderboards[name];
      if (!definition) throw new NotFoundError('leaderboard', name);
      const view = await privacy.view(session);
      const floor = teamBoardFloor(view, definition.subject);
      const source = boardSource(ruleSet, name, floor, reads.now(), reads.now());
      const current = await reads.cache.current(ruleSet, source.clock, watermark, source.purpose);
      const id =
        definition.subject === 'person'
          ? person
          : current.evaluation.directory.people.find((p) => p.id === person)?.team;
      if (!id) throw new NotFoundError('team of person', person);
      const hidden = boardHiddenOf(view, definition.subject);
      return {
        ...standingOf(ruleSet, name, current.evaluation, id, hidden),
        stale: current.stale,
      };
    },
  };
}

/**
 * The evaluation a board is read from, and its clock: the live boards evaluation, or (with
 * a team-day floor, privacy.ts) team boards over team-days of at least that many people, as
 * of the end of the last closed day: today is in no figure below governance.
 */
function boardSource(
  ruleSet: RuleSet,
  board: string,
  floor: number | null,
  clock: Date,
  now: Date,
): { purpose: Purpose; clock: Date } {
  if (floor === null) return { purpose: 'boards', clock };
  const tz = ruleSet.ir.timezone;
  const unreadable = teamDayUnreadable(factWindows(boardNeeds(ruleSet).team, clock, tz));
  if (unreadable)
    throw new ForbiddenError(
      `the team board "${board}" needs a governance key: ${unreadable}, and below governance team boards are made of whole team-days`,
    );
  const closed = new Date(todayStart(now, tz).getTime() - 1);
  return { purpose: teamDayPurpose(floor), clock: clock < closed ? clock : closed };
}

/**
 * Evaluates the active policy's boards, at now and at each board's previous window, into
 * the cache, and its team boards as lower roles read them (on the team-day floor): on a
 * large organisation the first board after a start otherwise waits seconds for these. A
 * request made meanwhile joins the same load, or is answered from the persisted boards
 * (board-snapshots.ts), which are read first. Resolves with the number of boards once they
 * can be answered: with every board persisted, as soon as those are read, the loads going
 * on after (`evaluated` settles when they end); otherwise once evaluated. The window before
 * each previous one is evaluated last when no server persisted it.
 */
export async function warmLeaderboards(
  store: Store,
): Promise<{ boards: number; evaluated: Promise<void> }> {
  const reads = readServiceFor(store);
  const active = await reads.active();
  if (!active) return { boards: 0, evaluated: Promise.resolve() };
  const { ruleSet } = active;
  const watermark = await reads.marks(active);
  const now = reads.now();
  const loads = new Map<string, { purpose: Purpose; clock: Date }>();
  const add = (purpose: Purpose, clock: Date) =>
    loads.set(`${purpose}|${clock.getTime()}`, { purpose, clock });
  const boards = Object.entries(ruleSet.ir.leaderboards);
  add('boards', now);
  for (const [name, definition] of boards) {
    add('boards', previousClock(ruleSet, name, now));
    // the floor of a lower role's view (privacy.ts, teamBoardFloor): the active policy's k
    if (definition.subject !== 'team') continue;
    const floor = ruleSet.ir.privacy.minGroupSize;
    try {
      const source = boardSource(ruleSet, name, floor, now, now);
      add(source.purpose, source.clock);
      add(source.purpose, previousClock(ruleSet, name, source.clock));
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
    }
  }
  const wanted = [...loads.values()];
  const load = (l: { purpose: Purpose; clock: Date }) =>
    reads.cache.current(ruleSet, l.clock, watermark, l.purpose);
  // persisted boards first (a restart): board requests are answered from them meanwhile,
  // so the loads need not hurry: one at a time in the background (team-day boards, which
  // nothing answers meanwhile, first), and the start-up work waiting on this goes on
  const persisted = wanted.filter((l) => l.purpose === 'boards').map((l) => l.clock);
  const snapshots = boardSnapshotsFor(store);
  const complete = await snapshots.prefetch(ruleSet, persisted);
  // then the window before each previous one, which a board of the previous window compares
  // with: read when a server persisted it, else evaluated last, in the background, so that
  // it gets persisted (a new version) and the previous window's first board need not wait
  const older = new Map<number, Date>();
  for (const [name] of boards) {
    const clock = previousClock(ruleSet, name, previousClock(ruleSet, name, now));
    if (!loads.has(`boards|${clock.getTime()}`)) older.set(clock.getTime(), clock);
  }
  const olderPersisted = await snapshots.prefetch(ruleSet, [...older.values()]);
  const later =
    olderPersisted || !snapshots.enabled
      ? []
      : [...older.values()].map((clock) => ({ purpose: 'boards' as Purpose, clock }));
  const inTurn = (list: readonly { purpose: Purpose; clock: Date }[]) =>
    (async () => {
      for (const l of list) await load(l);
    })().catch(() => {}); // a board request evaluates what failed here
  if (complete) {
    wanted.sort((a, b) => Number(a.purpose === 'boards') - Number(b.purpose === 'boards'));
    return { boards: boards.length, evaluated: inTurn([...wanted, ...later]) };
  }
  // nothing persisted (a first start, a new version): the boards can be answered once
  // evaluated (a board request made meanwhile joins the load it needs)
  await Promise.all(wanted.map(load));
  return { boards: boards.length, evaluated: inTurn(later) };
}
