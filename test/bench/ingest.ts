// `npm run bench -- ingest`: 1,000,000 native usage events (token sizes and bursts from the
// Azure trace slice) imported through the same path as `quotient import`, into a fresh
// database on the server at DATABASE_URL; then the same rows COPY'd (psql \copy) into a
// bare unindexed table on that server as the limit. Prints a table, then one JSON line.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { azureTrace, prng, zipfCumulative, zipfPick } from '../../src/store/azure-trace.ts';
import { openStore } from '../../src/store/db.ts';
import { ensureActivePolicy } from '../../src/store/seed.ts';
import { cpuSecondsOf } from './support/proc.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PEOPLE = 20_000;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The models events name, most used first (priced by the default policy the bench activates). */
const MODELS = [
  'claude-opus-4-1',
  'claude-sonnet-4-5',
  'gpt-4o',
  'claude-haiku-4-5',
  'gpt-4o-mini',
];
const CLI = join(import.meta.dirname, '../../src/cli.ts');
/** The CSV's columns, in usage_events' names. */
const CSV_COLUMNS =
  'id, ts, person_id, team_id, model, provider, input_tokens, output_tokens, cache_read_tokens, ' +
  'cache_write_tokens, requests, cost, project, environment, task, source';

async function write(stream: ReturnType<typeof createWriteStream>, text: string) {
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Runs a command while sampling the CPU time of the server backends serving `database`,
 * so the report can say what the work costs, not only how long it took on a busy machine.
 */
async function runMeasured(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  database: string,
) {
  const before = new Map<number, number>();
  const latest = new Map<number, number>();
  const sample = async () => {
    const { rows } = await admin.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    for (const { pid } of rows) {
      const cpu = cpuSecondsOf(pid);
      if (cpu === null) continue;
      // backends already running count from now; new ones from their start
      if (!before.has(pid)) before.set(pid, initial ? cpu : 0);
      latest.set(pid, cpu);
    }
  };
  let initial = true;
  await sample();
  initial = false;
  const started = performance.now();
  const child = spawn(command, args, { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setInterval(() => void sample().catch(() => {}), 100);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  let serverCpu = 0;
  for (const [pid, cpu] of latest) serverCpu += cpu - (before.get(pid) ?? 0);
  return { code, stdout, stderr, seconds, serverCpu };
}

/** Writes the events as native JSONL and as CSV for COPY (same rows, same cost). */
async function generate(dir: string): Promise<{ jsonl: string; csv: string; ids: string }> {
  const jsonl = join(dir, 'usage.jsonl');
  const csv = join(dir, 'usage.csv');
  const ids = join(dir, 'ids.txt');
  const a = createWriteStream(jsonl);
  const b = createWriteStream(csv);
  const c = createWriteStream(ids);
  const random = prng(2023);
  const trace = [...azureTrace().code, ...azureTrace().conv];
  const zipf = zipfCumulative(PEOPLE);
  // bursts: consecutive events follow the trace's arrival gaps, from a start 60 days ago
  let ts = Date.now() - 60 * 86_400_000;
  const step = (60 * 86_400_000) / EVENTS;
  // sessions: one person, model and project for a burst of requests whose gaps follow
  // the trace; who starts a session follows a Zipf distribution over people
  let i = 0;
  let cursor = 0;
  while (i < EVENTS) {
    const rank = zipfPick(zipf, random());
    const person = `person-${rank}@bench.test`;
    const model = MODELS[Math.floor(random() * MODELS.length)];
    const project = `project-${(rank + (random() < 0.8 ? 0 : 1)) % 40}`;
    const environment = random() < 0.9 ? 'production' : 'sandbox';
    const length = Math.min(1 + Math.floor(Math.log(1 - random()) / Math.log(0.85)), 40);
    for (let k = 0; k < length && i < EVENTS; k++, i++) {
      const sample = trace[cursor++ % trace.length];
      ts += Math.min(sample.gapMs, 4 * step) + step * (random() < 0.5 ? 0 : 1);
      const cached = k > 0 ? Math.floor(sample.input * 0.5) : 0;
      const iso = new Date(Math.min(ts, Date.now() - 1000)).toISOString();
      const row = {
        type: 'usage',
        id: `bench-${i}`,
        ts: iso,
        person,
        model,
        input_tokens: sample.input - cached,
        output_tokens: sample.output,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        project,
        environment,
      };
      await write(a, `${JSON.stringify(row)}\n`);
      await write(
        b,
        `${row.id},${iso},${person},,${model},,${row.input_tokens},${row.output_tokens},${cached},0,1,,${project},${environment},,native\n`,
      );
      await write(c, `${row.id}\n`);
    }
  }
  a.end();
  b.end();
  c.end();
  await Promise.all([once(a, 'finish'), once(b, 'finish'), once(c, 'finish')]);
  return { jsonl, csv, ids };
}

const name = `quotient_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
// BENCH_KEEP_FILES=1 keeps the generated files (their folder is printed) for profiling
const keepFiles = process.env.BENCH_KEEP_FILES === '1';
const dir = mkdtempSync(join(tmpdir(), 'quotient-bench-'));
try {
  console.log(`generating ${EVENTS.toLocaleString()} events …`);
  const files = await generate(dir);
  const store = await openStore({ databaseUrl: url.toString(), migrate: true });
  // price with the default policy, as a real deployment would
  const ir = await ensureActivePolicy(store);
  if (!ir) throw new Error('policies/default.policy did not compile');
  console.log(
    `importing ${(statSync(files.jsonl).size / 1e6).toFixed(0)} MB of JSONL with quotient import …`,
  );
  // the import command caps its own worker's heap; BENCH_NODE_FLAGS adds node flags
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const run = await runMeasured(
    process.execPath,
    [...nodeFlags, CLI, 'import', files.jsonl, '--format', 'native', '--json'],
    { ...process.env, DATABASE_URL: url.toString() },
    name,
  );
  if (run.code !== 0) throw new Error(`quotient import failed: ${run.stderr}`);
  const imported = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
  const [check] = await store.query<{ events: string; rollup: string }>(
    'select (select count(*) from usage_events) as events, (select sum(requests) from daily_rollups) as rollup',
  );
  await store.query(`create table bare_usage (
      id text, ts timestamptz, person_id text, team_id text, model text, provider text, input_tokens bigint,
      output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, requests integer,
      cost numeric(28, 12), project text, environment text, task text, source text)`);
  // the floor under the import: the two writes every stored event needs, into empty
  // tables shaped like usage_events (same month partitions, BRIN on ts) and the id ledger
  await store.query(
    'create table floor_events (like usage_events including defaults) partition by range (ts)',
  );
  const bounds = await store.query<{ bound: string }>(
    `select pg_get_expr(c.relpartbound, c.oid) as bound
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'usage_events'::regclass`,
  );
  for (const [i, { bound }] of bounds.entries()) {
    await store.query(`create table floor_events_${i} partition of floor_events ${bound}`);
  }
  await store.query('create index on floor_events using brin (ts)');
  await store.query('create table floor_ids (id text primary key)');
  await store.close();

  console.log('COPY into a bare unindexed table (psql \\copy) …');
  const copy = await runMeasured(
    'psql',
    [
      url.toString(),
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy bare_usage from '${files.csv}' with (format csv)`,
    ],
    process.env,
    name,
  );
  if (copy.code !== 0) throw new Error(`psql \\copy failed: ${copy.stderr}`);
  const copySeconds = copy.seconds;
  const psqlCopy = async (what: string) => {
    const out = await runMeasured(
      'psql',
      [url.toString(), '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${what}`],
      process.env,
      name,
    );
    if (out.code !== 0) throw new Error(`psql \\copy ${what} failed: ${out.stderr}`);
    return out;
  };
  console.log('COPY into tables shaped like usage_events and the id ledger …');
  const floorEvents = await psqlCopy(
    `floor_events (${CSV_COLUMNS}) from '${files.csv}' with (format csv)`,
  );
  const floorIds = await psqlCopy(`floor_ids from '${files.ids}'`);

  const importRate = imported.accepted / imported.seconds;
  const copyRate = EVENTS / copySeconds;
  const figures = {
    events: EVENTS,
    accepted: imported.accepted,
    unpriced: imported.unpriced,
    stored: Number(check.events),
    rollupRequests: Number(check.rollup),
    importSeconds: Number(imported.seconds.toFixed(2)),
    importEventsPerSecond: Math.round(importRate),
    copySeconds: Number(copySeconds.toFixed(2)),
    copyEventsPerSecond: Math.round(copyRate),
    ratioToCopy: Number((importRate / copyRate).toFixed(3)),
    peakRssMB: imported.peakRssMB,
    // CPU cost, which a busy machine does not distort: importer process and the server
    // backends doing the work, in CPU-seconds per million events
    importerCpuSecondsPerMillion: Number(((imported.cpuSeconds * 1e6) / EVENTS).toFixed(1)),
    importServerCpuSecondsPerMillion: Number(((run.serverCpu * 1e6) / EVENTS).toFixed(1)),
    copyServerCpuSecondsPerMillion: Number(((copy.serverCpu * 1e6) / EVENTS).toFixed(1)),
    // the two writes every stored event needs, each COPY'd alone into an empty table
    floorEventsCopySeconds: Number(floorEvents.seconds.toFixed(2)),
    floorIdsCopySeconds: Number(floorIds.seconds.toFixed(2)),
    floorServerCpuSecondsPerMillion: Number(
      (((floorEvents.serverCpu + floorIds.serverCpu) * 1e6) / EVENTS).toFixed(1),
    ),
    loadAverage: loadavg()[0],
    importerNodeFlags: nodeFlags.join(' '),
    targets: { eventsPerSecond: 100_000, ratioToCopy: 0.5, peakRssMB: 300 },
  };
  const rows: [string, string | number, string][] = [
    ['quotient import, events/s', figures.importEventsPerSecond, '≥ 100,000'],
    ['raw COPY (psql \\copy), events/s', figures.copyEventsPerSecond, ''],
    ['import / COPY', figures.ratioToCopy, '≥ 0.5'],
    ['import peak RSS, MB', figures.peakRssMB, '< 300'],
    ['importer CPU-s per 1M events', figures.importerCpuSecondsPerMillion, ''],
    ['server CPU-s per 1M events, import', figures.importServerCpuSecondsPerMillion, ''],
    ['server CPU-s per 1M events, COPY', figures.copyServerCpuSecondsPerMillion, ''],
    ['COPY into usage_events shape, s', figures.floorEventsCopySeconds, ''],
    ['COPY of the ids into ledger shape, s', figures.floorIdsCopySeconds, ''],
    ['server CPU-s per 1M, those two', figures.floorServerCpuSecondsPerMillion, ''],
    [
      'stored events / rollup requests',
      `${figures.stored} / ${figures.rollupRequests}`,
      String(EVENTS),
    ],
    ['load average (1 min) at the end', figures.loadAverage.toFixed(1), ''],
  ];
  console.log('');
  console.log(`| ${'measure'.padEnd(36)} | ${'value'.padStart(18)} | ${'target'.padEnd(10)} |`);
  console.log(`|${'-'.repeat(38)}|${'-'.repeat(20)}|${'-'.repeat(12)}|`);
  for (const [label, value, target] of rows) {
    console.log(`| ${label.padEnd(36)} | ${String(value).padStart(18)} | ${target.padEnd(10)} |`);
  }
  console.log('');
  console.log(JSON.stringify(figures));
} finally {
  if (keepFiles) console.error(`kept the generated files in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
