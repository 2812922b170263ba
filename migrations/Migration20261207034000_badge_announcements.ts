import { Migration } from '@mikro-orm/migrations';

// Badge announcements: one row per badge, subject and window the sweep found newly earned
// (its key is what makes an award "new": the same badge in the next window is another
// row). notified_at is set when the notification round has turned it into notifications,
// as escalations' notified_at.
export class Migration20261207034000_badge_announcements extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists badge_announcements (
        id bigserial primary key,
        badge text not null,
        label text,
        subject_kind text not null,
        subject_id text not null,
        window_start timestamptz not null,
        window_end timestamptz not null,
        policy_hash text not null,
        explanation jsonb not null,
        found_at timestamptz not null,
        notified_at timestamptz,
        unique (badge, subject_kind, subject_id, window_start)
      )`);
    this.addSql(
      'create index if not exists badge_announcements_unnotified on badge_announcements (id) where notified_at is null',
    );
  }

  override down(): void {
    this.addSql('drop table if exists badge_announcements');
  }
}
