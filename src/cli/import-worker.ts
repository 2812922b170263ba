// `quotient import` does its work on this worker thread, whose V8 heap is capped by the
// command (resourceLimits): an import streams, so a small heap suffices, and the cap keeps
// V8 from letting garbage from millions of rows pile up before collecting it. The main
// thread only draws the progress bar and prints the summary.
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { declarationToAdd } from '../policy/suggest-model.ts';
import type { Store } from '../store/db.ts';
import { type ImportSummary, importFiles } from '../store/import.ts';
import type { PersonFallback } from '../store/ingest/otlp.ts';
import type { Format } from '../store/ingest/read.ts';
import { addTotals, emptyTotals, type IngestTotals } from '../store/loader.ts';
import { activeIngestSettings } from '../store/prices.ts';
import { type StoreFlags, withStore } from './store-options.ts';

export type ImportJob = StoreFlags & {
  /** each file with its format (named by --format, or sniffed from the file) */
  files: { path: string; format: Format }[];
  chunkSize: number;
  concurrency?: number;
  /** a JSON lines file to write every rejected row to */
  rejects?: string;
  /** the otlp-fallback-person setting, parsed */
  otlpPersonFallback: PersonFallback;
};

export type ImportMessage =
  | { kind: 'progress'; bytes: number; totalBytes: number; totals: IngestTotals }
  | {
      kind: 'done';
      summary: ImportSummary;
      priced: boolean;
      /** unpriced provider name → the declaration that would price it */
      toAdd: Record<string, string>;
    };

const job = workerData as ImportJob;

/** The core_metrics of a Claude Code report file (one JSON page, or one page per line). */
async function keepClaudeCodeActivity(store: Store, path: string, timezone: string) {
  const { claudeCodeActivity, claudeCodeOutcomeIds } = await import(
    '../store/ingest/claude-code.ts'
  );
  const { restateClaudeCodeOutcomes, writeClaudeCodeActivity } = await import(
    '../store/claude-code-activity.ts'
  );
  const text = readFileSync(path, 'utf8');
  const pages: unknown[] = [];
  try {
    pages.push(JSON.parse(text));
  } catch {
    for (const line of text.split('\n')) {
      try {
        if (line.trim()) pages.push(JSON.parse(line));
      } catch {
        // an unreadable page is reported by the import itself
      }
    }
  }
  await writeClaudeCodeActivity(
    store,
    pages.flatMap((p) => claudeCodeActivity(p)),
  );
  // a restated day whose tool-action counts went down loses the outcomes it no longer has
  await restateClaudeCodeOutcomes(
    store,
    pages.flatMap((p) => claudeCodeOutcomeIds(p)),
    timezone,
  );
}

const post = (message: ImportMessage) => parentPort?.postMessage(message);

await withStore(job, async (store) => {
  const { prices, timezone } = await activeIngestSettings(store);
  const summary: ImportSummary = { totals: emptyTotals(), problems: [], seconds: 0 };
  const totalBytes = job.files.reduce((sum, f) => sum + statSync(f.path).size, 0);
  let bytesBefore = 0;
  if (job.rejects) writeFileSync(job.rejects, '');
  // one file at a time, each read with its own format
  for (const { path, format } of job.files) {
    const done = await importFiles(store, [path], {
      format,
      chunkSize: job.chunkSize,
      concurrency: job.concurrency,
      otlpPersonFallback: job.otlpPersonFallback,
      prices,
      timezone,
      onProblems: job.rejects
        ? (problems) =>
            appendFileSync(
              job.rejects as string,
              problems
                .map((p) =>
                  JSON.stringify({ file: path, line: p.line, id: p.id, reason: p.reason }),
                )
                .map((l) => `${l}\n`)
                .join(''),
            )
        : undefined,
      onChunk: ({ bytes, totals }) =>
        post({
          kind: 'progress',
          bytes: bytesBefore + bytes,
          totalBytes,
          totals: addTotals(addTotals(emptyTotals(), summary.totals), totals),
        }),
    });
    addTotals(summary.totals, done.totals);
    summary.problems.push(...done.problems.slice(0, 10 - summary.problems.length));
    summary.seconds += done.seconds;
    // Claude Code core_metrics (sessions, lines, commits, pull requests) are kept apart
    if (format === 'claude-code') await keepClaudeCodeActivity(store, path, timezone);
    bytesBefore += statSync(path).size;
  }
  const toAdd: Record<string, string> = {};
  for (const model of Object.keys(summary.totals.unpricedModels))
    toAdd[model] = declarationToAdd(prices, model);
  post({ kind: 'done', summary, priced: Object.keys(prices.models).length > 0, toAdd });
});
