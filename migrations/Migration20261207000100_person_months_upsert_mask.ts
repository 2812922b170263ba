import { Migration } from '@mikro-orm/migrations';
import { DAY_BIT, MONTH, SUMS, signed } from './Migration20261206224000_person_months.ts';

// The person_months trigger set day bits in a second statement that joined every changed
// group back to person_months; with a transition table's row estimate the planner took the
// month index and filtered a whole month of people per group, which made the trigger most
// of ingest's server time (docs/benchmarks/ingest.md). Now the upsert that adds the sums
// also sets the bits of days with a request, and only groups that may have gone quiet (no
// request among the changed rows' current values: updates and deletes) are looked up and
// cleared. A pure insert never clears a bit: the day's other rows did not change.

/** Adds the signed sums of `source` into person_months and sets the bits of lit days. */
function addSums(source: string): string {
  return `
    insert into person_months as m (person_id, month, environment, ${SUMS.join(', ')}, active_mask)
    select person_id, ${MONTH}, environment, ${SUMS.map((c) => `sum(sign * ${c})`).join(', ')},
           coalesce(bit_or(${DAY_BIT}) filter (where sign = 1 and requests > 0), 0)
      from ${source} d
     group by 1, 2, 3
     order by 1, 2, 3
    on conflict (person_id, month, environment) do update set
      ${SUMS.map((c) => `${c} = m.${c} + excluded.${c}`).join(',\n      ')},
      active_mask = m.active_mask | excluded.active_mask;`;
}

/**
 * Clears the bits of (person, day, environment) groups in `changed` (the rows' current
 * `requests`, 0 for rows deleted or replaced) that have no request now in daily_rollups.
 */
function clearQuietDays(changed: string): string {
  const bit = DAY_BIT.replace('day from day', 'day from q.day');
  return `
    update person_months m
       set active_mask = m.active_mask & ~a.off_bits
      from (select q.person_id, ${MONTH.replace('day)', 'q.day)')} as month, q.environment, bit_or(${bit}) as off_bits
              from (select person_id, day, environment from ${changed} u
                     group by 1, 2, 3 having not bool_or(requests > 0)) q
             where not exists (select 1 from daily_rollups r
                                where r.person_id = q.person_id and r.day = q.day
                                  and r.environment = q.environment and r.requests > 0)
             group by 1, 2, 3) a
     where m.person_id = a.person_id and m.month = a.month and m.environment = a.environment;`;
}

export class Migration20261207000100_person_months_upsert_mask extends Migration {
  override up(): void {
    this.addSql(`
      create or replace function quotient_person_months() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          ${addSums(signed('new_rollups', 1))}
        elsif tg_op = 'UPDATE' then
          ${addSums(`(${signed('new_rollups', 1)} union all ${signed('old_rollups', -1)})`)}
          ${clearQuietDays('(select person_id, day, environment, requests from new_rollups union all select person_id, day, environment, 0 from old_rollups)')}
        else
          ${addSums(signed('old_rollups', -1))}
          ${clearQuietDays('(select person_id, day, environment, 0 as requests from old_rollups)')}
        end if;
        return null;
      end $$`);
  }
}
