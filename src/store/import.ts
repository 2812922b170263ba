// Importing files: read rows in batches and hand each batch to the loader. With a real
// server, up to `concurrency` chunks are in flight at once so that parsing the next chunk
// overlaps with the database writing the previous one; each chunk stays one transaction.
import { statSync } from 'node:fs';
import type { PriceTable } from '../policy/price.ts';
import type { Store } from './db.ts';
import type { IngestRow } from './ingest/native.ts';
import { type NativeLineRow, readNativeBatches } from './ingest/native-lines.ts';
import type { PersonFallback } from './ingest/otlp.ts';
import type { Format, ReadOptions } from './ingest/read.ts';
import {
  addTotals,
  DEFAULT_CHUNK_SIZE,
  emptyTotals,
  type IngestTotals,
  ingestBatch,
  type RowResult,
} from './loader.ts';
import { activeIngestSettings } from './prices.ts';

export type ImportProgress = { bytes: number; totalBytes: number; totals: IngestTotals };

export type ImportOptions = {
  format: Format;
  chunkSize?: number;
  /** Chunks in flight at once; defaults to 1 on the embedded database and 3 on a server. */
  concurrency?: number;
  prices?: PriceTable;
  /** Timezone of the rollup days; defaults to the active policy's. */
  timezone?: string;
  /** How many rejected rows to keep for the summary (default 10). */
  keepProblems?: number;
  onChunk?: (progress: ImportProgress) => void;
  /** Told every rejected row, batch by batch (the summary keeps only the first few). */
  onProblems?: (problems: RowResult[]) => void;
  /** OTLP spans with no person attribute (the otlp-fallback-person setting) */
  otlpPersonFallback?: PersonFallback;
};

export type ImportSummary = {
  totals: IngestTotals;
  problems: (RowResult & { file: string })[];
  seconds: number;
};

export async function importFiles(
  store: Store,
  files: string[],
  options: ImportOptions,
): Promise<ImportSummary> {
  const settings = await activeIngestSettings(store);
  const prices = options.prices ?? settings.prices;
  const timezone = options.timezone ?? settings.timezone;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const concurrency = Math.max(
    1,
    Math.min(options.concurrency ?? (store.embedded ? 1 : 4), store.maxConnections),
  );
  const keepProblems = options.keepProblems ?? 10;
  const totalBytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  const started = performance.now();
  const totals = emptyTotals();
  const problems: (RowResult & { file: string })[] = [];
  const inFlight = new Set<Promise<void>>();
  // the ids each chunk in flight names: a chunk that shares one waits for the earlier
  // chunk to commit, so the first copy in file order is the one kept (docs/operations-limits.md)
  const keysInFlight = new Map<Promise<void>, ChunkKeys>();
  let bytesDone = 0;

  for (const file of files) {
    let bytesNow = 0;
    const read = {
      batchSize: chunkSize,
      otlpPersonFallback: options.otlpPersonFallback,
      onBytes: (b: number) => {
        bytesNow = b;
      },
    };
    for await (const { rows, now } of batchesOf(file, options.format, read)) {
      const keys = chunkKeys(rows);
      const earlier = [...keysInFlight].filter(([, other]) => overlaps(keys, other));
      if (earlier.length > 0) await Promise.all(earlier.map(([p]) => p));
      const work = ingestBatch(store, rows, {
        source: options.format,
        prices,
        timezone,
        chunkSize,
        now,
        onlyProblems: true,
      }).then(({ results, totals: batchTotals }) => {
        addTotals(totals, batchTotals);
        const rejected = results.filter((r) => r.status === 'rejected');
        if (rejected.length > 0) options.onProblems?.(rejected);
        for (const r of results) {
          if (r.status === 'rejected' && problems.length < keepProblems)
            problems.push({ ...r, file });
        }
        options.onChunk?.({ bytes: bytesDone + bytesNow, totalBytes, totals });
      });
      const tracked = work.finally(() => {
        inFlight.delete(tracked);
        keysInFlight.delete(tracked);
      });
      inFlight.add(tracked);
      keysInFlight.set(tracked, keys);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    bytesDone += statSync(file).size;
  }
  await Promise.all(inFlight);
  problems.sort((a, b) => (a.file === b.file ? a.line - b.line : 0));
  return { totals, problems, seconds: (performance.now() - started) / 1000 };
}

/** Native JSONL has its own reader (canonical usage lines arrive validated); the rest share readBatches. */
async function* batchesOf(
  file: string,
  format: Format,
  options: ReadOptions & { onBytes: (bytes: number) => void },
): AsyncGenerator<{ rows: (IngestRow | NativeLineRow)[]; now?: number }> {
  if (format === 'native') yield* readNativeBatches(file, options);
  else {
    // the CSV and document parsers load only when needed
    const { readBatches } = await import('./ingest/read.ts');
    for await (const rows of readBatches(file, format, options)) yield { rows };
  }
}

/** Usage ids, and type + id of every other row, that a chunk names. */
type ChunkKeys = { usage: Set<string>; other: Set<string> };

function chunkKeys(rows: (IngestRow | NativeLineRow)[]): ChunkKeys {
  const keys: ChunkKeys = { usage: new Set(), other: new Set() };
  for (const row of rows) {
    if ('record' in row) {
      keys.usage.add(row.record.id);
      continue;
    }
    if (!('data' in row) || !row.data || typeof row.data !== 'object') continue;
    const data = row.data as Record<string, unknown>;
    const key = data.type === 'person' ? data.person : data.type === 'team' ? data.team : data.id;
    if (typeof key !== 'string') continue;
    if (data.type === 'usage') keys.usage.add(key.trim());
    else keys.other.add(`${String(data.type)}\u0000${key.trim()}`);
  }
  return keys;
}

function overlaps(a: ChunkKeys, b: ChunkKeys): boolean {
  for (const id of a.usage) if (b.usage.has(id)) return true;
  for (const key of a.other) if (b.other.has(key)) return true;
  return false;
}
