import { Migration } from '@mikro-orm/migrations';

// Per-person month totals, kept by statement-level triggers on daily_rollups in the same
// statement that changes a rollup (every ingest path, repricing and restatements), so an
// org-wide read of a month or a quarter sums ~20,000 rows per month instead of millions of
// rollup rows: the first board of a fresh server (no evaluation cached) then answers in
// well under a second (docs/scale.md). `active_mask` has bit d-1 set when day d of the
// month had a request in that environment, so distinct active days of a person, a team
// (OR of members) or the org are popcounts, exactly as counted from the rollups.
export const SUMS = [
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost',
  'requests',
  'unpriced_requests',
  'tasks',
  'accepted',
  'rejected',
  'reworked',
  'completed',
  'minutes_saved',
  'redaction_failures',
  'sensitive_flags',
  'policy_exceptions',
  'sessions',
  'lines_added',
  'lines_removed',
  'commits',
  'pull_requests',
] as const;

export const MONTH = "date_trunc('month', day)::date";
export const DAY_BIT = '(1 << (extract(day from day)::int - 1))';

/** Adds the signed sums of `source` (rows shaped like daily_rollups plus a sign) into person_months. */
function addSums(source: string): string {
  return `
    insert into person_months as m (person_id, month, environment, ${SUMS.join(', ')})
    select person_id, ${MONTH}, environment, ${SUMS.map((c) => `sum(sign * ${c})`).join(', ')}
      from ${source} d
     group by 1, 2, 3
     order by 1, 2, 3
    on conflict (person_id, month, environment) do update set
      ${SUMS.map((c) => `${c} = m.${c} + excluded.${c}`).join(',\n      ')};`;
}

/**
 * Sets or clears the day bits of the (person, day, environment) groups in `changed`, whose
 * `requests` are those of rows as they are now (0 for rows deleted or replaced): a group
 * with such a row is active without a look at the rollups, so ordinary ingest (every usage
 * row has a request) probes nothing; only groups that may have gone quiet are looked up.
 */
function markDays(changed: string): string {
  return `
    update person_months m
       set active_mask = (m.active_mask | coalesce(a.on_bits, 0)) & ~coalesce(a.off_bits, 0)
      from (select g.person_id, ${MONTH.replaceAll('day', 'g.day')} as month, g.environment,
                   bit_or(${DAY_BIT.replace('day from day', 'day from g.day')}) filter (where g.active) as on_bits,
                   bit_or(${DAY_BIT.replace('day from day', 'day from g.day')}) filter (where not g.active) as off_bits
              from (select c.person_id, c.day, c.environment,
                           c.lit or exists (select 1 from daily_rollups r
                                    where r.person_id = c.person_id and r.day = c.day
                                      and r.environment = c.environment and r.requests > 0) as active
                      from (select person_id, day, environment, bool_or(requests > 0) as lit
                              from ${changed} u group by 1, 2, 3) c) g
             group by 1, 2, 3) a
     where m.person_id = a.person_id and m.month = a.month and m.environment = a.environment;`;
}

/** Fills person_months from the rollups in one pass (after a bulk load with the triggers off). */
export const PERSON_MONTHS_FILL = `
  insert into person_months (person_id, month, environment, ${SUMS.join(', ')}, active_mask)
  select person_id, ${MONTH}, environment, ${SUMS.map((c) => `sum(${c})`).join(', ')},
         bit_or(case when requests > 0 then ${DAY_BIT} else 0 end)
    from daily_rollups group by 1, 2, 3
  on conflict do nothing`;

export const signed = (table: string, sign: 1 | -1) =>
  `(select ${sign} as sign, person_id, day, environment, ${SUMS.join(', ')} from ${table})`;

export class Migration20261206224000_person_months extends Migration {
  override up(): void {
    this.addSql(`
      create table if not exists person_months (
        person_id text not null,
        month date not null,
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
        minutes_saved numeric(16, 2) not null default 0,
        redaction_failures bigint not null default 0,
        sensitive_flags bigint not null default 0,
        policy_exceptions bigint not null default 0,
        sessions bigint not null default 0,
        lines_added bigint not null default 0,
        lines_removed bigint not null default 0,
        commits bigint not null default 0,
        pull_requests bigint not null default 0,
        active_mask integer not null default 0,
        primary key (person_id, month, environment)
      ) with (fillfactor = 70)`);
    this.addSql('create index if not exists person_months_month on person_months (month)');
    this.addSql(PERSON_MONTHS_FILL);
    this.addSql(`
      create or replace function quotient_person_months() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          ${addSums(signed('new_rollups', 1))}
          ${markDays('new_rollups')}
        elsif tg_op = 'UPDATE' then
          ${addSums(`(${signed('new_rollups', 1)} union all ${signed('old_rollups', -1)})`)}
          ${markDays('(select person_id, day, environment, requests from new_rollups union all select person_id, day, environment, 0 from old_rollups)')}
        else
          ${addSums(signed('old_rollups', -1))}
          ${markDays('(select person_id, day, environment, 0 as requests from old_rollups)')}
        end if;
        return null;
      end $$`);
    this.addSql(`
      create trigger daily_rollups_person_months_insert after insert on daily_rollups
        referencing new table as new_rollups
        for each statement execute function quotient_person_months()`);
    this.addSql(`
      create trigger daily_rollups_person_months_update after update on daily_rollups
        referencing old table as old_rollups new table as new_rollups
        for each statement execute function quotient_person_months()`);
    this.addSql(`
      create trigger daily_rollups_person_months_delete after delete on daily_rollups
        referencing old table as old_rollups
        for each statement execute function quotient_person_months()`);
  }

  override down(): void {
    for (const op of ['insert', 'update', 'delete']) {
      this.addSql(`drop trigger if exists daily_rollups_person_months_${op} on daily_rollups`);
    }
    this.addSql('drop function if exists quotient_person_months()');
    this.addSql('drop table if exists person_months');
  }
}
