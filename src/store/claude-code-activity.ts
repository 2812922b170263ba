// Claude Code `core_metrics` per actor and day. A report row: a later pull of the same day
// replaces it (restatement), so the stored numbers are always the provider's latest.
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
    `insert into claude_code_activity as a (day, person_id, sessions, lines_added, lines_removed,
                                             commits, pull_requests, customer_type, terminal_type)
     select * from unnest($1::date[], $2::text[], $3::int4[], $4::int4[], $5::int4[], $6::int4[],
                          $7::int4[], $8::text[], $9::text[])
     on conflict (person_id, day) do update set
       sessions = excluded.sessions, lines_added = excluded.lines_added,
       lines_removed = excluded.lines_removed, commits = excluded.commits,
       pull_requests = excluded.pull_requests, customer_type = excluded.customer_type,
       terminal_type = excluded.terminal_type, updated_at = now()`,
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
