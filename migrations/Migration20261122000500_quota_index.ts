import { Migration } from '@mikro-orm/migrations';

// A covering index for checkQuota's snapshot: one person's rollups over a period, summing
// tokens, cost and requests (optionally per environment). The primary key already starts
// with (person_id, day), but its rows are wide and scattered in the heap; with the summed
// columns included, the read is an index-only scan over a few adjacent index pages.
export class Migration20261122000500_quota_index extends Migration {
  override up(): void {
    this.addSql(`
      create index if not exists daily_rollups_person_day_quota on daily_rollups (person_id, day)
        include (environment, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                 cost, requests)`);
  }

  override down(): void {
    this.addSql('drop index if exists daily_rollups_person_day_quota');
  }
}
