import { Migration } from '@mikro-orm/migrations';

// Per-person cost totals of the current team budget periods, kept by re-evaluation after
// ingest. A team's total is then the sum of its members' rows (one row each), instead of a
// scan of every member's daily rollups for the period on every round (seconds per round on
// a 20,000-person organisation). A period is filled once from the rollups, recorded in
// enforcement_cost_periods; from then on each re-evaluated person's row is re-summed.
export class Migration20261122002000_team_costs extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists enforcement_person_costs (
        window_key text not null,
        period_from date not null,
        person_id text not null,
        cost numeric(28, 12) not null,
        primary key (window_key, period_from, person_id)
      )`);
    this.addSql(`
      create table if not exists enforcement_cost_periods (
        window_key text not null,
        period_from date not null,
        filled_at timestamptz not null default now(),
        primary key (window_key, period_from)
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists enforcement_cost_periods');
    this.addSql('drop table if exists enforcement_person_costs');
  }
}
