import { Migration } from '@mikro-orm/migrations';

// Budget spend follows ingest by deltas instead of by re-summing people. Every change to
// daily_rollups appends its cost difference per (person, day, environment) in the same
// transaction; a short pass folds the appended rows into the per-person period totals
// (enforcement_person_costs) and refreshes the budget holds of the teams it touched. Before,
// a person's total was re-summed only when re-evaluation reached them in the dirty queue,
// which under sustained ingest lagged by minutes, so a block step reached checkQuota late.
//
// A period records its end and environment scope so the fold knows which deltas it takes.
// Existing totals were kept by the old rule; they are dropped and refilled on first use.
export class Migration20261206002000_cost_deltas extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists enforcement_cost_deltas (
        seq bigint generated always as identity primary key,
        person_id text not null,
        day date not null,
        environment text not null,
        cost numeric(28, 12) not null
      )`);
    this.addSql('truncate enforcement_person_costs, enforcement_cost_periods');
    this.addSql('alter table enforcement_cost_periods add column period_until date not null');
    this.addSql('alter table enforcement_cost_periods add column environment text');
    this.addSql(`
      create or replace function quotient_cost_delta_insert() returns trigger language plpgsql as $$
      begin
        insert into enforcement_cost_deltas (person_id, day, environment, cost)
          select person_id, day, environment, sum(cost) from changed_rollups
           group by person_id, day, environment having sum(cost) <> 0;
        return null;
      end $$`);
    this.addSql(`
      create or replace function quotient_cost_delta_update() returns trigger language plpgsql as $$
      begin
        insert into enforcement_cost_deltas (person_id, day, environment, cost)
          select person_id, day, environment, sum(cost) from (
            select person_id, day, environment, cost from changed_rollups
            union all
            select person_id, day, environment, -cost from previous_rollups) d
           group by person_id, day, environment having sum(cost) <> 0;
        return null;
      end $$`);
    this.addSql(`
      create or replace function quotient_cost_delta_delete() returns trigger language plpgsql as $$
      begin
        insert into enforcement_cost_deltas (person_id, day, environment, cost)
          select person_id, day, environment, -sum(cost) from previous_rollups
           group by person_id, day, environment having sum(cost) <> 0;
        return null;
      end $$`);
    this.addSql(`
      create trigger daily_rollups_cost_delta_insert after insert on daily_rollups
        referencing new table as changed_rollups
        for each statement execute function quotient_cost_delta_insert()`);
    this.addSql(`
      create trigger daily_rollups_cost_delta_update after update on daily_rollups
        referencing old table as previous_rollups new table as changed_rollups
        for each statement execute function quotient_cost_delta_update()`);
    this.addSql(`
      create trigger daily_rollups_cost_delta_delete after delete on daily_rollups
        referencing old table as previous_rollups
        for each statement execute function quotient_cost_delta_delete()`);
  }

  override down(): void {
    for (const op of ['insert', 'update', 'delete']) {
      this.addSql(`drop trigger if exists daily_rollups_cost_delta_${op} on daily_rollups`);
      this.addSql(`drop function if exists quotient_cost_delta_${op}()`);
    }
    this.addSql('truncate enforcement_person_costs, enforcement_cost_periods');
    this.addSql('alter table enforcement_cost_periods drop column if exists environment');
    this.addSql('alter table enforcement_cost_periods drop column if exists period_until');
    this.addSql('drop table if exists enforcement_cost_deltas');
  }
}
