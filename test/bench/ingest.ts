// `npm run bench -- ingest`: 1,000,000 native usage events (token sizes and bursts from the
// Azure trace slice) imported through the same path as `quotient import`, into a fresh
// database on the server at DATABASE_URL; then the same rows COPY'd (psql \copy) into a
// bare unindexed table on that server as the limit. Prints a table, then one JSON line.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PriceTable } from '../../src/policy/price.ts';
import { azureTrace, prng, zipfCumulative, zipfPick } from '../../src/store/azure-trace.ts';
import { openStore } from '../../src/store/db.ts';
import { ensureActivePolicy } from '../../src/store/seed.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PEOPLE = 20_000;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const PRICES: PriceTable = {
  currency: 'USD',
  models: {
    'claude-opus-4-1': {
      class: 'premium',
      input: 15_000_000,
      output: 75_000_000,
      cacheRead: 1_500_000,
      cacheWrite: 18_750_000,
    },
    'claude-sonnet-4-5': {
      class: 'standard',
      input: 3_000_000,
      output: 15_000_000,
      cacheRead: 300_000,
      cacheWrite: 3_750_000,
    },
    'gpt-4o': {
      class: 'standard',
      input: 2_500_000,
      output: 10_000_000,
      cacheRead: 1_250_000,
      cacheWrite: 0,
    },
    'claude-haiku-4-5': {
      class: 'economy',
      input: 1_000_000,
      output: 5_000_000,
      cacheRead: 100_000,
      cacheWrite: 1_250_000,
    },
    'gpt-4o-mini': {
      class: 'economy',
      input: 150_000,
      output: 600_000,
      cacheRead: 0,
      cacheWrite: 0,
    },
  },
};
const MODELS = Object.keys(PRICES.models);
const CLI = join(import.meta.dirname, '../../src/cli.ts');

async function write(stream: ReturnType<typeof createWriteStream>, text: string) {
  if (!stream.write(text)) await once(stream, 'drain');
}

/** Writes the events as native JSONL and as CSV for COPY (same rows, same cost). */
async function generate(dir: string): Promise<{ jsonl: string; csv: string }> {
  const jsonl = join(dir, 'usage.jsonl');
  const csv = join(dir, 'usage.csv');
  const a = createWriteStream(jsonl);
  const b = createWriteStream(csv);
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
    }
  }
  a.end();
  b.end();
  await Promise.all([once(a, 'finish'), once(b, 'finish')]);
  return { jsonl, csv };
}

const name = `quotient_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
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
  // caps on V8's heap keep the importer's memory flat (by default V8 lets garbage from a
  // high allocation rate pile up before collecting); BENCH_NODE_FLAGS overrides
  const nodeFlags = (
    process.env.BENCH_NODE_FLAGS ?? '--max-old-space-size=256 --max-semi-space-size=16'
  )
    .split(' ')
    .filter(Boolean);
  const child = spawnSync(
    process.execPath,
    [...nodeFlags, CLI, 'import', files.jsonl, '--format', 'native', '--json'],
    {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: url.toString() },
      maxBuffer: 1 << 26,
    },
  );
  if (child.status !== 0) throw new Error(`quotient import failed: ${child.stderr}`);
  const imported = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}');
  const [check] = await store.query<{ events: string; rollup: string }>(
    'select (select count(*) from usage_events) as events, (select sum(requests) from daily_rollups) as rollup',
  );
  await store.query(`create table bare_usage (
      id text, ts timestamptz, person_id text, team_id text, model text, provider text, input_tokens bigint,
      output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, requests integer,
      cost numeric(28, 12), project text, environment text, task text, source text)`);
  await store.close();

  console.log('COPY into a bare unindexed table (psql \\copy) …');
  const copyStarted = performance.now();
  const copy = spawnSync(
    'psql',
    [
      url.toString(),
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy bare_usage from '${files.csv}' with (format csv)`,
    ],
    {
      encoding: 'utf8',
    },
  );
  const copySeconds = (performance.now() - copyStarted) / 1000;
  if (copy.status !== 0) throw new Error(`psql \\copy failed: ${copy.stderr || copy.error}`);

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
    importerNodeFlags: nodeFlags.join(' '),
    targets: { eventsPerSecond: 100_000, ratioToCopy: 0.5, peakRssMB: 300 },
  };
  console.log('');
  console.log('| measure                         | value        | target     |');
  console.log('|---------------------------------|--------------|------------|');
  console.log(
    `| quotient import, events/s       | ${String(figures.importEventsPerSecond).padStart(12)} | ≥ 100,000  |`,
  );
  console.log(
    `| raw COPY (psql \\copy), events/s | ${String(figures.copyEventsPerSecond).padStart(12)} |            |`,
  );
  console.log(
    `| import / COPY                   | ${String(figures.ratioToCopy).padStart(12)} | ≥ 0.5      |`,
  );
  console.log(
    `| import peak RSS, MB             | ${String(figures.peakRssMB).padStart(12)} | < 300      |`,
  );
  console.log(
    `| stored events / rollup requests | ${`${figures.stored}/${figures.rollupRequests}`.padStart(12)} | ${EVENTS}    |`,
  );
  console.log('');
  console.log(JSON.stringify(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
