// `quotient import` does its work on this worker thread, whose V8 heap is capped by the
// command (resourceLimits): an import streams, so a small heap suffices, and the cap keeps
// V8 from letting garbage from millions of rows pile up before collecting it. The main
// thread only draws the progress bar and prints the summary.
import { parentPort, workerData } from 'node:worker_threads';
import { type ImportSummary, importFiles } from '../store/import.ts';
import type { Format } from '../store/ingest/read.ts';
import type { IngestTotals } from '../store/loader.ts';
import { activeIngestSettings } from '../store/prices.ts';
import { type StoreFlags, withStore } from './store-options.ts';

export type ImportJob = StoreFlags & {
  files: string[];
  format: Format;
  chunkSize: number;
  concurrency?: number;
};

export type ImportMessage =
  | { kind: 'progress'; bytes: number; totalBytes: number; totals: IngestTotals }
  | { kind: 'done'; summary: ImportSummary; priced: boolean };

const job = workerData as ImportJob;
const post = (message: ImportMessage) => parentPort?.postMessage(message);

await withStore(job, async (store) => {
  const { prices, timezone } = await activeIngestSettings(store);
  const summary = await importFiles(store, job.files, {
    format: job.format,
    chunkSize: job.chunkSize,
    concurrency: job.concurrency,
    prices,
    timezone,
    onChunk: ({ bytes, totalBytes, totals }) =>
      post({ kind: 'progress', bytes, totalBytes, totals }),
  });
  post({ kind: 'done', summary, priced: Object.keys(prices.models).length > 0 });
});
