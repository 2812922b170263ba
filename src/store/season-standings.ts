// The archive of past seasons' final standings (src/app/seasons.ts decides what goes in
// and who reads which copy).
import { isoText, type Queryable } from './sql-text.ts';

export type SeasonStandingsRow = {
  board: string;
  season: string;
  label: string | null;
  subjectKind: 'person' | 'team';
  periodStart: string;
  periodEnd: string;
  policyHash: string;
  named: readonly unknown[];
  public: readonly unknown[];
  archivedAt: string;
};

/** The (board, season) pairs already archived. */
export async function archivedSeasons(db: Queryable): Promise<Set<string>> {
  const rows = await db.query<{ board: string; season: string }>(
    'select board, season from season_standings',
  );
  return new Set(rows.map((r) => `${r.board}\u0000${r.season}`));
}

/** Archives one board's final standings of a season; an archived pair is left alone. */
export async function archiveSeasonStandings(
  db: Queryable,
  row: SeasonStandingsRow,
): Promise<boolean> {
  const inserted = await db.query(
    `insert into season_standings (board, season, label, subject_kind, period_start, period_end,
                                   policy_hash, named, public, archived_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10)
     on conflict (board, season) do nothing
     returning board`,
    [
      row.board,
      row.season,
      row.label,
      row.subjectKind,
      row.periodStart,
      row.periodEnd,
      row.policyHash,
      JSON.stringify(row.named),
      JSON.stringify(row.public),
      row.archivedAt,
    ],
  );
  return inserted.length === 1;
}

export async function readSeasonStandings(
  db: Queryable,
  board: string,
  season: string,
): Promise<SeasonStandingsRow | null> {
  const [row] = await db.query<SeasonStandingsRow>(
    `select board, season, label, subject_kind as "subjectKind",
            ${isoText('period_start')} as "periodStart", ${isoText('period_end')} as "periodEnd",
            policy_hash as "policyHash", named, public, ${isoText('archived_at')} as "archivedAt"
       from season_standings where board = $1 and season = $2`,
    [board, season],
  );
  return row ?? null;
}
