import { Migration } from '@mikro-orm/migrations';

// A drain round takes each queued person once with all their rows up to the round's end
// (src/store/jobs.ts, takeDirtyPeople): the index finds a chunk of people in order and
// their rows, without reading the rest of the backlog.
export class Migration20261207032000_dirty_queue_person_index extends Migration {
  override up(): void {
    this.addSql(
      'create index if not exists enforcement_dirty_person_seq on enforcement_dirty (person_id, seq)',
    );
  }

  override down(): void {
    this.addSql('drop index if exists enforcement_dirty_person_seq');
  }
}
