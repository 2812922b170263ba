import { Migration } from '@mikro-orm/migrations';

// Claude Code analytics `core_metrics`, per actor and day: sessions, lines of code added and
// removed, commits and pull requests made with Claude Code. A report row: a later pull of
// the same day replaces it.
export class Migration20261206001800_claude_code_activity extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists claude_code_activity (
        day date not null,
        person_id text not null,
        sessions integer not null default 0,
        lines_added integer not null default 0,
        lines_removed integer not null default 0,
        commits integer not null default 0,
        pull_requests integer not null default 0,
        customer_type text,
        terminal_type text,
        updated_at timestamptz not null default now(),
        primary key (person_id, day)
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists claude_code_activity');
  }
}
