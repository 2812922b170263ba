// Core schema: directory, events, daily rollups and policy versions. Hand-written SQL so
// the monthly range partitioning of usage_events (which the ORM cannot express) lives in
// one reviewed place. Partitions themselves are created on demand by the loader.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000100_core extends Migration {
  override up(): void {
    this.addSql(`
      create table teams (
        id text primary key,
        name text not null,
        parent_id text references teams (id),
        cost_center text,
        sensitivity text not null default 'normal' check (sensitivity in ('normal', 'restricted')),
        owner text,
        from_directory boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql('create index teams_parent_idx on teams (parent_id)');

    // manager_id has no foreign key: a manager may sit outside the imported directory.
    this.addSql(`
      create table people (
        id text primary key,
        name text,
        team_id text references teams (id),
        role text,
        manager_id text,
        opted_in boolean not null default false,
        attributes jsonb not null default '{}'::jsonb,
        from_directory boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql('create index people_team_idx on people (team_id)');
    this.addSql('create index people_manager_idx on people (manager_id)');

    // Partitioned by month on ts; a unique index on a partitioned table must contain the
    // partition key, so id-level idempotency lives in usage_event_ids instead (an id that
    // arrives again with another ts is still a duplicate).
    this.addSql(`
      create table usage_events (
        id text not null,
        ts timestamptz not null,
        person_id text not null,
        team_id text,
        model text not null,
        provider text,
        input_tokens bigint not null default 0,
        output_tokens bigint not null default 0,
        cache_read_tokens bigint not null default 0,
        cache_write_tokens bigint not null default 0,
        requests integer not null default 1,
        cost numeric(28, 12),
        project text not null default '',
        environment text not null default 'production',
        task text,
        source text not null default 'native',
        ingested_at timestamptz not null default now()
      ) partition by range (ts)`);
    // Reads go to the rollups; raw events are scanned by time (exports, replays, audits).
    // A BRIN index costs next to nothing on insert, unlike a btree per event.
    this.addSql('create index usage_events_ts_brin on usage_events using brin (ts)');
    this.addSql('create table usage_event_ids (id text primary key)');

    this.addSql(`
      create table outcome_events (
        id text primary key,
        ts timestamptz not null,
        person_id text not null,
        task text,
        outcome text not null check (outcome in ('accepted', 'rejected', 'reworked', 'completed')),
        minutes_saved numeric(12, 2) not null default 0,
        source text not null default 'native',
        ingested_at timestamptz not null default now()
      )`);
    this.addSql('create index outcome_events_person_ts_idx on outcome_events (person_id, ts)');

    this.addSql(`
      create table compliance_events (
        id text primary key,
        ts timestamptz not null,
        person_id text not null,
        flag text not null check (flag in ('redaction_failure', 'sensitive_data', 'policy_exception')),
        severity text not null default 'medium',
        source text not null default 'native',
        ingested_at timestamptz not null default now()
      )`);
    this.addSql(
      'create index compliance_events_person_ts_idx on compliance_events (person_id, ts)',
    );

    // One row per UTC day × person × model × project × environment. Outcome and compliance
    // facts carry no model, so they land in the row with model = project = environment = ''.
    this.addSql(`
      create table daily_rollups (
        day date not null,
        person_id text not null,
        model text not null,
        project text not null,
        environment text not null,
        input_tokens bigint not null default 0,
        output_tokens bigint not null default 0,
        cache_read_tokens bigint not null default 0,
        cache_write_tokens bigint not null default 0,
        cost numeric(28, 12) not null default 0,
        requests bigint not null default 0,
        unpriced_requests bigint not null default 0,
        tasks bigint not null default 0,
        accepted bigint not null default 0,
        rejected bigint not null default 0,
        reworked bigint not null default 0,
        completed bigint not null default 0,
        minutes_saved numeric(14, 2) not null default 0,
        redaction_failures bigint not null default 0,
        sensitive_flags bigint not null default 0,
        policy_exceptions bigint not null default 0,
        primary key (person_id, day, model, project, environment)
      )`);
    // person-first key serves quotas (one person, one period); whole-window reads
    // (leaderboards, budgets) use the cheap BRIN index on day
    this.addSql('create index daily_rollups_day_brin on daily_rollups using brin (day)');

    this.addSql(`
      create table policy_versions (
        id serial primary key,
        version text not null,
        name text,
        source text not null,
        canonical text not null,
        hash text not null,
        ir jsonb not null,
        status text not null default 'draft' check (status in ('draft', 'active', 'retired')),
        author text,
        message text,
        parent_id integer references policy_versions (id),
        created_at timestamptz not null default now(),
        activated_at timestamptz
      )`);
    this.addSql('create index policy_versions_hash_idx on policy_versions (hash)');
    // At most one active version: activation and rollback are one transaction each.
    this.addSql(
      "create unique index policy_versions_one_active on policy_versions ((true)) where status = 'active'",
    );
  }

  override down(): void {
    for (const table of [
      'policy_versions',
      'daily_rollups',
      'compliance_events',
      'outcome_events',
      'usage_event_ids',
      'usage_events',
      'people',
      'teams',
    ]) {
      this.addSql(`drop table if exists ${table} cascade`);
    }
  }
}
