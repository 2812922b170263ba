import { Migration } from '@mikro-orm/migrations';

// The archive of past seasons: a season board's final standings, evaluated at the season's
// last instant under the policy then active (its hash kept), once per board and season.
// `named` holds the entries as governance sees them; `public` as any role below governance
// does (hidden teams left out, cohorts under min_group_size suppressed, ranks recounted);
// identities in it are masked when read.
export class Migration20261207034100_season_standings extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists season_standings (
        board text not null,
        season text not null,
        label text,
        subject_kind text not null,
        period_start timestamptz not null,
        period_end timestamptz not null,
        policy_hash text not null,
        named jsonb not null,
        public jsonb not null,
        archived_at timestamptz not null,
        primary key (board, season)
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists season_standings');
  }
}
