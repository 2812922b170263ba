import { Migration } from '@mikro-orm/migrations';

// What currently stands in a person's way besides their own quota: budget steps and rule
// steps that require justification or approval, or block, for a person, a team or the org.
// Re-evaluation and the sweep replace a subject's rows each time they evaluate it, so the
// quota check reads the current state in the same statement as the person's usage.
export class Migration20261206001000_holds extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists enforcement_holds (
        subject_kind text not null,
        subject_id text not null,
        key text not null,
        source text not null,
        name text not null,
        environment text,
        threshold numeric,
        observed numeric,
        action jsonb not null,
        period_end timestamptz not null,
        policy_hash text not null,
        updated_at timestamptz not null default now(),
        primary key (subject_kind, subject_id, key)
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists enforcement_holds');
  }
}
