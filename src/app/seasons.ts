// Seasons: archiving a season board's final standings when its season ends, and reading
// them back as the caller may see them.
//
// The sweep archives each (season board, ended season) once, a day after the season ends
// (usage of its last day still arriving counts), evaluated at the season's last instant
// under the active policy, whose hash is kept. Two copies are stored: the entries as
// governance sees them, and as every role below governance does (hidden teams left out,
// small cohorts suppressed, ranks recounted, boards.ts's rules). Below governance the
// people in it are shown under pseudonyms scoped to the board and season.
import { boardView } from '../engine/leaderboard.ts';
import { boardBounds, dayStart } from '../policy/windows.ts';
import type { Store } from '../store/db.ts';
import {
  archivedSeasons,
  archiveSeasonStandings,
  readSeasonStandings,
  type SeasonStandingsRow,
} from '../store/season-standings.ts';
import type { BoardEntry } from './boards.ts';
import type { Caller, Session } from './caller.ts';
import { NotFoundError } from './errors.ts';
import { boardHiddenOf, privacyFor } from './privacy.ts';
import { readServiceFor } from './reads.ts';

/** How long after a season ends its standings are archived (late usage of its last day). */
export const SEASON_ARCHIVE_DELAY_MS = 24 * 3_600_000;

/** Whose view the public copy is: a key below governance bound to nobody. */
const PUBLIC_READER: Caller = {
  keyId: 'season-archive',
  name: 'season archive',
  role: 'viewer',
  person: null,
};

/** The sweep's part: archives every season board of every season ended a day ago or more. */
export async function archiveEndedSeasons(store: Store, now: Date): Promise<number> {
  const reads = readServiceFor(store);
  const active = await reads.active();
  if (!active) return 0;
  const { ruleSet, hash } = active;
  const ir = ruleSet.ir;
  const boards = Object.entries(ir.leaderboards).filter(([, b]) => b.window === 'season');
  const seasons = Object.entries(ir.seasons ?? {});
  if (boards.length === 0 || seasons.length === 0) return 0;
  const [done, watermark] = await Promise.all([archivedSeasons(store), reads.marks(active)]);
  let archived = 0;
  for (const [season, s] of seasons) {
    const end = dayStart(s.until, ir.timezone);
    if (end.getTime() + SEASON_ARCHIVE_DELAY_MS > now.getTime()) continue;
    const todo = boards.filter(([board]) => !done.has(`${board}\u0000${season}`));
    if (todo.length === 0) continue;
    const last = new Date(end.getTime() - 1);
    const [{ evaluation }, publicView] = await Promise.all([
      reads.cache.current(ruleSet, last, watermark, 'boards'),
      privacyFor(store).viewNow(PUBLIC_READER),
    ]);
    const bounds = boardBounds(ir, 'season', last);
    for (const [board, b] of todo) {
      const entries = (hidden: Parameters<typeof boardView>[4]['hidden']) =>
        boardView(ruleSet, board, evaluation, null, { hidden }).entries;
      const row: SeasonStandingsRow = {
        board,
        season,
        label: s.label,
        subjectKind: b.subject,
        periodStart: bounds.start.toISOString(),
        periodEnd: bounds.end.toISOString(),
        policyHash: hash,
        named: entries(null),
        public: entries(boardHiddenOf(publicView, b.subject)),
        archivedAt: now.toISOString(),
      };
      if (await archiveSeasonStandings(store, row)) archived++;
    }
  }
  return archived;
}

export type SeasonStandings = Omit<SeasonStandingsRow, 'named' | 'public'> & {
  entries: BoardEntry[];
};

/** A season's archived standings, as this caller may see them (names for governance only). */
export async function seasonStandings(
  store: Store,
  session: Session,
  board: string,
  season: string,
): Promise<SeasonStandings> {
  const [view, row] = await Promise.all([
    privacyFor(store).view(session),
    readSeasonStandings(store, board, season),
  ]);
  if (!row) throw new NotFoundError('season standings', `${board} ${season}`);
  const { named, public: shared, ...rest } = row;
  const scope = `season:${board}:${season}`;
  const entries = (view.named ? named : shared) as Omit<BoardEntry, 'shown'>[];
  return {
    ...rest,
    entries: entries.map((e) => ({
      ...e,
      shown: e.subject === 'person' ? view.identity(e.id, scope) : { id: e.id, masked: false },
    })),
  };
}
