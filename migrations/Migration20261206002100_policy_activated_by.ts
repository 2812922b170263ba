import { Migration } from '@mikro-orm/migrations';

// Who activated a version (or rolled back to it) last, beside when: the console's Policies
// view shows it to every reader, as it shows the author. The audit log keeps each event.
export class Migration20261206002100_policy_activated_by extends Migration {
  override up(): void {
    this.addSql('alter table policy_versions add column if not exists activated_by text');
  }

  override down(): void {
    this.addSql('alter table policy_versions drop column if exists activated_by');
  }
}
