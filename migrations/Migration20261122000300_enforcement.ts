import { Migration } from '@mikro-orm/migrations';

// Enforcement: escalation records (idempotent per step or rule, subject and period),
// exceptions with approval, webhook endpoints per audience, the notification outbox, a
// lease row per background job (so N instances never run the same sweep at once), and the
// queue of people whose rollups changed since they were last evaluated.
export class Migration20261122000300_enforcement extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists escalations (
        id bigint generated always as identity primary key,
        key text not null unique,
        source text not null check (source in ('ladder', 'rule')),
        ladder text,
        rule text,
        of text,
        trigger text,
        threshold numeric,
        action jsonb not null,
        severity text,
        subject_kind text not null check (subject_kind in ('person', 'team', 'org')),
        subject_id text not null,
        period_start timestamptz not null,
        period_end timestamptz not null,
        policy_version text,
        policy_hash text not null,
        facts jsonb not null default '{}'::jsonb,
        status text not null default 'open'
          check (status in ('open', 'acknowledged', 'justified', 'approved', 'denied', 'resolved')),
        justification text,
        acknowledged_by text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(
      'create index if not exists escalations_subject_idx on escalations (subject_kind, subject_id, period_start)',
    );
    this.addSql(
      'create index if not exists escalations_open_idx on escalations (status, period_end)',
    );

    this.addSql(`
      create table if not exists exceptions (
        id bigint generated always as identity primary key,
        subject_kind text not null check (subject_kind in ('person', 'team')),
        subject_id text not null,
        extra_tokens bigint check (extra_tokens is null or extra_tokens > 0),
        extra_money numeric(28, 12) check (extra_money is null or extra_money > 0),
        justification text not null,
        expires_at timestamptz not null,
        status text not null default 'requested'
          check (status in ('requested', 'approved', 'denied', 'expired')),
        approver text not null,
        requested_by text,
        decided_by text,
        note text,
        created_at timestamptz not null default now(),
        decided_at timestamptz,
        constraint exceptions_some_amount check (extra_tokens is not null or extra_money is not null)
      )`);
    this.addSql(
      'create index if not exists exceptions_subject_idx on exceptions (subject_id, status, expires_at)',
    );

    this.addSql(`
      create table if not exists webhooks (
        id bigint generated always as identity primary key,
        audience text not null,
        url text not null,
        secret text not null,
        created_at timestamptz not null default now(),
        unique (audience, url)
      )`);

    this.addSql(`
      create table if not exists outbox (
        id bigint generated always as identity primary key,
        webhook_id bigint not null references webhooks (id) on delete cascade,
        event_type text not null,
        payload jsonb not null,
        idempotency_key text not null unique,
        attempts integer not null default 0,
        next_attempt_at timestamptz,
        delivered_at timestamptz,
        last_error text,
        last_status integer,
        created_at timestamptz not null default now()
      )`);
    this.addSql(
      'create index if not exists outbox_due_idx on outbox (next_attempt_at) where delivered_at is null',
    );

    this.addSql(`
      create table if not exists job_leases (
        name text primary key,
        holder text,
        locked_until timestamptz,
        last_run_at timestamptz,
        last_result jsonb
      )`);

    // Filled by statement-level triggers on daily_rollups, so every ingest path (CLI import,
    // GraphQL record*, OTLP) marks the people it touched, with no change to the loader.
    this.addSql(`
      create table if not exists enforcement_dirty (
        person_id text primary key,
        marked_at timestamptz not null default now()
      )`);
    this.addSql(`
      create or replace function quotient_mark_dirty() returns trigger language plpgsql as $$
      begin
        insert into enforcement_dirty (person_id)
          select distinct person_id from changed_rollups order by person_id
          on conflict (person_id) do nothing;
        return null;
      end $$`);
    this.addSql(`
      create trigger daily_rollups_mark_dirty_insert after insert on daily_rollups
        referencing new table as changed_rollups
        for each statement execute function quotient_mark_dirty()`);
    this.addSql(`
      create trigger daily_rollups_mark_dirty_update after update on daily_rollups
        referencing new table as changed_rollups
        for each statement execute function quotient_mark_dirty()`);
  }

  override down(): void {
    this.addSql('drop trigger if exists daily_rollups_mark_dirty_update on daily_rollups');
    this.addSql('drop trigger if exists daily_rollups_mark_dirty_insert on daily_rollups');
    this.addSql('drop function if exists quotient_mark_dirty()');
    for (const table of [
      'enforcement_dirty',
      'job_leases',
      'outbox',
      'webhooks',
      'exceptions',
      'escalations',
    ]) {
      this.addSql(`drop table if exists ${table} cascade`);
    }
  }
}
