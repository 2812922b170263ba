import { Migration } from '@mikro-orm/migrations';

// Claude Code activity becomes facts: sessions, lines added and removed, commits and pull
// requests per person and day sit in the daily rollup row without a model (where outcome
// facts are), so rules, metrics, boards and the usage query read them like any fact. The
// columns mirror claude_code_activity (a restated day replaces them); filled from it here.
export class Migration20261206220000_activity_facts extends Migration {
  override up(): void {
    for (const column of ['sessions', 'lines_added', 'lines_removed', 'commits', 'pull_requests'])
      this.addSql(
        `alter table daily_rollups add column if not exists ${column} bigint not null default 0`,
      );
    this.addSql(`
      insert into daily_rollups as r (day, person_id, model, project, environment, sessions,
                                      lines_added, lines_removed, commits, pull_requests)
      select day, person_id, '', '', '', sessions, lines_added, lines_removed, commits,
             pull_requests
        from claude_code_activity
       order by person_id, day
      on conflict (person_id, day, model, project, environment) do update set
        sessions = excluded.sessions, lines_added = excluded.lines_added,
        lines_removed = excluded.lines_removed, commits = excluded.commits,
        pull_requests = excluded.pull_requests`);
  }

  override down(): void {
    for (const column of ['sessions', 'lines_added', 'lines_removed', 'commits', 'pull_requests'])
      this.addSql(`alter table daily_rollups drop column if exists ${column}`);
  }
}
