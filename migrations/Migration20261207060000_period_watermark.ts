import { Migration } from '@mikro-orm/migrations';

// The change watermark per period (docs/scale.md, Caching): beside the whole watermark
// (engine_change_counters), a counter per month of rollup days ('YYYY-MM') and one for the
// directory ('directory'), bumped at COMMIT in the same way (marks per transaction, one
// deferred bump). A boards evaluation of a past window reads no month that ingest into the
// current one touches: keyed on the months it reads and the directory, it stays valid
// under ingest instead of being evaluated again after every batch.
// - Every transaction that bumps a period also bumps the whole watermark (the same
//   statements mark both), so an unchanged whole watermark means unchanged periods.
// - The first bump of a transaction bumps all its periods in sorted order (after the whole
//   watermark's), so two commits lock counter rows in one order and cannot deadlock.

/** Marks the months of the rollup days a statement changed (`rows`: its transition tables). */
const markMonths = (rows: string) => `
  insert into engine_period_marks (tx, period)
  select distinct txid_current(), to_char(day, 'YYYY-MM') from ${rows} r
  order by 2
  on conflict do nothing;`;

export class Migration20261207060000_period_watermark extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists engine_period_counters (
        period text not null,
        shard integer not null,
        n bigint not null default 0,
        primary key (period, shard)
      )`);
    this.addSql(`
      create table if not exists engine_period_marks (
        tx bigint not null,
        period text not null,
        primary key (tx, period)
      )`);
    this.addSql(`
      create or replace function engine_bump_periods() returns trigger language plpgsql as $$
      begin
        insert into engine_period_counters as c (period, shard, n)
        select m.period, pg_backend_pid() % 64, 1 from engine_period_marks m
         where m.tx = new.tx order by m.period
        on conflict (period, shard) do update set n = c.n + 1;
        delete from engine_period_marks where tx = new.tx;
        return null;
      end $$`);
    this.addSql(`
      create constraint trigger engine_period_marks_bump after insert on engine_period_marks
        deferrable initially deferred
        for each row execute function engine_bump_periods()`);
    this.addSql(`
      create or replace function engine_mark_rollup_months() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          ${markMonths('new_rows')}
        elsif tg_op = 'UPDATE' then
          ${markMonths('(select day from new_rows union all select day from old_rows)')}
        else
          ${markMonths('old_rows')}
        end if;
        return null;
      end $$`);
    this.addSql(`
      create or replace function engine_mark_directory() returns trigger language plpgsql as $$
      declare
        changed boolean;
      begin
        -- each branch names only the transition tables its trigger has
        if tg_op = 'DELETE' then
          changed := exists (select 1 from old_rows);
        else
          changed := exists (select 1 from new_rows);
        end if;
        if changed then
          insert into engine_period_marks (tx, period) values (txid_current(), 'directory')
            on conflict do nothing;
        end if;
        return null;
      end $$`);
    const events = [
      ['insert', 'referencing new table as new_rows'],
      ['update', 'referencing old table as old_rows new table as new_rows'],
      ['delete', 'referencing old table as old_rows'],
    ] as const;
    for (const [event, referencing] of events) {
      // named after the whole watermark's trigger (…_engine_change): statement triggers fire
      // in name order, so the whole watermark's mark, and its bump, come first
      this.addSql(`
        create trigger daily_rollups_engine_period_${event} after ${event} on daily_rollups
          ${referencing}
          for each statement execute function engine_mark_rollup_months()`);
      for (const table of ['people', 'teams']) {
        this.addSql(`
          create trigger ${table}_engine_period_${event} after ${event} on ${table}
            ${referencing}
            for each statement execute function engine_mark_directory()`);
      }
    }
  }

  override down(): void {
    for (const event of ['insert', 'update', 'delete']) {
      for (const table of ['daily_rollups', 'people', 'teams']) {
        this.addSql(`drop trigger if exists ${table}_engine_period_${event} on ${table}`);
      }
    }
    this.addSql('drop table if exists engine_period_marks');
    this.addSql('drop table if exists engine_period_counters');
    this.addSql('drop function if exists engine_bump_periods()');
    this.addSql('drop function if exists engine_mark_rollup_months()');
    this.addSql('drop function if exists engine_mark_directory()');
  }
}
