import { Migration } from '@mikro-orm/migrations';

// `quotient pull`: how far each provider's usage API has been read. The next pull starts a
// little before (report buckets still open are read again and restated); credentials are
// never stored here or anywhere else, only read from the environment.
export class Migration20261206001700_pull_cursors extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists pull_cursors (
        source text primary key,
        pulled_to timestamptz not null,
        last_rows integer not null default 0,
        updated_at timestamptz not null default now()
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists pull_cursors');
  }
}
