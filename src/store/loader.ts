// The bulk loader: the single ingest path used by `quotient import`, the GraphQL record*
// mutations and the OTLP receiver. Rows are validated, then written chunk by chunk, each
// chunk in one transaction together with the daily rollups of exactly the rows that were
// new (an id already stored is a duplicate and never counts twice).
import type pg from 'pg';
import { reportIngest } from '../engine/telemetry.ts';
import {
  costOfPrice,
  type ModelPrice,
  type PriceTable,
  priceOf,
  resolveModel,
  type TokenCounts,
} from '../policy/price.ts';
import { appendAudit } from './audit.ts';
import type { Store } from './db.ts';
import { DEFAULT_CHUNK_SIZE } from './defaults.ts';
import {
  type ComplianceRecord,
  type IngestRow,
  MAX_FUTURE_MS,
  type NativeRecord,
  type NativeSchemas,
  type OutcomeRecord,
  type PersonRecord,
  type TeamRecord,
  type UsageRecord,
  validateRecord,
} from './ingest/native.ts';
import type { CheckedUsageRow } from './ingest/native-lines.ts';
import { ensureMonthPartitions, monthKeysOf } from './partitions.ts';
import { activeIngestSettings } from './prices.ts';
import { type Queryable, queryableOf } from './sql-text.ts';
import { type CostPico, writeUsage } from './usage-writer.ts';

/** `replaced`: a report row restated a stored one (same bucket and group keys, new values). */
export type RowStatus = 'accepted' | 'duplicate' | 'replaced' | 'rejected';
export type RowResult = {
  line: number;
  status: RowStatus;
  type?: NativeRecord['type'];
  id?: string;
  reason?: string;
  /** rejected because the database could not be reached or gave up (retry the row) */
  databaseFailure?: boolean;
};

export type IngestTotals = {
  rows: number;
  accepted: number;
  duplicates: number;
  /** report rows that replaced a stored row of the same bucket and group keys */
  replaced: number;
  rejected: number;
  /** accepted usage events whose model has no price in the active policy */
  unpriced: number;
  unpricedModels: Record<string, number>;
  byType: Record<NativeRecord['type'], number>;
  /** chunks rolled back because of a database error */
  failedChunks: number;
};

export type IngestResult = { results: RowResult[]; totals: IngestTotals };

export type IngestOptions = {
  /** Recorded on each event: the input format ("native", "otlp", …). */
  source?: string;
  /** Rows per transaction (default 5,000). */
  chunkSize?: number;
  /** Price table; defaults to the active policy's. */
  prices?: PriceTable;
  /** IANA timezone of the rollup days; defaults to the active policy's (UTC without one). */
  timezone?: string;
  /** "Now" for the 5-minutes-in-the-future check (ms since epoch). */
  now?: number;
  /** Keep per-row results only for rows that were not accepted (saves memory on huge files). */
  onlyProblems?: boolean;
  /** Called after each chunk commits (or rolls back). */
  onChunk?: (totals: IngestTotals) => void;
  /**
   * Told the database's own error when rows are rejected because of it: the rows' reasons
   * carry only its SQLSTATE, since database text can name tables, values and limits.
   */
  onDatabaseError?: (error: unknown, lines: { first: number; last: number }) => void;
  /**
   * Who writes: directory changes that privacy rests on (a person's team or consent, a
   * team's sensitivity) are audited under this key and role, in the chunk's transaction.
   * Default: no key, role `local` (the command line, the seed).
   */
  actor?: DirectoryActor;
};

export type DirectoryActor = { keyId: string | null; role: string };

export { DEFAULT_CHUNK_SIZE };

/**
 * Report formats: each row is a snapshot of a bucket (its id names the bucket and group
 * keys), so a later pull of the same bucket replaces the stored values. Event formats
 * (native, CSV, OTLP, LiteLLM) keep id de-duplication: an id seen before is a duplicate.
 */
export const RESTATED_SOURCES: ReadonlySet<string> = new Set([
  'anthropic',
  'openai',
  'claude-code',
]);

export function emptyTotals(): IngestTotals {
  return {
    rows: 0,
    accepted: 0,
    duplicates: 0,
    replaced: 0,
    rejected: 0,
    unpriced: 0,
    unpricedModels: {},
    byType: { team: 0, person: 0, usage: 0, outcome: 0, compliance: 0 },
    failedChunks: 0,
  };
}

/** Adds `more` into `into` (for callers that ingest a stream batch by batch). */
export function addTotals(into: IngestTotals, more: IngestTotals): IngestTotals {
  into.rows += more.rows;
  into.accepted += more.accepted;
  into.duplicates += more.duplicates;
  into.replaced += more.replaced;
  into.rejected += more.rejected;
  into.unpriced += more.unpriced;
  into.failedChunks += more.failedChunks;
  for (const [model, n] of Object.entries(more.unpricedModels)) {
    into.unpricedModels[model] = (into.unpricedModels[model] ?? 0) + n;
  }
  for (const key of Object.keys(into.byType) as NativeRecord['type'][])
    into.byType[key] += more.byType[key];
  return into;
}

type Valid = { line: number; record: NativeRecord };

/**
 * Exact cost in pico-units: a plain number while every product stays a safe integer (the
 * common case, and far cheaper than BigInt), else the exact BigInt as a decimal string.
 */
function costInPico(prices: PriceTable, record: UsageRecord): CostPico {
  const price = priceOf(prices, record.model);
  if (!price) return null;
  if (isPlainTokens(price, record)) {
    const sum =
      record.input_tokens * price.input +
      record.output_tokens * price.output +
      record.cache_read_tokens * price.cacheRead +
      record.cache_write_tokens * price.cacheWrite;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const exact = costOfPrice(price, tokenCountsOf(record));
  return Number.isSafeInteger(Number(exact)) ? Number(exact) : exact.toString();
}

/** An event on the plain token rates: no extension field, no long-context tier. */
function isPlainTokens(price: ModelPrice, r: UsageRecord): boolean {
  return (
    !price.longContext &&
    !r.cache_write_1h_tokens &&
    !r.audio_input_tokens &&
    !r.audio_output_tokens &&
    !r.web_search_requests &&
    (r.service_tier === undefined ||
      r.service_tier === null ||
      r.service_tier === 'standard' ||
      r.service_tier === 'default')
  );
}

/** The pricing view of a usage record. */
export function tokenCountsOf(r: UsageRecord): TokenCounts {
  return {
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cacheReadTokens: r.cache_read_tokens,
    cacheWriteTokens: r.cache_write_tokens,
    cacheWrite1hTokens: r.cache_write_1h_tokens,
    audioInputTokens: r.audio_input_tokens,
    audioOutputTokens: r.audio_output_tokens,
    webSearchRequests: r.web_search_requests,
    serviceTier: r.service_tier,
    longContext: r.long_context,
    requests: r.requests,
  };
}

/** Validates and stores rows; returns one result per input row plus totals. */
export async function ingestBatch(
  store: Store,
  rows: Iterable<IngestRow | CheckedUsageRow>,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const now = options.now ?? Date.now();
  // the zod schemas are built (and zod loaded) only for a row the fast paths do not take
  let schemas: NativeSchemas | undefined;
  const settings =
    options.prices && options.timezone
      ? { prices: options.prices, timezone: options.timezone }
      : await activeIngestSettings(store);
  const prices = options.prices ?? settings.prices;
  const timezone = options.timezone ?? settings.timezone;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const source = options.source ?? 'native';
  const results: RowResult[] = [];
  const totals = emptyTotals();
  const keep = (r: RowResult) => {
    if (!options.onlyProblems || r.status !== 'accepted') results.push(r);
  };

  let chunk: Valid[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const outcome = await loadRowSafe(store, chunk, {
      prices,
      timezone,
      source,
      listAccepted: !options.onlyProblems,
      onDatabaseError: options.onDatabaseError,
      actor: options.actor ?? { keyId: null, role: 'local' },
    });
    totals.accepted += outcome.acceptedUnlisted;
    totals.byType.usage += outcome.acceptedUnlisted;
    for (const r of outcome) {
      if (r.status === 'accepted') totals.accepted++;
      else if (r.status === 'duplicate') totals.duplicates++;
      else if (r.status === 'replaced') totals.replaced++;
      else totals.rejected++;
      keep(r);
    }
    if (outcome.failed) totals.failedChunks++;
    totals.unpriced += outcome.unpriced;
    for (const [m, n] of Object.entries(outcome.unpricedModels)) {
      totals.unpricedModels[m] = (totals.unpricedModels[m] ?? 0) + n;
    }
    for (const r of outcome) if (r.status === 'accepted' && r.type) totals.byType[r.type]++;
    chunk = [];
    options.onChunk?.(totals);
  };

  for (const row of rows) {
    totals.rows++;
    if ('record' in row) {
      // validated by the reader against options.now, which the caller must pass
      if (row.record.ts > now + MAX_FUTURE_MS)
        throw new Error('a checked row was validated later than now');
      chunk.push(row);
      if (chunk.length >= chunkSize) await flush();
      continue;
    }
    if ('error' in row) {
      totals.rejected++;
      keep({ line: row.line, status: 'rejected', reason: row.error });
      continue;
    }
    schemas ??= (await import('./ingest/native-schema.ts')).nativeSchema(now);
    const checked = validateRecord(schemas, row.data);
    if (!checked.ok) {
      totals.rejected++;
      const id = (row.data as { id?: unknown } | null)?.id;
      keep({
        line: row.line,
        status: 'rejected',
        reason: checked.reason,
        id: typeof id === 'string' ? id : undefined,
      });
      continue;
    }
    chunk.push({ line: row.line, record: checked.record });
    if (chunk.length >= chunkSize) await flush();
  }
  await flush();
  results.sort((a, b) => a.line - b.line);
  reportIngest({
    source,
    accepted: totals.accepted,
    duplicates: totals.duplicates,
    rejected: totals.rejected,
  });
  return { results, totals };
}

type ChunkOutcome = RowResult[] & {
  /** accepted usage rows left out of the list (the caller wants only problems) */
  acceptedUnlisted: number;
  failed?: boolean;
  /** rows the database refused one by one (reported as rejected, the chunk went on) */
  rowsRefused: number;
  unpriced: number;
  unpricedModels: Record<string, number>;
};

/** A directory row over an earlier one for the same id: the fields it gives win (null and
 * absent alike keep the earlier value, as they keep the stored one). */
function patched<T extends object>(earlier: T | undefined, later: T): T {
  if (!earlier) return later;
  const out = { ...earlier };
  for (const [key, value] of Object.entries(later))
    if (value != null) (out as Record<string, unknown>)[key] = value;
  return out;
}

/** Keeps the first occurrence of each id within a chunk; later ones are duplicates. */
function splitById<T extends UsageRecord | OutcomeRecord | ComplianceRecord>(
  items: Valid[],
  pick: (r: NativeRecord) => r is T,
) {
  const seen = new Set<string>();
  const first: { line: number; record: T }[] = [];
  const repeats: { line: number; record: T }[] = [];
  for (const item of items) {
    if (!pick(item.record)) continue;
    const entry = item as { line: number; record: T };
    // one hash lookup: the set grows only for an id not seen before
    const before = seen.size;
    seen.add(item.record.id);
    if (seen.size === before) repeats.push(entry);
    else first.push(entry);
  }
  return { first, repeats };
}

const isUsage = (r: NativeRecord): r is UsageRecord => r.type === 'usage';
const isOutcome = (r: NativeRecord): r is OutcomeRecord => r.type === 'outcome';
const isCompliance = (r: NativeRecord): r is ComplianceRecord => r.type === 'compliance';

type ChunkSettings = {
  prices: PriceTable;
  timezone: string;
  source: string;
  listAccepted: boolean;
  onDatabaseError?: IngestOptions['onDatabaseError'];
  actor: DirectoryActor;
};

/**
 * Whether an error means the database could not do the work at all (connection lost,
 * shut down, out of resources, a timeout or lock wait ran out; a JavaScript error without
 * a SQLSTATE too). Such a chunk is rejected as it is, to be sent again. Any other error
 * (a data exception, a constraint, an index row too large, a trigger's refusal) is blamed
 * on some row: the chunk is split and retried so that only the offending rows are rejected.
 */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return (
    typeof code !== 'string' ||
    !/^[0-9A-Z]{5}$/.test(code) ||
    /^(08|53|57|58)/.test(code) ||
    code === '55P03' ||
    code === '25P03'
  );
}

/**
 * Writes a chunk; when the database refuses it because of some row's data, writes each
 * half on its own (each its own transaction), down to the single rows to blame. A row is
 * idempotent by id, so a half that committed is never written twice.
 */
async function loadRowSafe(
  store: Store,
  chunk: Valid[],
  settings: ChunkSettings,
): Promise<ChunkOutcome> {
  try {
    return await loadChunk(store, chunk, settings);
  } catch (error) {
    if (!isUnavailable(error) && chunk.length > 1) {
      const middle = chunk.length >> 1;
      const first = await loadRowSafe(store, chunk.slice(0, middle), settings);
      const second = await loadRowSafe(store, chunk.slice(middle), settings);
      const merged = [...first, ...second] as ChunkOutcome;
      merged.acceptedUnlisted = first.acceptedUnlisted + second.acceptedUnlisted;
      merged.unpriced = first.unpriced + second.unpriced;
      merged.unpricedModels = { ...first.unpricedModels };
      for (const [model, n] of Object.entries(second.unpricedModels))
        merged.unpricedModels[model] = (merged.unpricedModels[model] ?? 0) + n;
      merged.failed = first.failed || second.failed;
      merged.rowsRefused = first.rowsRefused + second.rowsRefused;
      return merged;
    }
    const lines = chunk.map((c) => c.line);
    const span = { first: Math.min(...lines), last: Math.max(...lines) };
    settings.onDatabaseError?.(error, span);
    const code = (error as { code?: unknown })?.code;
    const state =
      typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : '';
    const rowError = !isUnavailable(error);
    const reason = rowError
      ? `the database refused this row${state}; nothing of it was stored`
      : `the database was unavailable${state}; rows ${span.first}–${span.last} were not stored, send them again`;
    const outcome = [] as unknown as ChunkOutcome;
    for (const item of chunk) {
      const id = 'id' in item.record ? item.record.id : undefined;
      outcome.push({
        line: item.line,
        status: 'rejected',
        type: item.record.type,
        id,
        reason,
        ...(rowError ? {} : { databaseFailure: true }),
      });
    }
    outcome.failed = !rowError;
    outcome.rowsRefused = rowError ? chunk.length : 0;
    outcome.unpriced = 0;
    outcome.acceptedUnlisted = 0;
    outcome.unpricedModels = {};
    return outcome;
  }
}

async function loadChunk(
  store: Store,
  chunk: Valid[],
  { prices, timezone, source, listAccepted, actor }: ChunkSettings,
): Promise<ChunkOutcome> {
  // Every write goes in key order, so concurrent chunks lock rows in the same order and
  // cannot deadlock on shared people, ids or rollup rows.
  const usage = splitById(chunk, isUsage);
  const outcomes = splitById(chunk, isOutcome);
  const compliance = splitById(chunk, isCompliance);
  // (usage ids are sorted by the writer itself; events keep file order, which groups a
  // session's events together for the rollup sums)
  for (const group of [outcomes.first, compliance.first]) {
    group.sort((a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
  }
  const teams = new Map<string, { line: number; record: TeamRecord }>();
  const people = new Map<string, { line: number; record: PersonRecord }>();
  for (const item of chunk) {
    // rows are patches: within a chunk, later rows for an id add to (and override the
    // fields they give of) earlier ones, as they would in two chunks
    if (item.record.type === 'team') {
      const earlier = teams.get(item.record.team)?.record;
      teams.set(item.record.team, { line: item.line, record: patched(earlier, item.record) });
    }
    if (item.record.type === 'person') {
      const earlier = people.get(item.record.person)?.record;
      people.set(item.record.person, { line: item.line, record: patched(earlier, item.record) });
    }
  }

  // Price before touching the database: cost is fixed at ingest, in integer pico-units
  // (the database divides by 10^12 in numeric, exactly).
  const costs: CostPico[] = [];
  const unpricedModels: Record<string, number> = {};
  for (const { record } of usage.first) {
    // a provider's name (dated, prefixed) is stored under the declared model it matches
    const declared = resolveModel(prices, record.model);
    if (declared !== null && declared !== record.model) {
      record.provider_model = record.model;
      record.model = declared;
    } else record.provider_model = null;
    costs.push(costInPico(prices, record));
  }

  const outcome = [] as unknown as ChunkOutcome;
  outcome.unpriced = 0;
  outcome.unpricedModels = unpricedModels;
  outcome.acceptedUnlisted = 0;
  outcome.rowsRefused = 0;
  // partitions are DDL in their own short transaction, before the chunk's own
  await ensureMonthPartitions(store, monthKeysOf(usage.first.map((u) => u.record.ts)));
  const known = knownFor(store);
  const fresh = await retryingDeadlocks(() =>
    store.transaction(async (client) => {
      const usageWrite = await writeUsage(
        client,
        { records: usage.first.map((u) => u.record), costs },
        { source, timezone, copy: !store.embedded, restate: RESTATED_SOURCES.has(source) },
      );
      const outcomeIds = await insertOutcomes(
        client,
        outcomes.first.map((o) => o.record),
        source,
        timezone,
      );
      const complianceIds = await insertCompliance(
        client,
        compliance.first.map((c) => c.record),
        source,
        timezone,
      );
      // Directory rows last: a person new to this process is inserted by every concurrent
      // chunk that names them, and each waits for the first inserter's commit. Done first,
      // that wait lasted the other chunk's whole transaction (sampled as the main wait of
      // an import); done last, only its commit. No event or rollup refers to people by key.
      const ensured = await upsertDirectory(
        client,
        [...teams.values()].map((t) => t.record),
        [...people.values()].map((p) => p.record),
        chunk,
        known,
        actor,
      );
      return { usageWrite, outcomeIds, complianceIds, ensured };
    }),
  );
  for (const id of fresh.ensured.people) known.people.add(id);
  for (const id of fresh.ensured.teams) known.teams.add(id);
  for (const t of teams.values())
    outcome.push({ line: t.line, status: 'accepted', type: 'team', id: t.record.team });
  for (const p of people.values())
    outcome.push({ line: p.line, status: 'accepted', type: 'person', id: p.record.person });
  // directory rows merged into a later row for the same id still count as accepted upserts
  for (const item of chunk) {
    const r = item.record;
    if (r.type === 'team' && teams.get(r.team)?.line !== item.line)
      outcome.push({ line: item.line, status: 'accepted', type: 'team', id: r.team });
    if (r.type === 'person' && people.get(r.person)?.line !== item.line)
      outcome.push({ line: item.line, status: 'accepted', type: 'person', id: r.person });
  }
  usage.first.forEach((u, i) => {
    const isNew = !fresh.usageWrite.stored.has(u.record.id);
    if (isNew && !listAccepted) outcome.acceptedUnlisted++;
    else
      outcome.push({
        line: u.line,
        status: isNew
          ? 'accepted'
          : fresh.usageWrite.replaced.has(u.record.id)
            ? 'replaced'
            : 'duplicate',
        type: 'usage',
        id: u.record.id,
      });
    if (isNew && costs[i] === null) {
      outcome.unpriced++;
      unpricedModels[u.record.model] = (unpricedModels[u.record.model] ?? 0) + 1;
    }
  });
  for (const o of outcomes.first) {
    outcome.push({
      line: o.line,
      status: fresh.outcomeIds.has(o.record.id) ? 'accepted' : 'duplicate',
      type: 'outcome',
      id: o.record.id,
    });
  }
  for (const c of compliance.first) {
    outcome.push({
      line: c.line,
      status: fresh.complianceIds.has(c.record.id) ? 'accepted' : 'duplicate',
      type: 'compliance',
      id: c.record.id,
    });
  }
  for (const group of [usage.repeats, outcomes.repeats, compliance.repeats]) {
    for (const d of group)
      outcome.push({ line: d.line, status: 'duplicate', type: d.record.type, id: d.record.id });
  }
  outcome.sort((a, b) => a.line - b.line);
  return outcome;
}

const DEADLOCK = '40P01';

/**
 * Runs a chunk's transaction again when PostgreSQL broke a deadlock by aborting it: the
 * rollback undid all of it, so a rerun counts nothing twice. Chunks lock in key order, so
 * this only happens when two writers order the same keys differently.
 */
async function retryingDeadlocks<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK || attempt >= attempts) throw error;
    }
  }
}

/**
 * People and teams known to exist, per store, so that steady-state chunks skip the
 * "create unknown person" statement. Filled only after a chunk commits.
 */
const knownIds = new WeakMap<Store, { people: Set<string>; teams: Set<string> }>();
const MAX_KNOWN = 500_000;

function knownFor(store: Store) {
  let known = knownIds.get(store);
  if (!known || known.people.size + known.teams.size > MAX_KNOWN) {
    known = { people: new Set(), teams: new Set() };
    knownIds.set(store, known);
  }
  return known;
}

async function upsertDirectory(
  client: pg.PoolClient,
  teams: TeamRecord[],
  people: PersonRecord[],
  chunk: Valid[],
  known: { people: Set<string>; teams: Set<string> },
  actor: DirectoryActor,
): Promise<{ people: string[]; teams: string[] }> {
  const changes = await directoryChanges(queryableOf(client), teams, people);
  // Every team referenced anywhere must exist before rows point at it: placeholders first
  // (not from the directory), real directory rows then overwrite them.
  const referenced = new Set<string>();
  for (const t of teams) {
    referenced.add(t.team);
    if (t.parent) referenced.add(t.parent);
  }
  for (const p of people) if (p.team) referenced.add(p.team);
  const autoPeople = new Map<string, string | null>();
  for (const { record } of chunk) {
    if (record.type === 'usage' || record.type === 'outcome' || record.type === 'compliance') {
      if (known.people.has(record.person)) continue;
      if (!autoPeople.has(record.person))
        autoPeople.set(record.person, record.type === 'usage' ? record.team : null);
      else if (record.type === 'usage' && record.team && !autoPeople.get(record.person))
        autoPeople.set(record.person, record.team);
    }
  }
  for (const team of autoPeople.values()) if (team) referenced.add(team);
  for (const team of referenced)
    if (known.teams.has(team) && !teams.some((t) => t.team === team)) referenced.delete(team);

  if (referenced.size > 0) {
    await client.query(
      `insert into teams (id, name, from_directory)
       select t, t, false from unnest($1::text[]) as t
       on conflict (id) do nothing`,
      [[...referenced].sort()],
    );
  }
  // Directory rows are patches: a field the row leaves out keeps its stored value. Every
  // team exists by now (placeholders above), so teams are updated; people are inserted
  // when new, then updated.
  if (teams.length > 0) {
    await client.query(
      `update teams set name = coalesce(t.name, teams.name),
              parent_id = coalesce(t.parent_id, teams.parent_id),
              cost_center = coalesce(t.cost_center, teams.cost_center),
              sensitivity = coalesce(t.sensitivity, teams.sensitivity),
              owner = coalesce(t.owner, teams.owner), from_directory = true, updated_at = now()
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           as t(id, name, parent_id, cost_center, sensitivity, owner)
        where teams.id = t.id`,
      [
        teams.map((t) => t.team),
        teams.map((t) => t.name ?? null),
        teams.map((t) => t.parent ?? null),
        teams.map((t) => t.cost_center ?? null),
        teams.map((t) => t.sensitivity ?? null),
        teams.map((t) => t.owner ?? null),
      ],
    );
  }
  if (people.length > 0) {
    const columns = [
      people.map((p) => p.person),
      people.map((p) => p.name ?? null),
      people.map((p) => p.team ?? null),
      people.map((p) => p.role ?? null),
      people.map((p) => p.manager ?? null),
      people.map((p) => p.opted_in ?? null),
      people.map((p) => (p.attributes === undefined ? null : JSON.stringify(p.attributes))),
    ];
    const input = `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::jsonb[])
           as t(id, name, team_id, role, manager_id, opted_in, attributes)`;
    await client.query(
      `insert into people (id, name, team_id, role, manager_id, opted_in, attributes, from_directory)
       select id, name, team_id, role, manager_id, coalesce(opted_in, false),
              coalesce(attributes, '{}'::jsonb), true
         from ${input}
         order by id
       on conflict (id) do nothing`,
      columns,
    );
    await client.query(
      `update people set name = coalesce(t.name, people.name),
              team_id = coalesce(t.team_id, people.team_id), role = coalesce(t.role, people.role),
              manager_id = coalesce(t.manager_id, people.manager_id),
              opted_in = coalesce(t.opted_in, people.opted_in),
              attributes = coalesce(t.attributes, people.attributes), from_directory = true,
              updated_at = now()
         from ${input}
        where people.id = t.id`,
      columns,
    );
  }
  if (autoPeople.size > 0) {
    // usage for an unknown person creates that person, marked as not from the directory
    await client.query(
      `insert into people (id, team_id, from_directory)
       select id, team_id, false from unnest($1::text[], $2::text[]) as t(id, team_id)
       order by id
       on conflict (id) do nothing`,
      [[...autoPeople.keys()], [...autoPeople.values()]],
    );
  }
  if (changes.length > 0)
    await appendAudit(
      queryableOf(client),
      changes.map((c) => ({
        actor: actor.keyId,
        role: actor.role,
        action: c.action,
        subject: c.subject,
        detail: { from: c.from, to: c.to },
      })),
    );
  return { people: [...autoPeople.keys(), ...people.map((p) => p.person)], teams: [...referenced] };
}

/**
 * A directory change as audited: those privacy rests on (docs/privacy.md, R9: a team's
 * sensitivity, a person's team, consent and manager, whose reports they see named) and the
 * chargeback ones (a team's cost centre and parent move spend between cost centres).
 */
export type DirectoryChange = {
  action:
    | 'directory.team.sensitivity'
    | 'directory.team.cost_center'
    | 'directory.team.parent'
    | 'directory.person.team'
    | 'directory.person.consent'
    | 'directory.person.manager';
  /** privacy rests on it: below governance the change is refused */
  privacy: boolean;
  subject: string;
  from: unknown;
  to: unknown;
  /** index of the changing row in the teams or people given */
  row: number;
};

/**
 * What these directory rows would change in stored people and teams (new ones change
 * nothing). The API checks them before writing (who may); the loader audits them as it writes.
 */
export async function directoryChanges(
  db: Queryable,
  teams: readonly {
    team: string;
    sensitivity?: string | null;
    cost_center?: string | null;
    parent?: string | null;
  }[],
  people: readonly {
    person: string;
    team?: string | null;
    opted_in?: boolean | null;
    manager?: string | null;
  }[],
): Promise<DirectoryChange[]> {
  const changes: DirectoryChange[] = [];
  const changing = teams.filter(
    (t) => t.sensitivity != null || t.cost_center != null || t.parent != null,
  );
  if (changing.length > 0) {
    const before = await db.query<{
      id: string;
      sensitivity: string;
      cost_center: string | null;
      parent_id: string | null;
    }>(
      'select id, sensitivity, cost_center, parent_id from teams where id = any($1::text[]) order by id',
      [changing.map((t) => t.team)],
    );
    const byId = new Map(before.map((r) => [r.id, r]));
    for (const [row, t] of teams.entries()) {
      const was = byId.get(t.team);
      if (!was) continue;
      if (t.sensitivity != null && was.sensitivity !== t.sensitivity)
        changes.push({
          action: 'directory.team.sensitivity',
          privacy: true,
          subject: t.team,
          from: was.sensitivity,
          to: t.sensitivity,
          row,
        });
      if (t.cost_center != null && was.cost_center !== t.cost_center)
        changes.push({
          action: 'directory.team.cost_center',
          privacy: false,
          subject: t.team,
          from: was.cost_center,
          to: t.cost_center,
          row,
        });
      if (t.parent != null && was.parent_id !== t.parent)
        changes.push({
          action: 'directory.team.parent',
          privacy: false,
          subject: t.team,
          from: was.parent_id,
          to: t.parent,
          row,
        });
    }
  }
  const moved = people.filter((p) => p.team != null || p.opted_in != null || p.manager != null);
  if (moved.length > 0) {
    const before = await db.query<{
      id: string;
      team_id: string | null;
      opted_in: boolean;
      manager_id: string | null;
    }>(
      'select id, team_id, opted_in, manager_id from people where id = any($1::text[]) order by id',
      [moved.map((p) => p.person)],
    );
    const byId = new Map(before.map((r) => [r.id, r]));
    for (const [row, p] of people.entries()) {
      const was = byId.get(p.person);
      if (!was) continue;
      if (p.team != null && p.team !== was.team_id)
        changes.push({
          action: 'directory.person.team',
          privacy: true,
          subject: p.person,
          from: was.team_id,
          to: p.team,
          row,
        });
      if (p.opted_in != null && p.opted_in !== was.opted_in)
        changes.push({
          action: 'directory.person.consent',
          privacy: true,
          subject: p.person,
          from: was.opted_in,
          to: p.opted_in,
          row,
        });
      if (p.manager != null && p.manager !== was.manager_id)
        changes.push({
          action: 'directory.person.manager',
          privacy: true,
          subject: p.person,
          from: was.manager_id,
          to: p.manager,
          row,
        });
    }
  }
  return changes;
}

/**
 * An outcome or compliance insert: new events (by id) are stored and counted into the
 * person's daily rollup row (model, project and environment ''), in one statement.
 */
type PersonEventInsert = {
  table: string;
  /** event columns after id, ts, person_id, with their SQL types and values */
  columns: { name: string; type: string; values: unknown[] }[];
  /** rollup column → aggregate over the inserted events; added to the day's row */
  rollup: Record<string, string>;
  /** the events carry `project`, `model` and `measures` columns: roll up under the project, and the measures too */
  measures?: boolean;
};

/**
 * New events' measures into measure_rollups (per person, local day, project, model and
 * name): observations, exact sum, and histogram buckets merged into the row's.
 */
const MEASURE_ROLLUP = (timezoneParam: number) => `,
     measured as (
       insert into measure_rollups as r (person_id, day, project, model, measure, n, total, buckets)
       select person_id, day, project, model, measure, sum(c), sum(s), jsonb_object_agg(b, c)
         from (select i.person_id, (i.ts at time zone $${timezoneParam})::date as day,
                      coalesce(i.project, '') as project, coalesce(i.model, '') as model,
                      m.key as measure, measure_bucket(m.value::numeric) as b, count(*) as c,
                      sum(m.value::numeric) as s
                 from inserted i cross join lateral jsonb_each_text(i.measures) m
                where i.measures is not null
                group by 1, 2, 3, 4, 5, 6) o
        group by 1, 2, 3, 4, 5
        order by 1, 2, 3, 4, 5
       on conflict (person_id, day, project, model, measure) do update set
         n = r.n + excluded.n, total = r.total + excluded.total,
         buckets = measure_buckets_add(r.buckets, excluded.buckets)
     )`;

async function insertPersonEvents(
  client: pg.PoolClient,
  rows: (OutcomeRecord | ComplianceRecord)[],
  spec: PersonEventInsert,
  source: string,
  timezone: string,
): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const names = ['id', 'ts', 'person_id', ...spec.columns.map((c) => c.name)];
  const types = ['text', 'timestamptz', 'text', ...spec.columns.map((c) => c.type)];
  const sourceParam = names.length + 1;
  const timezoneParam = names.length + 2;
  const rollup = Object.keys(spec.rollup);
  // outcomes count under the project they were about ("which use cases give value"); a
  // model-less row is how every reader tells outcome, compliance and activity rows from usage
  const project = spec.measures ? "coalesce(project, '')" : "''";
  const result = await client.query<{ id: string }>(
    `with inserted as (
       insert into ${spec.table} (${names.join(', ')}, source)
       select ${names.join(', ')}, $${sourceParam}
         from unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
           as t(${names.join(', ')})
       on conflict (id) do nothing
       returning ${names.join(', ')}
     ),
     rolled as (
       insert into daily_rollups as r (day, person_id, model, project, environment, ${rollup.join(', ')})
       select (ts at time zone $${timezoneParam})::date, person_id, '', ${project}, '',
              ${Object.values(spec.rollup).join(', ')}
         from inserted group by 1, 2, 4 order by 2, 1, 4
       on conflict (person_id, day, model, project, environment) do update set
         ${rollup.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ')}
     )${spec.measures ? MEASURE_ROLLUP(timezoneParam) : ''}
     select id from inserted`,
    [
      rows.map((r) => r.id),
      rows.map((r) => new Date(r.ts).toISOString()),
      rows.map((r) => r.person),
      ...spec.columns.map((c) => c.values),
      source,
      timezone,
    ],
  );
  return new Set(result.rows.map((r) => r.id));
}

function insertOutcomes(
  client: pg.PoolClient,
  rows: OutcomeRecord[],
  source: string,
  timezone: string,
): Promise<Set<string>> {
  const spec: PersonEventInsert = {
    table: 'outcome_events',
    columns: [
      { name: 'task', type: 'text', values: rows.map((r) => r.task) },
      { name: 'outcome', type: 'text', values: rows.map((r) => r.outcome) },
      { name: 'minutes_saved', type: 'numeric', values: rows.map((r) => r.minutes_saved) },
      { name: 'project', type: 'text', values: rows.map((r) => r.project ?? null) },
      { name: 'model', type: 'text', values: rows.map((r) => r.model ?? null) },
      {
        name: 'measures',
        type: 'jsonb',
        values: rows.map((r) => (r.measures ? JSON.stringify(r.measures) : null)),
      },
    ],
    measures: true,
    // tasks = number of outcome events: each reported outcome closes one task
    rollup: {
      tasks: 'count(*)',
      accepted: "count(*) filter (where outcome = 'accepted')",
      rejected: "count(*) filter (where outcome = 'rejected')",
      reworked: "count(*) filter (where outcome = 'reworked')",
      completed: "count(*) filter (where outcome = 'completed')",
      minutes_saved: 'sum(minutes_saved)',
    },
  };
  return insertPersonEvents(client, rows, spec, source, timezone);
}

function insertCompliance(
  client: pg.PoolClient,
  rows: ComplianceRecord[],
  source: string,
  timezone: string,
): Promise<Set<string>> {
  const spec: PersonEventInsert = {
    table: 'compliance_events',
    columns: [
      { name: 'flag', type: 'text', values: rows.map((r) => r.flag) },
      { name: 'severity', type: 'text', values: rows.map((r) => r.severity) },
    ],
    rollup: {
      redaction_failures: "count(*) filter (where flag = 'redaction_failure')",
      sensitive_flags: "count(*) filter (where flag = 'sensitive_data')",
      policy_exceptions: "count(*) filter (where flag = 'policy_exception')",
    },
  };
  return insertPersonEvents(client, rows, spec, source, timezone);
}
