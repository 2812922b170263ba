import { Migration } from '@mikro-orm/migrations';

// An approval step's decision gets its own columns: the decider's note used to overwrite the
// subject's justification, and who decided shared a column with who acknowledged.
export class Migration20261207040000_escalation_decisions extends Migration {
  override up(): void {
    this.addSql(`alter table escalations
      add column if not exists decided_by text,
      add column if not exists decided_at timestamptz,
      add column if not exists decision_note text`);
    this.addSql(`update escalations set decided_by = acknowledged_by, decided_at = updated_at
      where status in ('approved', 'denied') and decided_at is null`);
  }

  override down(): void {
    this.addSql(`alter table escalations
      drop column if exists decided_by,
      drop column if exists decided_at,
      drop column if exists decision_note`);
  }
}
