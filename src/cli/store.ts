// Storage commands: migrate, import, seed, retention. Each opens the store named by
// DATABASE_URL, or the embedded PGlite database under --data-dir.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { debugging, settingOption } from '../config.ts';
import { DEFAULT_CHUNK_SIZE } from '../store/defaults.ts';
import {
  IMPORT_FORMATS as FORMATS,
  type ImportFormat as Format,
  numbersFileLines as numbersLines,
} from '../store/ingest/formats.ts';
import type { SeedOptions } from '../store/seed.ts';
import type { ImportJob, ImportMessage } from './import-worker.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function registerStoreCommands(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags) => {
      await withStore(
        flags,
        async (store) => {
          const { migrate } = await import('../store/db.ts');
          const applied = await migrate(store);
          console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
        },
        { migrate: false },
      );
    });

  program
    .command('import')
    .description('import usage, outcomes, compliance flags and directory rows from files')
    .argument('<file...>', 'files to import')
    .addOption(
      new Option(
        '--format <format>',
        "input format (default: from each file's extension and content)",
      ).choices(FORMATS),
    )
    .addOption(dataDirOption())
    .option('--chunk-size <rows>', 'rows per transaction', positiveInt, DEFAULT_CHUNK_SIZE)
    .option(
      '--concurrency <n>',
      'chunks in flight at once (default 4 on a server, 1 embedded)',
      positiveInt,
    )
    .option('--json', 'print the summary as JSON')
    .option('--strict', 'exit 1 when any row is rejected')
    .option(
      '--rejects <file>',
      'write every rejected row (file, line, reason) to this JSON lines file',
    )
    .addOption(settingOption('otlp-fallback-person'))
    .addOption(
      new Option('--chunk-log', 'log each committed chunk to stderr (for tests)').hideHelp(),
    )
    .action(async (files: string[], flags: ImportFlags) => {
      process.exitCode = await importCommand(files, flags);
    });

  program
    .command('seed')
    .description('create the deterministic demo organisation with 90 days of usage')
    .option('--people <n>', 'number of people', positiveInt, 400)
    .option('--teams <n>', 'number of teams', positiveInt, 25)
    .option('--days <n>', 'days of usage ending today', positiveInt, 90)
    .option('--seed <n>', 'random seed', positiveInt, 42)
    .option('--force', 'seed even when the database already has people')
    .addOption(dataDirOption())
    .action(async (flags: SeedOptions & StoreFlags & { force?: boolean }) => {
      const { seedDemo } = await import('../store/seed.ts');
      await withStore(flags, async (store) => {
        const summary = await seedDemo(store, { ...flags, onlyIfEmpty: !flags.force });
        console.log(summary.skipped ? `not seeded: ${summary.skipped}` : summary.text);
      });
    });

  program
    .command('retention')
    .description('drop whole monthly usage partitions older than --keep (rollups stay)')
    .requiredOption('--keep <duration>', 'how much raw usage to keep, e.g. 13mo, 400d, 2y')
    .option('--dry-run', 'list the partitions that would be dropped')
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags & { keep: string; dryRun?: boolean }) => {
      const { cutoffFor, dropUsagePartitionsBefore } = await import('../store/partitions.ts');
      let cutoff: Date;
      try {
        cutoff = cutoffFor(flags.keep);
      } catch (error) {
        console.error(`error: ${(error as Error).message}`);
        process.exit(2);
      }
      await withStore(flags, async (store) => {
        const dropped = await dropUsagePartitionsBefore(store, cutoff, { dryRun: flags.dryRun });
        const verb = flags.dryRun ? 'would drop' : 'dropped';
        if (dropped.length === 0)
          console.log(`nothing to drop: no usage partition ends before ${cutoff.toISOString()}`);
        for (const p of dropped)
          console.log(`${verb} ${p.name} (${p.from.toISOString().slice(0, 7)})`);
      });
    });
}

type ImportFlags = StoreFlags & {
  format?: Format;
  rejects?: string;
  chunkSize: number;
  concurrency?: number;
  json?: boolean;
  strict?: boolean;
  chunkLog?: boolean;
  /** the otlp-fallback-person setting (flag, variable or default) */
  otlpFallbackPerson: string;
};

/**
 * Heap caps for the import worker. The live set is a few chunks in flight (tens of MB);
 * the caps make V8 collect early instead of growing towards its default of several GB.
 */
const IMPORT_HEAP = { maxOldGenerationSizeMb: 160, maxYoungGenerationSizeMb: 48 };

async function importCommand(files: string[], flags: ImportFlags): Promise<number> {
  for (const file of files) {
    try {
      statSync(file);
    } catch {
      console.error(`error: cannot read ${file}`);
      return 2;
    }
  }
  const bar =
    process.stderr.isTTY && !flags.json
      ? new cliProgress.SingleBar(
          {
            format: '{bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
            stream: process.stderr,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const totalBytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  bar?.start(totalBytes, 0, { rows: 0, rate: 0 });
  const started = Date.now();
  const { sniffFormat } = await import('../store/ingest/sniff.ts');
  const formats = new Map<string, Format>();
  for (const file of files) {
    if (flags.format) formats.set(file, flags.format);
    else {
      const sniffed = await sniffFormat(file);
      formats.set(file, sniffed.format);
      if (!flags.json) console.error(`${file}: reading as ${sniffed.format} (${sniffed.because})`);
    }
  }
  const { parsePersonFallback } = await import('../store/ingest/otlp.ts');
  const job: ImportJob = {
    dataDir: flags.dataDir,
    databaseUrl: flags.databaseUrl,
    otlpPersonFallback: parsePersonFallback(flags.otlpFallbackPerson),
    files: files.map((path) => ({ path, format: formats.get(path) as Format })),
    rejects: flags.rejects,
    chunkSize: flags.chunkSize,
    concurrency: flags.concurrency,
  };
  const worker = new Worker(new URL('./import-worker.ts', import.meta.url), {
    workerData: job,
    resourceLimits: IMPORT_HEAP,
  });
  const result = await new Promise<Extract<ImportMessage, { kind: 'done' }>>((resolve, reject) => {
    let done: Extract<ImportMessage, { kind: 'done' }> | null = null;
    worker.on('message', (message: ImportMessage) => {
      if (message.kind === 'done') {
        done = message;
        return;
      }
      const { rows } = message.totals;
      if (flags.chunkLog) process.stderr.write(`chunk committed: ${rows} rows\n`);
      const elapsed = Math.max((Date.now() - started) / 1000, 0.001);
      bar?.update(message.bytes, { rows, rate: Math.round(rows / elapsed) });
    });
    let failure: Error | null = null;
    worker.on('error', (error) => {
      failure = error as Error;
    });
    worker.on('exit', (code) => {
      if (done) resolve(done);
      else reject(failure ?? new Error(`the import stopped (exit code ${code}) before finishing`));
    });
  })
    .then((done) => {
      bar?.update(totalBytes);
      return done;
    })
    .catch((error: Error) => error)
    .finally(() => bar?.stop());
  if (result instanceof Error) {
    // an expected condition (the data directory in use, the database unreachable) in one
    // sentence; the stack only when asked for
    console.error(`error: ${result.message}`);
    if (debugging()) console.error(result.stack);
    return 2;
  }
  const { totals, problems, seconds } = result.summary;

  if (flags.json) {
    // peak RSS of this process, so benchmarks can report the importer's memory
    const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    const usage = process.cpuUsage();
    const cpuSeconds = (usage.user + usage.system) / 1e6;
    console.log(
      JSON.stringify({
        ...totals,
        unpricedDeclarations: result.toAdd,
        seconds,
        peakRssMB,
        cpuSeconds,
        problems,
      }),
    );
  } else {
    const label = files.length === 1 ? basename(files[0]) : `${files.length} files`;
    const named = [...new Set(formats.values())].join(', ');
    console.log(`imported ${label} (${named}) in ${seconds.toFixed(1)} s`);
    console.log(`  rows        ${totals.rows}`);
    console.log(`  accepted    ${totals.accepted}`);
    console.log(`  duplicates  ${totals.duplicates}`);
    if (totals.replaced > 0) console.log(`  replaced    ${totals.replaced} (restated report rows)`);
    console.log(`  rejected    ${totals.rejected}`);
    const models = Object.entries(totals.unpricedModels)
      .map(([m, n]) => `${m} ×${n}`)
      .join(', ');
    console.log(`  unpriced    ${totals.unpriced}${models ? ` (${models})` : ''}`);
    if (totals.unpriced > 0 && !result.priced) {
      console.log('  (no active policy: publish and activate one to price usage)');
    } else if (totals.unpriced > 0) {
      console.log('to price them, add:');
      for (const [model, n] of Object.entries(totals.unpricedModels).sort((a, b) => b[1] - a[1]))
        console.log(`  ${model} ×${n}: ${result.toAdd[model] ?? ''}`);
    }
    if (problems.length > 0) {
      console.log(
        `rejected rows${totals.rejected > problems.length ? ` (first ${problems.length})` : ''}:`,
      );
      for (const p of problems) {
        console.log(
          `  ${p.file} ${numbersLines(formats.get(p.file) as Format, p.file) ? 'line' : 'record'} ${p.line}: ${p.reason}`,
        );
      }
      if (totals.rejected > problems.length && !flags.rejects)
        console.log('  (--rejects <file> writes every rejected row)');
    }
    if (flags.rejects) console.log(`every rejected row: ${flags.rejects}`);
  }
  if (totals.failedChunks > 0) return 1;
  // nothing taken in (every row rejected, or no rows at all) is a failure, not a quiet 0
  if (totals.accepted + totals.duplicates === 0) {
    if (!flags.json)
      console.error(totals.rows === 0 ? 'error: no rows found' : 'error: no row was accepted');
    return 1;
  }
  return flags.strict && totals.rejected > 0 ? 1 : 0;
}
