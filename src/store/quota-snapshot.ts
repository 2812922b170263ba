// The one-query quota snapshot: everything a quota answer needs for a batch of people,
// including the budget and rule holds re-evaluation keeps (src/engine/holds.ts). The rows
// come back as read (exceptions with their expiry, steps and holds with their period end),
// so a snapshot can be taken of them at any later moment (snapshotAt): the quota cache
// keeps them in memory.

import { createHash } from 'node:crypto';
import type { HoldState } from '../engine/holds.ts';
import type { FactWindow } from '../engine/ports.ts';
import { type QuotaInputs, type QuotaSnapshot, snapshotAt } from '../engine/quota-check.ts';
import type { FactValues } from '../policy/evaluate/types.ts';
import type { Store } from './db.ts';
import { isoText, type Queryable } from './sql-text.ts';

/** Each fact as a sum over daily_rollups columns (tokens counts every kind of token). */
const ROLLUP_FACT: Record<string, string> = {
  tokens: 'input_tokens + output_tokens + cache_read_tokens + cache_write_tokens',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  cache_read_tokens: 'cache_read_tokens',
  cache_write_tokens: 'cache_write_tokens',
  cost: 'cost',
  requests: 'requests',
  tasks: 'tasks',
  accepted: 'accepted',
  rejected: 'rejected',
  reworked: 'reworked',
  completed: 'completed',
  minutes_saved: 'minutes_saved',
  redaction_failures: 'redaction_failures',
  sensitive_flags: 'sensitive_flags',
  policy_exceptions: 'policy_exceptions',
  sessions: 'sessions',
  lines_added: 'lines_added',
  lines_removed: 'lines_removed',
  commits: 'commits',
  pull_requests: 'pull_requests',
};

/** The same facts over raw usage events, for sub-day windows. */
const EVENT_FACT: Record<string, string> = {
  tokens: 'input_tokens + output_tokens + cache_read_tokens + cache_write_tokens',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  cache_read_tokens: 'cache_read_tokens',
  cache_write_tokens: 'cache_write_tokens',
  cost: 'coalesce(cost, 0)',
  requests: 'requests',
};

function lit(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** One person's quota snapshot (see readQuotaSnapshots). */
export async function readQuotaSnapshot(
  db: Queryable,
  personId: string,
  windows: readonly FactWindow[],
  now: Date,
): Promise<QuotaSnapshot> {
  return (await readQuotaSnapshots(db, [personId], windows, now))[0];
}

const statementNames = new Map<string, string>();

/** A stable prepared-statement name for a statement text (hashed once per text). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `quota_snapshot_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    if (statementNames.size > 256) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/** One person's row of the quota snapshot statement. */
type SnapshotRow = {
  policy_hash: string | null;
  person: Record<string, unknown> | null;
  team: Record<string, unknown> | null;
  rollups: Record<string, string | number>;
  spans: Record<string, FactValues> | null;
  exceptions: { extra_tokens: string | number; expires_at: string }[] | null;
  satisfied: { threshold: number; period_start: string; period_end: string }[] | null;
  holds?: HoldJson[] | null;
};

type HoldJson = {
  subject_kind: 'person' | 'team' | 'org';
  subject_id: string;
  key: string;
  source: 'budget' | 'rule';
  name: string;
  environment: string | null;
  project: string | null;
  threshold: number | null;
  observed: number | null;
  action: HoldState['action'];
  period_end: string;
  policy_hash: string;
  escalation_id: string | null;
  escalation_status: string | null;
};

/**
 * Everything a quota answer needs for these people, in one statement: the active policy's
 * hash, each person and their team, their sums over the windows, approved token exceptions
 * and the quota steps already satisfied. One snapshot per entry of `personIds`, in order
 * (one statement sees one database snapshot, so every answer in a batch is as current as
 * the moment the statement started).
 */
export async function readQuotaSnapshots(
  db: Queryable,
  personIds: readonly string[],
  windows: readonly FactWindow[],
  now: Date,
): Promise<QuotaSnapshot[]> {
  const read = await readQuotaInputs(db, personIds, windows, now, { holds: true });
  return read.map(({ inputs, holds }) => snapshotAt(inputs, holds, now));
}

/**
 * The rows of readQuotaSnapshots as read, one per entry of `personIds`: what is unexpired
 * at `now`, to be weighed at `now` or later by snapshotAt. Without `holds` the statement
 * skips them (the quota cache keeps every hold apart, by subject).
 */
export async function readQuotaInputs(
  db: Queryable,
  personIds: readonly string[],
  windows: readonly FactWindow[],
  now: Date,
  options: { holds: boolean },
): Promise<{ inputs: QuotaInputs; holds: HoldState[] }[]> {
  const params: unknown[] = [personIds, now.toISOString()];
  const fields: string[] = [];
  let minFrom: string | null = null;
  let maxTo: string | null = null;
  const spans: string[] = [];
  for (const w of windows) {
    const env = w.environment ? ` and environment = ${lit(w.environment)}` : '';
    if (w.kind === 'days') {
      params.push(w.from, w.to);
      const from = `$${params.length - 1}::date`;
      const to = `$${params.length}::date`;
      if (minFrom === null || w.from < minFrom) minFrom = w.from;
      if (maxTo === null || w.to > maxTo) maxTo = w.to;
      for (const f of w.facts) {
        const expr =
          f === 'active_days'
            ? `count(distinct day) filter (where day >= ${from} and day < ${to} and requests > 0${env})`
            : `coalesce(sum(${ROLLUP_FACT[f] ?? '0'}) filter (where day >= ${from} and day < ${to}${env}), 0)`;
        fields.push(`${lit(`${w.key}|${f}`)}, ${expr}`);
      }
    } else {
      params.push(w.start.toISOString(), w.end.toISOString());
      const start = `$${params.length - 1}::timestamptz`;
      const end = `$${params.length}::timestamptz`;
      const sums = w.facts.map((f) => `${lit(f)}, coalesce(sum(${EVENT_FACT[f] ?? '0'}), 0)`);
      spans.push(
        `${lit(w.key)}, (select jsonb_build_object(${sums.join(', ') || "'_', 0"}) from usage_events
           where person_id = q.id and ts > ${start} and ts <= ${end}${env})`,
      );
    }
  }
  let rollups = "'{}'::jsonb";
  if (fields.length > 0) {
    params.push(minFrom, maxTo);
    // jsonb_build_object takes at most 100 arguments: build in chunks and merge
    const parts: string[] = [];
    for (let i = 0; i < fields.length; i += 50)
      parts.push(`jsonb_build_object(${fields.slice(i, i + 50).join(', ')})`);
    rollups = `(select ${parts.join(' || ')} from daily_rollups
       where person_id = q.id and day >= $${params.length - 1}::date and day < $${params.length}::date)`;
  }
  const text = `select
       (select hash from policy_versions where status = 'active' limit 1) as policy_hash,
       (select to_jsonb(p) from people p where p.id = q.id) as person,
       (select to_jsonb(t) from teams t where t.id = (select team_id from people where id = q.id)) as team,
       ${rollups} as rollups,
       ${spans.length ? `jsonb_build_object(${spans.join(', ')})` : 'null'} as spans,
       (select jsonb_agg(jsonb_build_object('extra_tokens', extra_tokens, 'expires_at', ${isoText('expires_at')}))
          from exceptions
         where subject_id = q.id and subject_kind = 'person' and status = 'approved'
           and expires_at > $2::timestamptz and extra_tokens is not null) as exceptions,
       (select jsonb_agg(jsonb_build_object('threshold', threshold, 'period_start', ${isoText('period_start')},
                 'period_end', ${isoText('period_end')}))
          from escalations
         where subject_kind = 'person' and subject_id = q.id and ladder = 'quota'
           and status in ('justified', 'approved') and period_end > $2::timestamptz) as satisfied
       ${
         options.holds
           ? `, (select jsonb_agg(${HOLD_JSON})
          from enforcement_holds h left join escalations e on e.key = h.key
         where h.period_end > $2::timestamptz
           and (h.subject_kind = 'org'
                or (h.subject_kind = 'person' and h.subject_id = q.id)
                or (h.subject_kind = 'team'
                    and h.subject_id = (select team_id from people where id = q.id)))) as holds`
           : ''
       }
     from unnest($1::text[]) with ordinality as q(id, n)
    order by q.n`;
  // a named statement is parsed once per connection and soon runs on a cached generic
  // plan: planning this statement costs more than executing it
  const rows =
    'pool' in db
      ? (
          await (db as Store).pool.query<SnapshotRow>({
            name: statementName(text),
            text,
            values: params,
          })
        ).rows
      : await db.query<SnapshotRow>(text, params);
  if (rows.length !== personIds.length)
    throw new Error(`quota snapshot: ${rows.length} rows for ${personIds.length} people`);
  return rows.map((row) => ({
    inputs: inputsOf(row, windows),
    holds: (row.holds ?? []).map(holdOf),
  }));
}

/** A hold row with its escalation (h: enforcement_holds, e: escalations) as one JSON object. */
const HOLD_JSON = `jsonb_build_object('subject_kind', h.subject_kind, 'subject_id', h.subject_id,
  'key', h.key, 'source', h.source, 'name', h.name, 'environment', h.environment, 'project', h.project,
  'threshold', h.threshold, 'observed', h.observed, 'action', h.action,
  'period_end', ${isoText('h.period_end')}, 'policy_hash', h.policy_hash,
  'escalation_id', e.id::text, 'escalation_status', e.status)`;

/**
 * The unexpired holds of these subjects (every subject's with 'all'), each with the state
 * of its escalation: what the quota cache keeps beside people.
 */
export async function readHoldStates(
  db: Queryable,
  subjects: readonly { kind: string; id: string }[] | 'all',
  now: Date,
): Promise<HoldState[]> {
  const all = subjects === 'all';
  const list = all ? [] : subjects;
  const rows = await db.query<{ hold: HoldJson }>(
    `select ${HOLD_JSON} as hold
       from enforcement_holds h left join escalations e on e.key = h.key
      where h.period_end > $1::timestamptz
        and ($2::boolean or (h.subject_kind, h.subject_id) in
             (select kind, id from unnest($3::text[], $4::text[]) as s(kind, id)))`,
    [now.toISOString(), all, list.map((s) => s.kind), list.map((s) => s.id)],
  );
  return rows.map((r) => holdOf(r.hold));
}

function inputsOf(row: SnapshotRow, windows: readonly FactWindow[]): QuotaInputs {
  const facts: QuotaSnapshot['facts'] = {};
  for (const w of windows) {
    const values: FactValues = {};
    for (const f of w.facts) {
      const raw = w.kind === 'days' ? row.rollups?.[`${w.key}|${f}`] : row.spans?.[w.key]?.[f];
      values[f] = raw === undefined || raw === null ? 0 : Number(raw);
    }
    facts[w.key] = values;
  }
  const p = row.person;
  const t = row.team;
  return {
    policyHash: row.policy_hash,
    person: p
      ? {
          id: String(p.id),
          name: (p.name as string | null) ?? null,
          team: (p.team_id as string | null) ?? null,
          role: (p.role as string | null) ?? null,
          manager: (p.manager_id as string | null) ?? null,
          optedIn: p.opted_in === true,
          fromDirectory: p.from_directory === true,
          attributes: (p.attributes as Record<string, unknown>) ?? {},
        }
      : null,
    team: t
      ? {
          id: String(t.id),
          name: String(t.name),
          parent: (t.parent_id as string | null) ?? null,
          costCenter: (t.cost_center as string | null) ?? null,
          sensitivity: String(t.sensitivity),
          owner: (t.owner as string | null) ?? null,
          fromDirectory: t.from_directory === true,
        }
      : null,
    facts,
    exceptions: (row.exceptions ?? []).map((e) => ({
      extraTokens: Number(e.extra_tokens),
      expiresAt: Date.parse(e.expires_at),
    })),
    satisfied: (row.satisfied ?? []).map((s) => ({
      threshold: Number(s.threshold),
      periodStart: s.period_start,
      periodEnd: Date.parse(s.period_end),
    })),
  };
}

function holdOf(h: HoldJson): HoldState {
  return {
    subject: { kind: h.subject_kind, id: h.subject_id },
    key: h.key,
    source: h.source,
    name: h.name,
    environment: h.environment,
    project: h.project,
    threshold: h.threshold === null ? null : Number(h.threshold),
    observed: h.observed === null ? null : Number(h.observed),
    action: h.action,
    periodEnd: h.period_end,
    policyHash: h.policy_hash,
    escalationId: h.escalation_id,
    escalationStatus: h.escalation_status,
  };
}
