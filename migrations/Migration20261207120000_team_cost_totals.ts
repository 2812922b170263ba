import { Migration } from '@mikro-orm/migrations';

// Team and organisation totals of each per-person budget period, moved by the same fold
// that moves the per-person rows (src/store/budget-spend.ts). Before, every budget pass
// summed the per-person rows of every touched team, and under ingest every team is
// touched: each pass summed the whole organisation. `team_id = ''` is everyone's total.
// A team's total follows its members' current team: the directory version it was last
// summed at is kept, and a pass that finds the directory changed sums the teams again.
export class Migration20261207120000_team_cost_totals extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists enforcement_team_costs (
        window_key text not null,
        period_from date not null,
        team_id text not null,
        cost numeric(28, 12) not null,
        tokens numeric(28, 0) not null,
        primary key (window_key, period_from, team_id)
      )`);
    this.addSql(`
      create table if not exists enforcement_team_costs_version (
        singleton boolean primary key default true check (singleton),
        directory bigint not null
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists enforcement_team_costs_version');
    this.addSql('drop table if exists enforcement_team_costs');
  }
}
