// Claude Code `core_metrics` per actor and day. A report row: a later pull of the same day
// replaces it (restatement), so the stored numbers are always the provider's latest. The
// same figures are set (not added) on the person's rollup row without a model for that
// report day, in the same statement, where the facts `sessions`, `lines_added`,
// `lines_removed`, `commits` and `pull_requests` read them; and as one observation each of
// the measures of the same names (measure_rollups, replaced too), which a policy can
// declare to read them with another aggregation (commits per day: `aggregate mean`).
import type { Store } from './db.ts';
import type { ClaudeCodeActivity } from './ingest/claude-code.ts';
import { numberArray, textArray } from './pg-array.ts';

/** Upserts the rows (the last one wins for a person and day); returns how many were written. */
export async function writeClaudeCodeActivity(
  store: Store,
  rows: ClaudeCodeActivity[],
): Promise<number> {
  const byKey = new Map(rows.map((r) => [`${r.person}\u0000${r.day}`, r]));
  const list = [...byKey.values()].sort((a, b) =>
    a.person === b.person ? a.day.localeCompare(b.day) : a.person < b.person ? -1 : 1,
  );
  if (list.length === 0) return 0;
  await store.query(
    `with written as (
       insert into claude_code_activity as a (day, person_id, sessions, lines_added, lines_removed,
                                               commits, pull_requests, customer_type, terminal_type)
       select * from unnest($1::date[], $2::text[], $3::int4[], $4::int4[], $5::int4[], $6::int4[],
                            $7::int4[], $8::text[], $9::text[])
       on conflict (person_id, day) do update set
         sessions = excluded.sessions, lines_added = excluded.lines_added,
         lines_removed = excluded.lines_removed, commits = excluded.commits,
         pull_requests = excluded.pull_requests, customer_type = excluded.customer_type,
         terminal_type = excluded.terminal_type, updated_at = now()
       returning day, person_id, sessions, lines_added, lines_removed, commits, pull_requests
     ),
     measured as (
       insert into measure_rollups as m (person_id, day, project, model, measure, n, total, buckets)
       select w.person_id, w.day, '', '', v.measure, 1, v.value,
              jsonb_build_object(measure_bucket(v.value), 1)
         from written w
        cross join lateral (values ('sessions', w.sessions::numeric),
                                   ('lines_added', w.lines_added::numeric),
                                   ('lines_removed', w.lines_removed::numeric),
                                   ('commits', w.commits::numeric),
                                   ('pull_requests', w.pull_requests::numeric)) v(measure, value)
        order by 1, 2, 5
       on conflict (person_id, day, project, model, measure) do update set
         n = 1, total = excluded.total, buckets = excluded.buckets
     )
     insert into daily_rollups as r (day, person_id, model, project, environment, sessions,
                                     lines_added, lines_removed, commits, pull_requests)
     select day, person_id, '', '', '', sessions, lines_added, lines_removed, commits,
            pull_requests
       from written
      order by person_id, day
     on conflict (person_id, day, model, project, environment) do update set
       sessions = excluded.sessions, lines_added = excluded.lines_added,
       lines_removed = excluded.lines_removed, commits = excluded.commits,
       pull_requests = excluded.pull_requests`,
    [
      textArray(list.map((r) => r.day)),
      textArray(list.map((r) => r.person)),
      numberArray(list.map((r) => r.sessions)),
      numberArray(list.map((r) => r.linesAdded)),
      numberArray(list.map((r) => r.linesRemoved)),
      numberArray(list.map((r) => r.commits)),
      numberArray(list.map((r) => r.pullRequests)),
      textArray(list.map((r) => r.customerType)),
      textArray(list.map((r) => r.terminalType)),
    ],
  );
  return list.length;
}

/**
 * A restated Claude Code day whose accepted or rejected counts went down: the outcome
 * events it no longer stands for are deleted, and their day's rollup loses them. (Counts
 * that went up arrive as new ids through the loader.) Returns how many were deleted.
 */
export async function restateClaudeCodeOutcomes(
  store: Store,
  records: { prefix: string; ids: string[] }[],
  timezone: string,
): Promise<number> {
  if (records.length === 0) return 0;
  const rows = await store.query<{ n: string }>(
    `with doomed as (
       select o.id from outcome_events o
         join unnest($1::text[]) as p(prefix) on left(o.id, length(p.prefix)) = p.prefix
        where o.source = 'claude-code' and not (o.id = any($2::text[]))
     ),
     gone as (
       delete from outcome_events o using doomed d where o.id = d.id
       returning o.person_id, o.ts, o.outcome, o.minutes_saved, coalesce(o.project, '') as project
     ),
     lost as (
       select person_id, (ts at time zone $3)::date as day, project, count(*) as tasks,
              count(*) filter (where outcome = 'accepted') as accepted,
              count(*) filter (where outcome = 'rejected') as rejected,
              count(*) filter (where outcome = 'reworked') as reworked,
              count(*) filter (where outcome = 'completed') as completed,
              sum(minutes_saved) as minutes_saved
         from gone group by 1, 2, 3
     ),
     rolled as (
       update daily_rollups r set tasks = r.tasks - l.tasks, accepted = r.accepted - l.accepted,
              rejected = r.rejected - l.rejected, reworked = r.reworked - l.reworked,
              completed = r.completed - l.completed, minutes_saved = r.minutes_saved - l.minutes_saved
         from lost l
        where r.person_id = l.person_id and r.day = l.day and r.model = ''
          and r.project = l.project
          and r.environment = ''
        returning 1
     )
     select (select count(*) from gone)::text as n`,
    [textArray(records.map((r) => r.prefix)), textArray(records.flatMap((r) => r.ids)), timezone],
  );
  return Number(rows[0]?.n ?? 0);
}
