// Writing one chunk of usage events inside the loader's transaction, in three steps:
// 1. claim the ids in the usage_event_ids ledger: an id stored before is a duplicate;
// 2. store the new events;
// 3. add them to the daily rollups, summed here first (one row per person × local day ×
//    model × project × environment), so the database upserts a few rows, not every event.
// On a PostgreSQL server steps 1 and 2 use COPY; the embedded PGlite gets INSERTs.
import type pg from 'pg';
import { copyInto, giveBackCopyRows, takeCopyRows } from './copy.ts';
import type { UsageRecord } from './ingest/native.ts';
import { formatTimestamp } from './iso-time.ts';
import { numberArray, textArray } from './pg-array.ts';

/** Cost in integer pico-units (a decimal string past 2^53), or null when unpriced. */
export type CostPico = number | string | null;

/**
 * Usage events with their costs, as parallel arrays (no object per event). `signs` (-1)
 * takes an event out of the rollups instead of adding it (a restatement's old values).
 */
export type PricedUsage = { records: UsageRecord[]; costs: CostPico[]; signs?: number[] };

export type UsageWriteOptions = {
  /** Recorded on each event: the input format. */
  source: string;
  /** IANA timezone whose calendar days the rollups are keyed by. */
  timezone: string;
  /** Whether the connection takes COPY FROM STDIN (a real server, not the embedded PGlite). */
  copy: boolean;
  /** Report rows: an id stored before with other values replaces the stored event. */
  restate?: boolean;
};

export type UsageWriteResult = {
  /** ids stored before this write (duplicates, or restated rows) */
  stored: Set<string>;
  /** ids whose stored event was replaced by a restatement */
  replaced: Set<string>;
};

/**
 * Stores the events whose ids are new. With `restate`, an id stored before whose values
 * differ replaces the stored event, and its rollups move by the difference.
 */
export async function writeUsage(
  client: pg.PoolClient,
  events: PricedUsage,
  options: UsageWriteOptions,
): Promise<UsageWriteResult> {
  const replaced = new Set<string>();
  if (events.records.length === 0) return { stored: new Set(), replaced };
  const stored = await claimIds(
    client,
    events.records.map((r) => r.id),
    options.copy,
  );
  if (options.restate && stored.size > 0) {
    const again: PricedUsage = { records: [], costs: [] };
    events.records.forEach((r, i) => {
      if (!stored.has(r.id)) return;
      again.records.push(r);
      again.costs.push(events.costs[i]);
    });
    for (const id of await restateEvents(client, again, options.timezone)) replaced.add(id);
  }
  const fresh = stored.size === 0 ? events : withoutIds(events, stored);
  if (fresh.records.length === 0) return { stored, replaced };
  if (options.copy) await copyEvents(client, fresh, options.source);
  else await insertEvents(client, fresh, options.source);
  await addToRollups(client, fresh, options.timezone);
  return { stored, replaced };
}

type StoredEvent = {
  id: string;
  ts: string;
  person_id: string;
  team_id: string | null;
  model: string;
  provider: string | null;
  provider_model: string | null;
  input_tokens: string;
  output_tokens: string;
  cache_read_tokens: string;
  cache_write_tokens: string;
  cache_write_1h_tokens: string;
  audio_input_tokens: string;
  audio_output_tokens: string;
  web_search_requests: string;
  service_tier: string | null;
  long_context: boolean | null;
  requests: number;
  cost: string | null;
  project: string;
  environment: string;
  task: string | null;
};

const costText = (cost: CostPico) => (cost === null ? null : String(cost));

/**
 * Restatements of report rows (a later pull of the same bucket and group keys): each new
 * value replaces the stored event of the same id and bucket time; the rollups lose the old
 * values and gain the new ones, exactly. Returns the ids that changed.
 */
async function restateEvents(
  client: pg.PoolClient,
  events: PricedUsage,
  timezone: string,
): Promise<string[]> {
  if (events.records.length === 0) return [];
  const { rows } = await client.query<StoredEvent>(
    `select e.id, e.ts::text as ts, person_id, team_id, model, provider, provider_model,
            input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
            cache_write_1h_tokens, audio_input_tokens, audio_output_tokens, web_search_requests,
            service_tier, long_context, requests, (cost * 1e12)::numeric(40, 0)::text as cost,
            project, environment, task
       from usage_events e
       join unnest($1::text[], $2::timestamptz[]) as t(id, ts) on e.id = t.id and e.ts = t.ts
      order by e.id
        for update of e`,
    [
      textArray(events.records.map((r) => r.id)),
      textArray(events.records.map((r) => formatTimestamp(r.ts))),
    ],
  );
  const old = new Map(rows.map((r) => [r.id, r]));
  const changed: PricedUsage = { records: [], costs: [] };
  const removed: PricedUsage = { records: [], costs: [], signs: [] };
  events.records.forEach((r, i) => {
    const before = old.get(r.id);
    if (!before) return; // same id at another time: not a restatement of this bucket
    const beforeRecord = storedRecord(before);
    if (sameEvent(beforeRecord, before.cost, r, events.costs[i])) return;
    changed.records.push(r);
    changed.costs.push(events.costs[i]);
    removed.records.push(beforeRecord);
    removed.costs.push(before.cost);
    removed.signs?.push(-1);
  });
  if (changed.records.length === 0) return [];
  const { records, costs } = changed;
  const text = (pick: (r: UsageRecord) => string | null) => textArray(records.map(pick));
  const numbers = (pick: (r: UsageRecord) => number) => numberArray(records.map(pick));
  await client.query(
    `update usage_events e set
       person_id = t.person_id, team_id = t.team_id, model = t.model, provider = t.provider,
       provider_model = t.provider_model, input_tokens = t.input_tokens,
       output_tokens = t.output_tokens, cache_read_tokens = t.cache_read_tokens,
       cache_write_tokens = t.cache_write_tokens, cache_write_1h_tokens = t.cache_write_1h_tokens,
       audio_input_tokens = t.audio_input_tokens, audio_output_tokens = t.audio_output_tokens,
       web_search_requests = t.web_search_requests, service_tier = t.service_tier,
       long_context = t.long_context, requests = t.requests, cost = t.cost, project = t.project,
       environment = t.environment, task = t.task, ingested_at = now()
     from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                 $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[],
                 $13::int8[], $14::int8[], $15::int8[], $16::text[], $17::boolean[], $18::int4[],
                 $19::numeric[], $20::text[], $21::text[], $22::text[])
       as t(id, ts, person_id, team_id, model, provider, provider_model, input_tokens,
            output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
            audio_input_tokens, audio_output_tokens, web_search_requests, service_tier,
            long_context, requests, cost, project, environment, task)
     where e.id = t.id and e.ts = t.ts`,
    [
      text((r) => r.id),
      text((r) => formatTimestamp(r.ts)),
      text((r) => r.person),
      text((r) => r.team),
      text((r) => r.model),
      text((r) => r.provider),
      text((r) => r.provider_model ?? null),
      numbers((r) => r.input_tokens),
      numbers((r) => r.output_tokens),
      numbers((r) => r.cache_read_tokens),
      numbers((r) => r.cache_write_tokens),
      numbers((r) => r.cache_write_1h_tokens ?? 0),
      numbers((r) => r.audio_input_tokens ?? 0),
      numbers((r) => r.audio_output_tokens ?? 0),
      numbers((r) => r.web_search_requests ?? 0),
      text((r) => r.service_tier ?? null),
      textArray(
        records.map((r) =>
          r.long_context === undefined || r.long_context === null ? null : String(r.long_context),
        ),
      ),
      numbers((r) => r.requests),
      numberArray(costs.map((c) => (c === null ? null : picoNumeric(c)))),
      text((r) => r.project),
      text((r) => r.environment),
      text((r) => r.task),
    ],
  );
  // the old values leave their rollup rows, the new ones arrive (one statement each way)
  await addToRollups(client, removed, timezone);
  await addToRollups(client, changed, timezone);
  return records.map((r) => r.id);
}

/** A stored event as the record it came from (cost in pico-units as text). */
function storedRecord(e: StoredEvent): UsageRecord {
  return {
    type: 'usage',
    id: e.id,
    ts: Date.parse(e.ts.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')),
    person: e.person_id,
    team: e.team_id,
    model: e.model,
    provider: e.provider,
    provider_model: e.provider_model,
    input_tokens: Number(e.input_tokens),
    output_tokens: Number(e.output_tokens),
    cache_read_tokens: Number(e.cache_read_tokens),
    cache_write_tokens: Number(e.cache_write_tokens),
    cache_write_1h_tokens: Number(e.cache_write_1h_tokens),
    audio_input_tokens: Number(e.audio_input_tokens),
    audio_output_tokens: Number(e.audio_output_tokens),
    web_search_requests: Number(e.web_search_requests),
    service_tier: e.service_tier,
    long_context: e.long_context,
    requests: e.requests,
    project: e.project,
    environment: e.environment as UsageRecord['environment'],
    task: e.task,
  };
}

function sameEvent(a: UsageRecord, aCost: string | null, b: UsageRecord, bCost: CostPico): boolean {
  return (
    aCost === costText(bCost) &&
    a.person === b.person &&
    a.team === b.team &&
    a.model === b.model &&
    a.provider === b.provider &&
    (a.provider_model ?? null) === (b.provider_model ?? null) &&
    a.input_tokens === b.input_tokens &&
    a.output_tokens === b.output_tokens &&
    a.cache_read_tokens === b.cache_read_tokens &&
    a.cache_write_tokens === b.cache_write_tokens &&
    (a.cache_write_1h_tokens ?? 0) === (b.cache_write_1h_tokens ?? 0) &&
    (a.audio_input_tokens ?? 0) === (b.audio_input_tokens ?? 0) &&
    (a.audio_output_tokens ?? 0) === (b.audio_output_tokens ?? 0) &&
    (a.web_search_requests ?? 0) === (b.web_search_requests ?? 0) &&
    (a.service_tier ?? null) === (b.service_tier ?? null) &&
    (a.long_context ?? null) === (b.long_context ?? null) &&
    a.requests === b.requests &&
    a.project === b.project &&
    a.environment === b.environment &&
    a.task === b.task
  );
}

function withoutIds(events: PricedUsage, ids: Set<string>): PricedUsage {
  const kept: PricedUsage = { records: [], costs: [] };
  events.records.forEach((record, i) => {
    if (ids.has(record.id)) return;
    kept.records.push(record);
    kept.costs.push(events.costs[i]);
  });
  return kept;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Inserts the ids into the ledger and returns those already there. COPY is tried first (a
 * fresh import, the common case); if any id exists it fails as a whole, and the savepoint
 * lets the slower INSERT … ON CONFLICT sort new from old. Ids go in sorted order so
 * concurrent chunks take their index locks in the same order.
 */
async function claimIds(client: pg.PoolClient, ids: string[], copy: boolean): Promise<Set<string>> {
  const sorted = ids.toSorted();
  if (copy) {
    await client.query('savepoint claim_ids');
    const rows = takeCopyRows();
    for (const id of sorted) {
      rows.text(id);
      rows.endRow();
    }
    try {
      await copyInto(client, 'usage_event_ids', ['id'], rows.bytes());
      // reused only after a COPY that ended well: after an error, the socket may still be
      // sending from it
      giveBackCopyRows(rows);
      await client.query('release savepoint claim_ids');
      return new Set();
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      await client.query('rollback to savepoint claim_ids');
    }
  }
  const { rows } = await client.query<{ id: string }>(
    `with claimed as (
       insert into usage_event_ids (id) select id from unnest($1::text[]) as t(id) order by id
       on conflict do nothing returning id
     )
     select t.id from unnest($1::text[]) as t(id)
      where not exists (select 1 from claimed c where c.id = t.id)`,
    [textArray(sorted)],
  );
  return new Set(rows.map((r) => r.id));
}

const EVENT_COLUMNS = [
  'id',
  'ts',
  'person_id',
  'team_id',
  'model',
  'provider',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'requests',
  'cost',
  'project',
  'environment',
  'task',
  'source',
  'cache_write_1h_tokens',
  'audio_input_tokens',
  'audio_output_tokens',
  'web_search_requests',
  'service_tier',
  'long_context',
  'provider_model',
] as const;

/** Exact numeric text of an integer number of pico-units: PostgreSQL reads `123e-12` exactly. */
export function picoNumeric(pico: number | string | bigint): string {
  return `${pico}${PICO}`;
}

const PICO = 'e-12';

async function copyEvents(client: pg.PoolClient, events: PricedUsage, source: string) {
  const { records, costs } = events;
  const rows = takeCopyRows();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const costPico = costs[i];
    rows.text(r.id);
    rows.timestamp(r.ts);
    rows.text(r.person);
    rows.text(r.team);
    rows.text(r.model);
    rows.text(r.provider);
    rows.number(r.input_tokens);
    rows.number(r.output_tokens);
    rows.number(r.cache_read_tokens);
    rows.number(r.cache_write_tokens);
    rows.number(r.requests);
    if (costPico === null) rows.text(null);
    else if (typeof costPico === 'number') rows.number(costPico, PICO);
    else rows.ascii(picoNumeric(costPico));
    rows.text(r.project);
    rows.text(r.environment);
    rows.text(r.task);
    rows.text(source);
    rows.number(r.cache_write_1h_tokens ?? 0);
    rows.number(r.audio_input_tokens ?? 0);
    rows.number(r.audio_output_tokens ?? 0);
    rows.number(r.web_search_requests ?? 0);
    rows.text(r.service_tier ?? null);
    if (r.long_context === undefined || r.long_context === null) rows.text(null);
    else rows.ascii(r.long_context ? 't' : 'f');
    rows.text(r.provider_model ?? null);
    rows.endRow();
  }
  await copyInto(client, 'usage_events', EVENT_COLUMNS, rows.bytes());
  // as in claimIds: a buffer goes back for reuse only after a COPY that ended well
  giveBackCopyRows(rows);
}

async function insertEvents(client: pg.PoolClient, events: PricedUsage, source: string) {
  const text = (pick: (r: UsageRecord) => string | null) => textArray(events.records.map(pick));
  const numbers = (pick: (r: UsageRecord) => number) => numberArray(events.records.map(pick));
  await client.query(
    `insert into usage_events (${EVENT_COLUMNS.join(', ')})
     select t.c1, t.c2, t.c3, t.c4, t.c5, t.c6, t.c7, t.c8, t.c9, t.c10, t.c11, t.c12, t.c13,
            t.c14, t.c15, $16, t.c17, t.c18, t.c19, t.c20, t.c21, t.c22, t.c23
       from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                   $6::text[], $7::int8[], $8::int8[], $9::int8[], $10::int8[],
                   $11::int4[], $12::numeric[], $13::text[], $14::text[], $15::text[],
                   $17::int8[], $18::int8[], $19::int8[], $20::int8[], $21::text[], $22::boolean[],
                   $23::text[])
         as t(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c17, c18, c19,
              c20, c21, c22, c23)`,
    [
      text((r) => r.id),
      text((r) => formatTimestamp(r.ts)),
      text((r) => r.person),
      text((r) => r.team),
      text((r) => r.model),
      text((r) => r.provider),
      numbers((r) => r.input_tokens),
      numbers((r) => r.output_tokens),
      numbers((r) => r.cache_read_tokens),
      numbers((r) => r.cache_write_tokens),
      numbers((r) => r.requests),
      numberArray(events.costs.map((c) => (c === null ? null : picoNumeric(c)))),
      text((r) => r.project),
      text((r) => r.environment),
      text((r) => r.task),
      source,
      numbers((r) => r.cache_write_1h_tokens ?? 0),
      numbers((r) => r.audio_input_tokens ?? 0),
      numbers((r) => r.audio_output_tokens ?? 0),
      numbers((r) => r.web_search_requests ?? 0),
      text((r) => r.service_tier ?? null),
      textArray(
        events.records.map((r) =>
          r.long_context === undefined || r.long_context === null ? null : String(r.long_context),
        ),
      ),
      text((r) => r.provider_model ?? null),
    ],
  );
}

/** a + b, exact: a plain number while the sum stays a safe integer, else a BigInt. */
function plus(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return BigInt(a) + BigInt(b);
}

type RollupDelta = {
  day: string;
  person: string;
  model: string;
  project: string;
  environment: string;
  input: number | bigint;
  output: number | bigint;
  cacheRead: number | bigint;
  cacheWrite: number | bigint;
  costPico: number | bigint;
  requests: number | bigint;
  unpriced: number;
};

async function addToRollups(client: pg.PoolClient, events: PricedUsage, timezone: string) {
  const { records, costs } = events;
  const days = await localDays(client, timezone, records);
  const groups = new Map<string, RollupDelta>();
  let group: RollupDelta | undefined;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const costPico = costs[i];
    const sign = events.signs?.[i] ?? 1;
    const cost = costPico === null ? 0 : typeof costPico === 'number' ? costPico : BigInt(costPico);
    // a session's events arrive together: most rows belong to the previous row's group
    if (
      group === undefined ||
      group.person !== r.person ||
      group.day !== days[i] ||
      group.model !== r.model ||
      group.project !== r.project ||
      group.environment !== r.environment
    ) {
      // NUL never occurs in stored text (rejected at validation), so it separates the key
      const key = `${r.person}\0${days[i]}\0${r.model}\0${r.project}\0${r.environment}`;
      group = groups.get(key);
      if (!group) {
        group = {
          day: days[i],
          person: r.person,
          model: r.model,
          project: r.project,
          environment: r.environment,
          input: 0,
          output: 0,
          cacheRead: 0,
          cacheWrite: 0,
          costPico: 0,
          requests: 0,
          unpriced: 0,
        };
        groups.set(key, group);
      }
    }
    if (sign === 1) {
      group.input = plus(group.input, r.input_tokens);
      group.output = plus(group.output, r.output_tokens);
      group.cacheRead = plus(group.cacheRead, r.cache_read_tokens);
      group.cacheWrite = plus(group.cacheWrite, r.cache_write_tokens);
      group.costPico = plus(group.costPico, cost);
      group.requests = plus(group.requests, r.requests);
      if (costPico === null) group.unpriced++;
    } else {
      group.input = plus(group.input, -r.input_tokens);
      group.output = plus(group.output, -r.output_tokens);
      group.cacheRead = plus(group.cacheRead, -r.cache_read_tokens);
      group.cacheWrite = plus(group.cacheWrite, -r.cache_write_tokens);
      group.costPico = plus(group.costPico, typeof cost === 'bigint' ? -cost : -cost);
      group.requests = plus(group.requests, -r.requests);
      if (costPico === null) group.unpriced--;
    }
  }
  const deltas = [...groups.values()];
  const text = (pick: (d: RollupDelta) => string) => textArray(deltas.map(pick));
  const numbers = (pick: (d: RollupDelta) => number | bigint | string) =>
    numberArray(deltas.map(pick));
  // in primary-key order, so concurrent chunks lock shared rollup rows in the same order
  await client.query(
    `insert into daily_rollups as r (day, person_id, model, project, environment, input_tokens,
                                     output_tokens, cache_read_tokens, cache_write_tokens, cost,
                                     requests, unpriced_requests)
     select * from unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
                          $7::int8[], $8::int8[], $9::int8[], $10::numeric[], $11::int8[], $12::int8[])
      order by 2, 1, 3, 4, 5
     on conflict (person_id, day, model, project, environment) do update set
       input_tokens = r.input_tokens + excluded.input_tokens,
       output_tokens = r.output_tokens + excluded.output_tokens,
       cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
       cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
       cost = r.cost + excluded.cost,
       requests = r.requests + excluded.requests,
       unpriced_requests = r.unpriced_requests + excluded.unpriced_requests`,
    [
      text((d) => d.day),
      text((d) => d.person),
      text((d) => d.model),
      text((d) => d.project),
      text((d) => d.environment),
      numbers((d) => d.input),
      numbers((d) => d.output),
      numbers((d) => d.cacheRead),
      numbers((d) => d.cacheWrite),
      numbers((d) => picoNumeric(d.costPico)),
      numbers((d) => d.requests),
      numbers((d) => d.unpriced),
    ],
  );
}

// ---------- local days ----------
// The database's time zone rules decide which local day an instant belongs to (the same
// rules every query uses). Every UTC offset since 2000 is a multiple of 15 minutes, so all
// instants in one 15-minute UTC slot share a local day: the database is asked once per
// slot, and the answers are kept.
const SLOT_MS = 15 * 60 * 1000;
const MAX_CACHED_SLOTS = 200_000;
const slotDays = new Map<string, Map<number, string>>();

async function localDays(
  client: pg.PoolClient,
  timezone: string,
  records: readonly { ts: number }[],
): Promise<string[]> {
  let cache = slotDays.get(timezone);
  if (!cache || cache.size > MAX_CACHED_SLOTS) {
    cache = new Map();
    slotDays.set(timezone, cache);
  }
  const days: string[] = new Array(records.length);
  let missing: Set<number> | null = null;
  // neighbouring events mostly share a slot: remember the last answer
  let lastSlot = Number.NaN;
  let lastDay: string | undefined;
  for (let i = 0; i < records.length; i++) {
    const slot = Math.floor(records[i].ts / SLOT_MS);
    if (slot !== lastSlot) {
      lastSlot = slot;
      lastDay = cache.get(slot);
      if (lastDay === undefined) {
        missing ??= new Set();
        missing.add(slot);
      }
    }
    if (lastDay !== undefined) days[i] = lastDay;
  }
  if (missing !== null) {
    const { rows } = await client.query<{ slot: string; day: string }>(
      `select slot, to_char((to_timestamp(slot * ${SLOT_MS / 1000}) at time zone $2)::date, 'YYYY-MM-DD') as day
         from unnest($1::int8[]) as slot`,
      [numberArray([...missing]), timezone],
    );
    for (const row of rows) cache.set(Number(row.slot), row.day);
    for (let i = 0; i < records.length; i++)
      if (days[i] === undefined) days[i] = cache.get(Math.floor(records[i].ts / SLOT_MS)) as string;
  }
  return days;
}
