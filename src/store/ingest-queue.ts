// Group commit for API writes. Concurrent record* batches queue while writes run, then go
// together in the next one (up to one loader chunk, so one transaction). Busy people's
// rollup rows are then summed and locked once per write. Writes in flight at once are
// split by person (a shard each): two writes that shared a person waited on each other's
// rollup row locks until commit, which serialised them for about a third of a recordUsage
// run (docs/benchmarks/2026-12-07-record-usage.md). Each batch still gets its own per-row
// results and totals, as if written alone.

import { resolveModel } from '../policy/price.ts';
import type { Store } from './db.ts';
import { DEFAULT_CHUNK_SIZE } from './defaults.ts';
import type { IngestRow } from './ingest/native.ts';
import {
  addTotals,
  emptyTotals,
  type IngestResult,
  ingestBatch,
  type RowResult,
} from './loader.ts';
import { activeIngestSettings } from './prices.ts';

type Waiting = {
  rows: IngestRow[];
  resolve: (result: IngestResult) => void;
  reject: (error: unknown) => void;
};
type Queue = { waiting: Waiting[]; writers: number };

const queues = new WeakMap<Store, Map<string, Queue[]>>();

/**
 * Writes in flight at once per source, one per shard of people: with two, PostgreSQL
 * works on one write while the other's round trips are under way, and no person's rows
 * are in both.
 */
const SHARDS = 2;

/**
 * Writes `rows` (lines numbered from 0, as the API numbers a batch) together with any other
 * batches of the same source waiting meanwhile; resolves with this batch's own result.
 * A batch whose people fall in both shards is written in two transactions: if one of them
 * fails as a whole the batch fails, and sending it again is safe (ids already stored are
 * duplicates).
 */
export function ingestTogether(
  store: Store,
  rows: IngestRow[],
  source: string,
): Promise<IngestResult> {
  let bySource = queues.get(store);
  if (!bySource) {
    bySource = new Map();
    queues.set(store, bySource);
  }
  let shards = bySource.get(source);
  if (!shards) {
    // the embedded database has one connection: one writer
    shards = Array.from({ length: store.embedded ? 1 : SHARDS }, () => ({
      waiting: [],
      writers: 0,
    }));
    bySource.set(source, shards);
  }
  const parts = splitByShard(rows, shards.length).filter((part) => part.rows.length > 0);
  const written = parts.map((part) => {
    const queue = shards[part.shard];
    return new Promise<IngestResult>((resolve, reject) => {
      queue.waiting.push({ rows: part.rows, resolve, reject });
      if (queue.writers === 0) void drain(store, queue, source);
    });
  });
  if (parts.length === 1 && parts[0].lines === null) return written[0];
  return Promise.all(written).then((results) => merged(parts, results));
}

/** The rows of one shard, numbered from 0; `lines` maps them back to the batch's lines. */
export type ShardPart = { shard: number; rows: IngestRow[]; lines: number[] | null };

/**
 * Splits a batch by the people its rows name. A row goes to its person's shard, except
 * that every copy of an id goes where its first copy went, so that the first copy in the
 * batch is the one kept, as when the batch is written in one transaction. A batch that
 * falls in one shard is left as it is (`lines` null).
 */
export function splitByShard(rows: IngestRow[], shards: number): ShardPart[] {
  const shardOfRow = new Uint8Array(rows.length);
  const shardOfId = new Map<string, number>();
  const counts = new Array<number>(shards).fill(0);
  rows.forEach((row, i) => {
    const data = 'data' in row ? (row.data as { id?: unknown; person?: unknown } | null) : null;
    const id = typeof data?.id === 'string' ? data.id.trim() : null;
    let shard = id === null ? undefined : shardOfId.get(id);
    if (shard === undefined) {
      shard =
        shards > 1 && typeof data?.person === 'string' ? hashText(data.person.trim()) % shards : 0;
      if (id !== null && shards > 1) shardOfId.set(id, shard);
    }
    shardOfRow[i] = shard;
    counts[shard]++;
  });
  const whole = counts.indexOf(rows.length);
  if (whole >= 0) return [{ shard: whole, rows, lines: null }];
  const parts: ShardPart[] = counts.map((_n, shard) => ({ shard, rows: [], lines: [] }));
  rows.forEach((row, i) => {
    const part = parts[shardOfRow[i]];
    part.lines?.push(row.line);
    part.rows.push({ ...row, line: part.rows.length });
  });
  return parts;
}

/** A cheap, stable hash of a person's id (FNV-1a over UTF-16 code units). */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** One batch's result from its parts' results: rows back on the batch's lines, totals summed. */
function merged(parts: ShardPart[], results: IngestResult[]): IngestResult {
  const totals = emptyTotals();
  const rows: RowResult[] = [];
  results.forEach((result, i) => {
    const lines = parts[i].lines;
    addTotals(totals, result.totals);
    for (const r of result.results) rows.push({ ...r, line: lines ? lines[r.line] : r.line });
  });
  // a batch that lost rows to the database in either part hears of it once
  totals.failedChunks = Math.min(totals.failedChunks, 1);
  rows.sort((a, b) => a.line - b.line);
  return { results: rows, totals };
}

async function drain(store: Store, queue: Queue, source: string): Promise<void> {
  queue.writers++;
  try {
    while (queue.waiting.length > 0) {
      const group: Waiting[] = [queue.waiting.shift() as Waiting];
      let size = group[0].rows.length;
      while (
        queue.waiting.length > 0 &&
        size + queue.waiting[0].rows.length <= DEFAULT_CHUNK_SIZE
      ) {
        const next = queue.waiting.shift() as Waiting;
        size += next.rows.length;
        group.push(next);
      }
      await writeGroup(store, group, source);
    }
  } finally {
    queue.writers--;
  }
}

async function writeGroup(store: Store, group: Waiting[], source: string): Promise<void> {
  try {
    const settings = await activeIngestSettings(store);
    const offsets: number[] = [];
    const combined: IngestRow[] = [];
    for (const w of group) {
      offsets.push(combined.length);
      for (const row of w.rows) combined.push({ ...row, line: combined.length });
    }
    const all = await ingestBatch(store, combined, {
      source,
      prices: settings.prices,
      timezone: settings.timezone,
      chunkSize: Math.max(DEFAULT_CHUNK_SIZE, combined.length),
    });
    // results come sorted by line, one per row: each batch owns a contiguous slice
    group.forEach((w, i) => {
      const from = offsets[i];
      const to = from + w.rows.length;
      const totals = emptyTotals();
      totals.rows = w.rows.length;
      const results = all.results
        .filter((r) => r.line >= from && r.line < to)
        .map((r) => ({ ...r, line: r.line - from }));
      for (const r of results) {
        if (r.status === 'accepted') {
          totals.accepted++;
          if (r.type) totals.byType[r.type]++;
          const model = acceptedUsageModel(w.rows[r.line]);
          if (model !== null && resolveModel(settings.prices, model) === null) {
            totals.unpriced++;
            totals.unpricedModels[model] = (totals.unpricedModels[model] ?? 0) + 1;
          }
        } else if (r.status === 'duplicate') totals.duplicates++;
        else if (r.status === 'replaced') totals.replaced++;
        else totals.rejected++;
      }
      // only a batch that lost rows to the database hears of the failed write
      if (results.some((r) => r.databaseFailure)) totals.failedChunks = 1;
      w.resolve({ results, totals });
    });
  } catch (error) {
    // whatever failed the group, each batch is tried alone: it never fails another's
    if (group.length === 1) group[0].reject(error);
    else for (const w of group) await writeGroup(store, [w], source);
  }
}

/** The model of an accepted usage row, trimmed as the native schema trims it. */
function acceptedUsageModel(row: IngestRow): string | null {
  if (!('data' in row)) return null;
  const data = row.data as { type?: unknown; model?: unknown } | null;
  if (data?.type !== 'usage' || typeof data.model !== 'string') return null;
  return data.model.trim();
}
