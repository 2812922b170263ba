import { Migration } from '@mikro-orm/migrations';
import { MARK_DIRTY_APPEND } from './Migration20261122001000_dirty_queue.ts';

// The change log the in-memory quota cache (src/app/quota-cache.ts) refreshes from: one row
// per statement that changes something a quota answer reads (rollups, people, teams,
// exceptions, escalations, holds, the active policy), naming the people, teams or the org
// it touched. Statement-level triggers over transition tables fill it, so ingest pays one
// small insert per statement, not per row; the rollup one rides on the trigger that already
// marks people dirty for re-evaluation. The re-evaluation worker deletes its dirty rows, so
// the cache cannot read those: this log keeps its rows until the cache prunes them.
// `tx` is the writing transaction: a reader takes everything not visible in the snapshot of
// its previous read, so a transaction that commits late is never skipped (as a sequence
// watermark would skip it).

const CHANGE_FUNCTIONS = {
  // people and teams are keyed by id; rollups by person_id
  quota_change_people: `insert into quota_changes (source, people)
      select tg_argv[0], array_agg(distinct id) from changed having count(*) > 0;`,
  quota_change_teams: `insert into quota_changes (source, teams)
      select tg_argv[0], array_agg(distinct id) from changed having count(*) > 0;`,
  quota_change_rollups: `insert into quota_changes (source, people)
      select tg_argv[0], array_agg(distinct person_id) from changed having count(*) > 0;`,
  // exceptions, escalations and holds name a subject: a person, a team or the org
  quota_change_subjects: `insert into quota_changes (source, people, teams, org)
      select tg_argv[0],
             array_agg(distinct subject_id) filter (where subject_kind = 'person'),
             array_agg(distinct subject_id) filter (where subject_kind = 'team'),
             bool_or(subject_kind = 'org')
        from changed having count(*) > 0;`,
  quota_change_policy: `insert into quota_changes (source, policy)
      select tg_argv[0], true from changed having count(*) > 0;`,
} as const;

const WATCHED: [table: string, fn: keyof typeof CHANGE_FUNCTIONS, ops: string[]][] = [
  ['people', 'quota_change_people', ['insert', 'update', 'delete']],
  ['teams', 'quota_change_teams', ['insert', 'update', 'delete']],
  // inserts and updates of rollups are logged by quotient_mark_dirty below
  ['daily_rollups', 'quota_change_rollups', ['delete']],
  ['exceptions', 'quota_change_subjects', ['insert', 'update', 'delete']],
  ['escalations', 'quota_change_subjects', ['insert', 'update', 'delete']],
  ['enforcement_holds', 'quota_change_subjects', ['insert', 'update', 'delete']],
  ['policy_versions', 'quota_change_policy', ['insert', 'update', 'delete']],
];

export class Migration20261207035000_quota_changes extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists quota_changes (
        seq bigint generated always as identity primary key,
        tx xid8 not null default pg_current_xact_id(),
        at timestamptz not null default clock_timestamp(),
        source text not null,
        people text[],
        teams text[],
        org boolean not null default false,
        policy boolean not null default false
      )`);
    this.addSql('create index if not exists quota_changes_tx on quota_changes (tx)');
    this.addSql('create index if not exists quota_changes_at on quota_changes (at)');
    for (const [name, body] of Object.entries(CHANGE_FUNCTIONS))
      this.addSql(`
        create or replace function ${name}() returns trigger language plpgsql as $$
        begin
          ${body}
          return null;
        end $$`);
    for (const [table, fn, ops] of WATCHED)
      for (const op of ops)
        this.addSql(`
          create trigger ${table}_quota_change_${op} after ${op} on ${table}
            referencing ${op === 'delete' ? 'old' : 'new'} table as changed
            for each statement execute function ${fn}('${table}')`);
    // the people a rollup statement touched, found once for both queues
    this.addSql(`
      create or replace function quotient_mark_dirty() returns trigger language plpgsql as $$
      begin
        with touched as (select distinct person_id from changed_rollups),
             dirty as (insert into enforcement_dirty (person_id) select person_id from touched)
        insert into quota_changes (source, people)
          select 'daily_rollups', array_agg(person_id) from touched having count(*) > 0;
        return null;
      end $$`);
  }

  override down(): void {
    this.addSql(MARK_DIRTY_APPEND);
    for (const [table, , ops] of WATCHED)
      for (const op of ops)
        this.addSql(`drop trigger if exists ${table}_quota_change_${op} on ${table}`);
    for (const name of Object.keys(CHANGE_FUNCTIONS))
      this.addSql(`drop function if exists ${name}()`);
    this.addSql('drop table if exists quota_changes');
  }
}
