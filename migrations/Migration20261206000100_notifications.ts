import { Migration } from '@mikro-orm/migrations';

// Notifications that reach people: each new escalation is fanned out once (notified_at) to
// its recipients' channels (email, Slack, Teams), one row per (address, escalation), with
// per-person preferences and a held state for daily digests.
export class Migration20261206000100_notifications extends Migration {
  override up(): void {
    this.addSql('alter table escalations add column if not exists notified_at timestamptz');
    // escalations recorded before this migration were already announced by webhooks: do not
    // send them all again as person notifications
    this.addSql('update escalations set notified_at = created_at where notified_at is null');
    this.addSql(
      'create index if not exists escalations_unnotified_idx on escalations (id) where notified_at is null',
    );
    this.addSql(`
      create table if not exists notification_preferences (
        person_id text primary key,
        channel text not null default 'email' check (channel in ('email', 'slack', 'teams', 'none')),
        address text,
        mode text not null default 'immediate' check (mode in ('immediate', 'digest')),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table if not exists notifications (
        id bigint generated always as identity primary key,
        escalation_id bigint references escalations (id) on delete cascade,
        recipient text not null,
        role text not null,
        channel text not null check (channel in ('email', 'slack', 'teams')),
        address text not null,
        dedup_key text not null unique,
        status text not null default 'pending'
          check (status in ('pending', 'held', 'sent', 'failed', 'digested')),
        message jsonb not null,
        attempts integer not null default 0,
        next_attempt_at timestamptz,
        sent_at timestamptz,
        last_error text,
        created_at timestamptz not null default now()
      )`);
    this.addSql(
      "create index if not exists notifications_due_idx on notifications (next_attempt_at) where status = 'pending'",
    );
    this.addSql(
      "create index if not exists notifications_held_idx on notifications (channel, address) where status = 'held'",
    );
  }

  override down(): void {
    this.addSql('drop table if exists notifications');
    this.addSql('drop table if exists notification_preferences');
    this.addSql('drop index if exists escalations_unnotified_idx');
    this.addSql('alter table escalations drop column if exists notified_at');
  }
}
