import { Migration } from '@mikro-orm/migrations';

// A persisted board's explanations apart from its ranks (docs/scale.md, Cold boards): most
// of a snapshot's bytes are the explanation of every entry a caller can be shown, which a
// fresh server's first board request rarely reads. Kept as text, they are parsed on first
// use. Rows written before this column are read as they were (explanations inline).
export class Migration20261207220000_board_snapshot_explanations extends Migration {
  override up(): void {
    this.addSql('alter table board_snapshots add column if not exists explanations text');
  }

  override down(): void {
    this.addSql('alter table board_snapshots drop column if exists explanations');
  }
}
