// The change watermark the engine's caches key on (the README ("The governance engine"), "Caching").
//
// Any statement that changes rollups, people or teams marks its transaction once
// (engine_change_marks, keyed by transaction id: no contention). A deferred constraint
// trigger on that mark then bumps a counter at COMMIT time, in a shard picked by backend,
// and deletes the mark. The watermark is the sum of the shards.
// - Correct: the bump commits atomically with the data, so a reader that sees the new
//   watermark also sees the new rows; the sum of counters that only grow changes with
//   every committed change.
// - Cheap: one bump per transaction, taken at commit, so concurrent ingest chunks never
//   wait on each other here and no lock cycle (deadlock) can form.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000400_engine extends Migration {
  override up(): void {
    this.addSql(`
      create table engine_change_counters (
        shard integer primary key,
        n bigint not null default 0
      )`);
    this.addSql('create table engine_change_marks (tx bigint primary key)');
    this.addSql(`
      create or replace function engine_mark_change() returns trigger language plpgsql as $$
      begin
        insert into engine_change_marks (tx) values (txid_current()) on conflict do nothing;
        return null;
      end $$`);
    this.addSql(`
      create or replace function engine_bump_watermark() returns trigger language plpgsql as $$
      begin
        insert into engine_change_counters as c (shard, n) values (pg_backend_pid() % 64, 1)
          on conflict (shard) do update set n = c.n + 1;
        delete from engine_change_marks where tx = new.tx;
        return null;
      end $$`);
    this.addSql(`
      create constraint trigger engine_change_marks_bump after insert on engine_change_marks
        deferrable initially deferred
        for each row execute function engine_bump_watermark()`);
    for (const table of ['daily_rollups', 'people', 'teams']) {
      this.addSql(`
        create trigger ${table}_engine_change after insert or update or delete on ${table}
          for each statement execute function engine_mark_change()`);
    }
  }

  override down(): void {
    for (const table of ['daily_rollups', 'people', 'teams']) {
      this.addSql(`drop trigger if exists ${table}_engine_change on ${table}`);
    }
    this.addSql('drop table if exists engine_change_marks');
    this.addSql('drop table if exists engine_change_counters');
    this.addSql('drop function if exists engine_bump_watermark()');
    this.addSql('drop function if exists engine_mark_change()');
  }
}
