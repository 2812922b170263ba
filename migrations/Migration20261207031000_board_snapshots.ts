import { Migration } from '@mikro-orm/migrations';

// Evaluated boards, persisted so that a freshly started server answers its first board
// request at once (docs/scale.md, Cold boards). One row per boards evaluation: the policy
// hash and the clock stamp it was cached under, the change watermark of the data it saw,
// and the ranked entries with what the board shows (src/app/board-snapshots.ts). Subject
// ids are stored as they are: privacy masks them when a board is read, as for the cache.
export class Migration20261207031000_board_snapshots extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists board_snapshots (
        policy_hash text not null,
        clock_stamp text not null,
        watermark bigint not null,
        written_at timestamptz not null default now(),
        snapshot json not null,
        primary key (policy_hash, clock_stamp)
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists board_snapshots');
  }
}
