import { Migration } from '@mikro-orm/migrations';

// API keys (only a SHA-256 hash of each key is kept), the audit log of governance reads and
// decisions, and server secrets (the pseudonym key) shared by every API instance.
export class Migration20261122000200_api extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists api_keys (
        id text primary key,
        name text not null,
        role text not null check (role in ('ingest', 'member', 'viewer', 'governance', 'admin')),
        person text,
        hash text not null unique,
        prefix text not null,
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        last_used_at timestamptz,
        constraint api_keys_member_has_person check (role <> 'member' or person is not null)
      )`);
    this.addSql(`
      create table if not exists audit_log (
        id bigint generated always as identity primary key,
        at timestamptz not null default now(),
        actor text,
        role text not null,
        action text not null,
        subject text,
        detail jsonb not null default '{}'::jsonb
      )`);
    this.addSql('create index if not exists audit_log_at_idx on audit_log (at)');
    this.addSql('create index if not exists audit_log_subject_idx on audit_log (subject, at)');
    this.addSql(`
      create table if not exists server_secrets (
        name text primary key,
        value text not null,
        created_at timestamptz not null default now()
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists server_secrets');
    this.addSql('drop table if exists audit_log');
    this.addSql('drop table if exists api_keys');
  }
}
