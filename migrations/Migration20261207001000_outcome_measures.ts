import { Migration } from '@mikro-orm/migrations';

// Outcome measures: an outcome event carries named numeric measures (a reviewer's score,
// edit distance, cycle time …) and the project and model it was about. measure_rollups
// aggregates them at ingest per person, local day, project, model and measure name: the
// number of observations, their exact sum, and a log-bucket histogram (relative width 2%,
// as DDSketch) so a policy can read a sum, a mean or a percentile of any window from a few
// rows, whichever aggregation it declares. Claude Code's daily activity (lines, commits,
// pull requests, sessions) arrives as measures too: one observation per person and day.
// γ = 1.02 here is MEASURE_BUCKET_GAMMA in src/store/measure-reader.ts, which reads the keys.
const GAMMA = '1.02';

export class Migration20261207001000_outcome_measures extends Migration {
  override up(): void {
    this.addSql(`alter table outcome_events add column if not exists project text`);
    this.addSql(`alter table outcome_events add column if not exists model text`);
    this.addSql(`alter table outcome_events add column if not exists measures jsonb`);
    this.addSql(`
      create table if not exists measure_rollups (
        person_id text not null,
        day date not null,
        project text not null default '',
        model text not null default '',
        measure text not null,
        n bigint not null default 0,
        total numeric not null default 0,
        buckets jsonb not null default '{}'::jsonb,
        primary key (person_id, day, project, model, measure)
      )`);
    this.addSql('create index if not exists measure_rollups_day on measure_rollups (day)');
    // the histogram bucket of a value: "z" for 0, k for γ^(k-1) < v ≤ γ^k, "n"k for -v
    this.addSql(`
      create or replace function measure_bucket(v numeric) returns text
      language sql immutable as $$
        select case when v > 0 then ceil(ln(v) / ln(${GAMMA}))::bigint::text
                    when v < 0 then 'n' || ceil(ln(-v) / ln(${GAMMA}))::bigint::text
                    else 'z' end
      $$`);
    this.addSql(`
      create or replace function measure_buckets_add(a jsonb, b jsonb) returns jsonb
      language sql immutable as $$
        select coalesce(jsonb_object_agg(k, c), '{}'::jsonb)
          from (select k, sum(v::bigint) as c
                  from (select * from jsonb_each_text(a) union all select * from jsonb_each_text(b)) e(k, v)
                 group by k) s
      $$`);
    this.addSql(`
      create or replace aggregate measure_buckets_merge(jsonb) (
        sfunc = measure_buckets_add, stype = jsonb, initcond = '{}'
      )`);
    this.addSql(`
      insert into measure_rollups (person_id, day, project, model, measure, n, total, buckets)
      select a.person_id, a.day, '', '', m.measure, 1, m.v, jsonb_build_object(measure_bucket(m.v), 1)
        from claude_code_activity a
        cross join lateral (values ('sessions', a.sessions::numeric), ('lines_added', a.lines_added),
                                   ('lines_removed', a.lines_removed), ('commits', a.commits),
                                   ('pull_requests', a.pull_requests)) m(measure, v)
      on conflict do nothing`);
  }

  override down(): void {
    this.addSql('drop aggregate if exists measure_buckets_merge(jsonb)');
    this.addSql('drop function if exists measure_buckets_add(jsonb, jsonb)');
    this.addSql('drop function if exists measure_bucket(numeric)');
    this.addSql('drop table if exists measure_rollups');
    for (const column of ['project', 'model', 'measures'])
      this.addSql(`alter table outcome_events drop column if exists ${column}`);
  }
}
