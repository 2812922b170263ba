import { Migration } from '@mikro-orm/migrations';

// The queue of people to re-evaluate becomes append-only. With a primary key on person_id,
// every ingest transaction's `INSERT … ON CONFLICT DO NOTHING` waited for any concurrent
// transaction that had marked the same person (speculative insertion waits for the other
// inserter to finish), so concurrent batches sharing busy people ran one after another.
// Now each batch appends its people; the drain takes the oldest rows and de-duplicates.
/** The rollup trigger's function as this migration leaves it (a later one puts it back). */
export const MARK_DIRTY_APPEND = `
      create or replace function quotient_mark_dirty() returns trigger language plpgsql as $$
      begin
        insert into enforcement_dirty (person_id) select distinct person_id from changed_rollups;
        return null;
      end $$`;

export class Migration20261122001000_dirty_queue extends Migration {
  override up(): void {
    this.addSql('alter table enforcement_dirty drop constraint if exists enforcement_dirty_pkey');
    this.addSql('alter table enforcement_dirty add column seq bigint generated always as identity');
    this.addSql('alter table enforcement_dirty add primary key (seq)');
    this.addSql(MARK_DIRTY_APPEND);
  }

  override down(): void {
    this.addSql(`
      create or replace function quotient_mark_dirty() returns trigger language plpgsql as $$
      begin
        insert into enforcement_dirty (person_id)
          select distinct person_id from changed_rollups order by person_id
          on conflict (person_id) do nothing;
        return null;
      end $$`);
    this.addSql('alter table enforcement_dirty drop constraint if exists enforcement_dirty_pkey');
    this.addSql('alter table enforcement_dirty drop column if exists seq');
    this.addSql(
      'delete from enforcement_dirty d using enforcement_dirty e where d.person_id = e.person_id and d.ctid > e.ctid',
    );
    this.addSql('alter table enforcement_dirty add primary key (person_id)');
  }
}
