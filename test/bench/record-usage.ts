// `BENCH_DB=<name> npm run bench -- record-usage`: the API bench's recordUsage phase alone,
// against a database `npm run bench -- api` seeded and kept (run it once with the same
// BENCH_DB), so that a change to the write path is measured in minutes, not a seed each.
//
// The real server starts on that database (`quotient serve`, its own process, all its
// workers), waits BENCH_SETTLE_SECONDS (default 45: the start-up warm-up and first sweep
// are over), then 4 connections send BENCH_BATCHES (default 150) batches of 1,000 fresh
// events shaped as the API bench's: a person drawn with its skew, the model rotating,
// timestamps in the hour before the seed's last event. Besides events/s it reports what
// the run cost in CPU seconds (the server process, and the PostgreSQL backends of the
// database, from /proc: steadier than throughput on a shared machine), how often a
// backend of the database was seen waiting on a lock (pg_stat_activity, every 100 ms), and
// the load average. Prints a table, then one JSON line.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { loadavg } from 'node:os';
// @ts-expect-error autocannon ships no types: the slice used here is typed below
import autocannonUntyped from 'autocannon';
import pg from 'pg';
import { createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { azureTrace } from '../../src/store/azure-trace.ts';
import { openStore } from '../../src/store/db.ts';
import { ensureActivePolicy } from '../../src/store/seed.ts';
import { cpuSecondsOf } from './support/proc.ts';
import { spawnServe } from './support/serve.ts';

type CannonResult = { errors: number; non2xx: number };
type CannonInstance = Promise<CannonResult> & {
  on(
    event: 'response',
    listener: (client: unknown, status: number, bytes: number, ms: number) => void,
  ): void;
};
const autocannon = autocannonUntyped as (options: Record<string, unknown>) => CannonInstance;

const name = process.env.BENCH_DB;
if (!name) {
  console.error(
    'usage: BENCH_DB=<name> npm run bench -- record-usage (seed <name> first: BENCH_DB=<name> npm run bench -- api)',
  );
  process.exit(2);
}
const BATCHES = Number(process.env.BENCH_BATCHES ?? 150);
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 45);
const BATCH = 1_000;
const CONNECTIONS = 4;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const url = new URL(serverUrl);
url.pathname = `/${name}`;

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

const db = new pg.Client({ connectionString: url.toString() });
await db.connect();
const [{ people }] = (await db.query('select count(*)::int as people from people')).rows;
if (people === 0)
  throw new Error(`${name} is not seeded: run BENCH_DB=${name} npm run bench -- api`);
const store = await openStore({
  databaseUrl: url.toString(),
  migrate: true,
  entities: apiEntities,
});
const ir = await ensureActivePolicy(store);
if (!ir) throw new Error('policies/default.policy did not compile');
const models = Object.keys(ir.models);
const trace = [...azureTrace().code, ...azureTrace().conv];
// the seed's "now": events of earlier runs of this bench are newer, so read the seed's own
const now = new Date(
  (await db.query('select max(ts) as t from usage_events where id like $1', ['b-%'])).rows[0].t,
).getTime();
// what earlier runs left queued is not this run's work
await db.query('delete from enforcement_dirty');
await db.query('delete from enforcement_cost_deltas');
await db.query('vacuum enforcement_dirty, enforcement_cost_deltas');
const ingest = (await createApiKey(store.em(), { role: 'ingest', name: 'record-usage bench' })).key;
await store.close();

const server = spawnServe(url.toString());
let banner = '';
const endpoint = await new Promise<string>((resolve, reject) => {
  server.stdout?.on('data', (chunk: Buffer) => {
    banner += chunk.toString();
    const match = /Quotient API at (\S+)\/graphql/.exec(banner);
    if (match) resolve(`${match[1]}/graphql`);
  });
  server.once('exit', (code) => reject(new Error(`server exited (${code}): ${banner}`)));
});
console.log(`server at ${endpoint}; settling ${SETTLE_SECONDS} s …`);
await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));

const run = randomBytes(3).toString('hex');
const RECORD = `mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) {
    ... on IngestSummary { accepted rejected duplicates } ... on Problem { code } } }`;
const bodies: string[] = [];
for (let b = 0; b < BATCHES; b++) {
  const rows = [];
  for (let i = 0; i < BATCH; i++) {
    const n = b * BATCH + i;
    const sample = trace[n % trace.length];
    const p = Math.floor(people * Math.random() ** 2.2);
    rows.push({
      id: `ru-${run}-${n}`,
      ts: new Date(now - Math.random() * 3_600_000).toISOString(),
      person: `person-${p}@bench.test`,
      model: models[n % models.length],
      inputTokens: sample.input,
      outputTokens: sample.output,
      project: `project-${p % 40}`,
      environment: 'production',
    });
  }
  bodies.push(JSON.stringify({ query: RECORD, variables: { rows } }));
}

// backends of the database: CPU from their first sighting (new ones from their start)
const before = new Map<number, number>();
const latest = new Map<number, number>();
let lockSamples = 0;
let samples = 0;
let first = true;
const sample = async () => {
  const { rows } = await db.query<{ pid: number; waiting: boolean }>(
    `select pid, wait_event_type = 'Lock' as waiting from pg_stat_activity
      where datname = $1 and pid <> pg_backend_pid()`,
    [name],
  );
  samples++;
  for (const { pid, waiting } of rows) {
    if (waiting) lockSamples++;
    const cpu = cpuSecondsOf(pid);
    if (cpu === null) continue;
    if (!before.has(pid)) before.set(pid, first ? cpu : 0);
    latest.set(pid, cpu);
  }
};
await sample();
first = false;
const serverCpuBefore = cpuSecondsOf(server.pid as number) ?? 0;
const loadBefore = load();
const timer = setInterval(() => void sample().catch(() => {}), 100);
console.log(`recordUsage: ${BATCHES} batches of ${BATCH.toLocaleString()} events …`);
const latencies: number[] = [];
let next = 0;
const started = performance.now();
const cannon = autocannon({
  url: endpoint,
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${ingest}` },
  connections: CONNECTIONS,
  amount: BATCHES,
  requests: [{ setupRequest: (req: object) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
});
cannon.on('response', (_client, _status, _bytes, ms) => {
  latencies.push(ms);
});
const result = await cannon;
const seconds = (performance.now() - started) / 1000;
clearInterval(timer);
await sample();
const serverCpu = (cpuSecondsOf(server.pid as number) ?? 0) - serverCpuBefore;
let databaseCpu = 0;
for (const [pid, cpu] of latest) databaseCpu += cpu - (before.get(pid) ?? 0);
const loadAfter = load();
const [{ landed }] = (
  await db.query('select count(*)::int as landed from usage_event_ids where id like $1', [
    `ru-${run}-%`,
  ])
).rows;
server.kill('SIGTERM');
await once(server, 'exit');
await db.end();

latencies.sort((a, b) => a - b);
const at = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
const eventsPerSecond = landed / seconds;
const perEvent = (cpu: number) => (landed > 0 ? (cpu * 1e6) / landed : Number.NaN);
console.log(`
recordUsage on ${name} (${people.toLocaleString()} people): ${BATCHES} batches of ${BATCH}, ${CONNECTIONS} connections
| events/s | landed | p50 ms | p95 ms | errors | server CPU-s (µs/event) | PostgreSQL CPU-s (µs/event) | lock-wait samples | load before → after |
|---:|---:|---:|---:|---:|---:|---:|---:|---|
| ${Math.round(eventsPerSecond).toLocaleString()} | ${landed.toLocaleString()} | ${at(0.5).toFixed(0)} | ${at(0.95).toFixed(0)} | ${result.errors + result.non2xx} | ${serverCpu.toFixed(1)} (${perEvent(serverCpu).toFixed(0)}) | ${databaseCpu.toFixed(1)} (${perEvent(databaseCpu).toFixed(0)}) | ${lockSamples} of ${samples} | ${loadBefore} → ${loadAfter} |`);
console.log(
  JSON.stringify({
    database: name,
    batches: BATCHES,
    batch: BATCH,
    landed,
    seconds: Number(seconds.toFixed(1)),
    eventsPerSecond: Math.round(eventsPerSecond),
    p50: at(0.5),
    p95: at(0.95),
    errors: result.errors + result.non2xx,
    serverCpuSeconds: Number(serverCpu.toFixed(1)),
    databaseCpuSeconds: Number(databaseCpu.toFixed(1)),
    lockWaitSamples: lockSamples,
    samples,
    loadBefore,
    loadAfter,
  }),
);
