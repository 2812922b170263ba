// `npm run bench -- quota`: checkQuota over HTTP under load. A fresh database on the server
// at DATABASE_URL gets 20,000 people in 40 teams and 10,000,000 usage events over three
// months (token sizes from the Azure trace), rolled up by local day as the loader does.
// The real server (`quotient serve`, a child process, background workers on) then answers
// checkQuota for random people, driven by autocannon, three ways, each reported:
//   - the GraphQL field checkQuota at /graphql (the issue's figure),
//   - the same check as plain JSON at POST /v1/quota/check (same key check, role rules
//     and engine call, without GraphQL's per-request work),
//   - the smallest authenticated GraphQL query, { viewer { role } }: the HTTP + GraphQL floor,
//   - GET /v1/whoami, an authenticated request that does nothing else: the plain HTTP floor
//     (the plain check should reach at least 0.6 of it; the two alternate in rounds, so
//     that both meet the same server, and the ratio of each round is printed too).
// The policy is the default one with `at 110% block` on budgets; the bench then measures how
// long a budget block takes to reach checkQuota while other clients ingest.
// The server runs with its quota cache as configured (QUOTIENT_QUOTA_CACHE_STALENESS_MS=0
// turns it off): the bench prints its refresh interval and staleness bound beside the block
// propagation, which includes both, and the share of checks answered from memory.
// Prints a table, then one JSON line.
//
// Connections: 10 by default (autocannon's own default). A gateway keeps a small pool of
// keep-alive connections to its quota service and asks before each model call, waiting for
// the answer; 10 such callers is a busy gateway. More connections do not add throughput
// once the server is busy, they only queue: by Little's law, latency = connections /
// throughput, so 32 connections at 2,000 requests/s average 16 ms, and p99 under 10 ms
// cannot be met at any speed the server reaches on this machine. BENCH_CONNECTIONS=32
// reproduces that queueing regime.
//
// Then both ways again at 1, 4 and 32 connections (BENCH_SWEEP_SECONDS each, default 5;
// 0 skips), to show how latency and throughput trade on this machine.
// BENCH_EVENTS, BENCH_PEOPLE, BENCH_SECONDS and BENCH_CONNECTIONS override the sizes;
// BENCH_KEEP_DB=1 keeps the seeded database and BENCH_DB=<name> reuses it (no seeding);
// BENCH_SERVER_FLAGS and BENCH_SERVER_STDOUT pass the server flags and keep its output, as for
// the api bench (test/bench/support/serve.ts).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannonUntyped from 'autocannon';
import pg from 'pg';
import { PERSON_MONTHS_FILL } from '../../migrations/Migration20261206224000_person_months.ts';
import { createApiKey } from '../../src/api/auth.ts';
import { apiEntities } from '../../src/api/entities.ts';
import { SETTINGS } from '../../src/config.ts';
import { azureTrace, prng } from '../../src/store/azure-trace.ts';
import { openStore } from '../../src/store/db.ts';
import { ensureMonthPartitions } from '../../src/store/partitions.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { cpuSecondsOf } from './support/proc.ts';
import { startServe } from './support/serve.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** the longest wait for a quiet server before each of the four main load phases */
const QUIET_MAX_MS = Number(process.env.BENCH_QUIET_MAX_MS ?? 120_000);
const TEAMS = 40;
/** rounds of the plain check and of the no-op each, alternating (a quarter of BENCH_SECONDS each) */
const PAIRED_ROUNDS = 4;
/** how long the bench waits for a budget block to reach checkQuota before it gives up */
const PROPAGATION_TIMEOUT_MS = Number(process.env.BENCH_PROPAGATION_TIMEOUT_MS ?? 30_000);

type Cannon = Promise<{
  requests: { total: number; average: number };
  errors: number;
  non2xx: number;
}> & { on(event: 'response', listener: (...args: never[]) => void): void };
const autocannon = autocannonUntyped as (options: Record<string, unknown>) => Cannon;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const started = performance.now();
const step = (what: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${what}`);

// BENCH_DB=<name> reuses a database a run kept with BENCH_KEEP_DB=1 (no seeding)
const reuse = process.env.BENCH_DB ?? null;
const keep = process.env.BENCH_KEEP_DB === '1' || reuse !== null;
const dbName = reuse ?? `quotient_bench_quota_${randomBytes(4).toString('hex')}`;
if (!reuse) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
}
const url = withDatabase(serverUrl, dbName);

let child: ChildProcess | null = null;
try {
  // the seed runs statements over every event: no per-statement limit for the bench's own store
  const store = await openStore({
    databaseUrl: url,
    migrate: true,
    entities: apiEntities,
    timeouts: { statementMs: 3_600_000 },
  });
  // the default policy, with a budget step that blocks: what the propagation figure measures
  let source = readFileSync(join(root, 'policies/default.policy'), 'utf8').replace(
    /(escalation budget \{[^}]*?)(\n {2}forecast)/,
    '$1\n  at 110% block$2',
  );
  if (!source.includes('at 110% block'))
    throw new Error('bench policy: no budget ladder to extend');
  // the seed's three months exceed the org's quarterly budget, which would block everyone
  // before the bench starts; propagation is measured on team budgets alone
  const orgBudget = /budget org +\{ [^}]* \}/;
  if (!orgBudget.test(source)) throw new Error('bench policy: no org budget to lift');
  source = source.replace(orgBudget, 'budget org { 100,000,000 USD per quarter }');
  const published = await publishPolicySource(store, { source, activate: true });
  if (published.kind === 'invalid')
    throw new Error(`bench policy: ${JSON.stringify(published.diagnostics)}`);
  const tz = (
    await store.query<{ tz: string }>(
      "select ir->>'timezone' as tz from policy_versions where status = 'active'",
    )
  )[0].tz;

  if (!reuse) await seed();
  async function seed() {
    step(`seeding ${PEOPLE} people in ${TEAMS} teams`);
    const roles = ['engineer', 'data-scientist', 'analyst', 'designer', 'manager'];
    await store.query(
      `insert into teams (id, name, owner) select 'team-' || g, 'Team ' || g, 'person-' || g
       from generate_series(0, $1 - 1) g`,
      [TEAMS],
    );
    await store.query(
      `insert into people (id, name, team_id, role, manager_id, opted_in, from_directory)
     select 'person-' || g, 'Person ' || g, 'team-' || (g % $2), ($3::text[])[1 + g % 5],
            'person-' || (g % $2), g % 3 = 0, true
       from generate_series(0, $1 - 1) g`,
      [PEOPLE, TEAMS, roles],
    );

    // token sizes from the Azure trace, cycled; times spread over Sep–Nov 2026 (all in the past)
    const trace = azureTrace();
    const samples = [...trace.code, ...trace.conv];
    const rand = prng(7);
    const pick = Array.from({ length: 4096 }, () => samples[Math.floor(rand() * samples.length)]);
    await ensureMonthPartitions(store, ['2026_09', '2026_10', '2026_11']);
    const from = Date.parse('2026-09-01T00:00:00Z');
    const to = Date.parse('2026-11-20T00:00:00Z');
    const chunk = 1_000_000;
    step(`seeding ${EVENTS.toLocaleString('en')} usage events`);
    for (let offset = 0; offset < EVENTS; offset += chunk) {
      const n = Math.min(chunk, EVENTS - offset);
      await store.query(
        `insert into usage_events (id, ts, person_id, team_id, model, provider, input_tokens,
                                 output_tokens, requests, cost, project, environment, source)
       select 'b-' || g,
              to_timestamp(($3::float8 + (g * 7919 % $5)::float8 / $5 * ($4::float8 - $3::float8)) / 1000),
              'person-' || (g * 31 % $6), 'team-' || ((g * 31 % $6) % $7),
              (array['claude-sonnet-4-5', 'gpt-4o-mini', 'claude-haiku-4-5', 'claude-opus-4-1'])[1 + g % 4],
              'anthropic', ($8::int8[])[1 + g % 4096], ($9::int8[])[1 + g % 4096], 1,
              (($8::int8[])[1 + g % 4096] * 3 + ($9::int8[])[1 + g % 4096] * 15)::numeric / 1000000,
              'bench', 'production', 'bench'
         from generate_series($1::int8, $2::int8) g`,
        [
          offset,
          offset + n - 1,
          from,
          to,
          EVENTS,
          PEOPLE,
          TEAMS,
          pick.map((s) => s.input),
          pick.map((s) => s.output),
        ],
      );
      step(`  ${(offset + n).toLocaleString('en')} events`);
    }
    step('rolling up by local day');
    // in day order, as ingest lays them out (see the same step in api.ts); the seed is
    // history, not news: without the rollup triggers (re-evaluation queue, cost deltas)
    await store.transaction(async (client) => {
      await client.query('set local session_replication_role = replica');
      await client.query(
        `insert into daily_rollups (day, person_id, model, project, environment, input_tokens,
                                  output_tokens, cost, requests)
       select (ts at time zone $1)::date, person_id, model, project, environment,
              sum(input_tokens), sum(output_tokens), sum(cost), sum(requests)
         from usage_events group by 1, 2, 3, 4, 5 order by 1, 2`,
        [tz],
      );
      // the per-person month totals those triggers would have kept, in one pass
      await client.query(PERSON_MONTHS_FILL);
    });
    await store.query('analyze');
  }
  const rollups = Number(
    (await store.query<{ n: string }>('select count(*)::text as n from daily_rollups'))[0].n,
  );
  await store.query('delete from job_leases'); // so the wait below sees this run's sweep
  const key = await createApiKey(store.em(), { role: 'ingest', name: 'bench gateway' });
  const metricsKey = await createApiKey(store.em(), { role: 'admin', name: 'bench metrics' });
  await store.close();

  step('starting quotient serve');
  const served = await startServe(url);
  child = served.child;
  const base = served.base;
  child.on('exit', (code, signal) => step(`server exited (${code ?? signal})`));

  // the first escalation sweep over everyone starts with the server: let it finish, and time it
  const sweepStarted = performance.now();
  const watcher = new pg.Client({ connectionString: url });
  await watcher.connect();
  let sweep: { ms: number; created: number; evaluated: number } | null = null;
  for (let i = 0; i < 600 && !sweep; i++) {
    const rows = await watcher.query(
      "select last_result from job_leases where name = 'escalation-sweep' and last_run_at is not null",
    );
    const r = rows.rows[0]?.last_result as { created: number; evaluated: number } | undefined;
    if (r) sweep = { ms: Math.round(performance.now() - sweepStarted), ...r };
    else await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await watcher.end();
  step(`first sweep done: ${JSON.stringify(sweep)}`);

  const query =
    'query($p: String!, $m: String!, $n: Int!) { checkQuota(person: $p, model: $m, estimatedTokens: $n) { ... on QuotaCheck { decision band remainingAfter cheaperClass } } }';
  const body = (i: number) =>
    JSON.stringify({
      query,
      variables: {
        p: `person-${(i * 7_919) % PEOPLE}`,
        m: ['claude-sonnet-4-5', 'gpt-4o-mini', 'claude-opus-4-1'][i % 3],
        n: 500 + (i % 4000),
      },
    });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key.key}` };

  // the same questions as plain JSON for POST /v1/quota/check
  const plain = (i: number) => {
    const { variables } = JSON.parse(body(i)) as { variables: { p: string; m: string; n: number } };
    return JSON.stringify({
      person: variables.p,
      model: variables.m,
      estimatedTokens: variables.n,
    });
  };

  // sanity answers before the load: both ways, the same decision
  const probe = await fetch(`${base}/graphql`, { method: 'POST', headers, body: body(1) });
  const probeText = await probe.text();
  if (!probeText.includes('decision')) throw new Error(`unexpected answer: ${probeText}`);
  const plainProbe = (await (
    await fetch(`${base}/v1/quota/check`, { method: 'POST', headers, body: plain(1) })
  ).json()) as { decision?: string; remainingAfter?: number };
  const graphProbe = (JSON.parse(probeText) as { data: { checkQuota: typeof plainProbe } }).data
    .checkQuota;
  if (
    plainProbe.decision !== graphProbe.decision ||
    plainProbe.remainingAfter !== graphProbe.remainingAfter
  )
    throw new Error(
      `the two ways disagree: ${JSON.stringify(plainProbe)} vs ${JSON.stringify(graphProbe)}`,
    );

  type Load = {
    rps: number;
    requests: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
    errors: number;
    non2xx: number;
    /** the longest the server took to answer /health meanwhile: stalls of its event loop */
    stallMs: number;
    /**
     * the server process's CPU time per answered request (user + system): what bounds
     * throughput once the server is busy. Background work (refreshes, re-evaluation) is
     * included, so it compares phases only at similar req/s; null where /proc is not there
     */
    cpuUsPerRequest: number | null;
  };
  /** The server process's CPU time so far in ms (Linux /proc), or null. */
  function serverCpuMs(): number | null {
    const seconds = cpuSecondsOf(child?.pid);
    return seconds === null ? null : seconds * 1000;
  }
  /** One load's raw figures: every response time, and what summarize() needs besides. */
  type Measured = {
    times: number[];
    requests: number;
    seconds: number;
    errors: number;
    non2xx: number;
    stallMs: number;
    cpuMs: number | null;
  };
  // autocannon's percentiles skip p95: keep every response time and compute them here
  async function measure(
    bodies: string[],
    seconds: number,
    path = '/graphql',
    connections = CONNECTIONS,
    method: 'POST' | 'GET' = 'POST',
  ): Promise<Measured> {
    const times: number[] = [];
    const run = autocannon({
      url: `${base}${path}`,
      method,
      connections,
      duration: seconds,
      headers,
      requests: bodies.map((b) => (method === 'GET' ? { method } : { method, body: b })),
    });
    run.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      times.push(ms);
    });
    // a probe beside the load: a request the server answers without any work of its own
    let probing = true;
    let stallMs = 0;
    const probe = (async () => {
      while (probing) {
        const sent = performance.now();
        await fetch(`${base}/health`).then((r) => r.arrayBuffer());
        stallMs = Math.max(stallMs, performance.now() - sent);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const cpuBefore = serverCpuMs();
    const result = await run;
    const cpuAfter = serverCpuMs();
    probing = false;
    await probe;
    return {
      times,
      requests: result.requests.total,
      seconds,
      errors: result.errors,
      non2xx: result.non2xx,
      stallMs,
      cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    };
  }

  /** The figures of one or more loads of the same requests, taken together. */
  function summarize(runs: Measured[]): Load {
    const times = runs.flatMap((r) => r.times).sort((a, b) => a - b);
    const pct = (p: number) =>
      Math.round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] * 100) /
      100;
    const sum = (pick: (r: Measured) => number) => runs.reduce((n, r) => n + pick(r), 0);
    const requests = sum((r) => r.requests);
    const cpuMs = runs.some((r) => r.cpuMs === null) ? null : sum((r) => r.cpuMs ?? 0);
    return {
      rps: Math.round(requests / sum((r) => r.seconds)),
      requests,
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
      max: pct(100),
      errors: sum((r) => r.errors),
      non2xx: sum((r) => r.non2xx),
      stallMs: Math.round(Math.max(...runs.map((r) => r.stallMs))),
      cpuUsPerRequest:
        cpuMs === null || requests === 0 ? null : Math.round((cpuMs * 1000) / requests),
    };
  }

  const load = async (...args: Parameters<typeof measure>) => summarize([await measure(...args)]);

  step('warming up');
  await load(
    Array.from({ length: 1000 }, (_, i) => body(i + 5000)),
    3,
  );
  await load(
    Array.from({ length: 1000 }, (_, i) => plain(i + 5000)),
    2,
    '/v1/quota/check',
  );
  step('warm-up done; reading /metrics');
  const answersBefore = await quotaAnswers();

  /**
   * Waits (at most QUIET_MAX_MS) until the server has used under 5% of a CPU for a second,
   * and returns how long that took. Work the server starts on its own after start-up (the
   * board snapshots and the evaluation loads behind them, the evaluation /metrics leaves)
   * otherwise lands in whichever phase runs meanwhile, and its CPU and its competition for
   * the two cores count against that endpoint: the plain check and the no-op are compared
   * from the same idle starting point.
   */
  async function untilQuiet(): Promise<number> {
    const from = performance.now();
    let before = serverCpuMs();
    if (before === null) return 0;
    while (performance.now() - from < QUIET_MAX_MS) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const now = serverCpuMs();
      if (now === null) return 0;
      if (now - before < 50) break;
      before = now;
    }
    return Math.round(performance.now() - from);
  }
  const quietWaitMs: Record<string, number> = {};
  quietWaitMs.graphql = await untilQuiet();
  step(`load: checkQuota over GraphQL, ${CONNECTIONS} connections for ${SECONDS} s`);
  const quota = await load(
    Array.from({ length: 1000 }, (_, i) => body(i)),
    SECONDS,
  );
  // the plain check and the no-op in alternating rounds (plain, no-op, no-op, plain, …) of
  // a quarter of the phase each: work the server does on its own after start (garbage from
  // the start-up evaluations, the first sweep) then weighs on both alike, where one phase
  // after the other gave it all to whichever came first (docs/benchmarks/2026-12-07-idle-6.md)
  const plainBodies = Array.from({ length: 1000 }, (_, i) => plain(i));
  const plainRounds: Measured[] = [];
  const noopRounds: Measured[] = [];
  quietWaitMs.plain = await untilQuiet();
  step(
    `load: POST /v1/quota/check and GET /v1/whoami (no-op), ${CONNECTIONS} connections, ${SECONDS} s each in ${PAIRED_ROUNDS} alternating rounds`,
  );
  for (let round = 0; round < PAIRED_ROUNDS; round++) {
    const plainFirst = round % 4 === 0 || round % 4 === 3;
    for (const which of plainFirst ? ['plain', 'noop'] : ['noop', 'plain']) {
      step(`round ${round + 1}: ${which === 'plain' ? 'plain check' : 'no-op'}`);
      if (which === 'plain')
        plainRounds.push(await measure(plainBodies, SECONDS / PAIRED_ROUNDS, '/v1/quota/check'));
      else
        noopRounds.push(
          await measure([''], SECONDS / PAIRED_ROUNDS, '/v1/whoami', CONNECTIONS, 'GET'),
        );
    }
  }
  const http = summarize(plainRounds);
  const noop = summarize(noopRounds);
  const roundRatios = plainRounds.map(
    (r, i) => Math.round((r.requests / Math.max(1, noopRounds[i].requests)) * 100) / 100,
  );
  const answersAfter = await quotaAnswers();
  // the share of checks answered from the quota cache while both ways were loaded
  const answered =
    answersAfter.memory + answersAfter.database - answersBefore.memory - answersBefore.database;
  const fromMemory =
    answered > 0
      ? Math.round(((answersAfter.memory - answersBefore.memory) / answered) * 1000) / 1000
      : null;
  // the same server answering the smallest authenticated query: the HTTP + GraphQL floor
  quietWaitMs.floor = await untilQuiet();
  step(`load: { viewer { role } }, ${CONNECTIONS} connections for ${SECONDS} s`);
  const floor = await load([JSON.stringify({ query: '{ viewer { role } }' })], SECONDS);

  step('block propagation under ingest load');
  // the server's quota cache (its settings as the server reads them): a block reaches
  // checkQuota after the budget pass and then the cache's next refresh, both in the delay
  const setting = (name: string) =>
    Number(
      process.env[`QUOTIENT_${name.toUpperCase().replaceAll('-', '_')}`] ??
        SETTINGS.find((s) => s.name === name)?.default,
    );
  const quotaCache = {
    refreshMs: setting('quota-cache-refresh-ms'),
    maxStalenessMs: setting('quota-cache-staleness-ms'),
  };
  const passesBefore = await budgetPasses();
  const propagation = await blockPropagation();
  const passesAfter = await budgetPasses();
  const passCount = passesAfter.count - passesBefore.count;
  const budgetPass = {
    count: passCount,
    meanMs:
      passCount > 0 ? Math.round(((passesAfter.sum - passesBefore.sum) * 1000) / passCount) : null,
  };

  /** One sample of the server's /metrics, by its name and labels as printed. */
  async function metricSamples(): Promise<(name: string) => number> {
    const text = await (
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsKey.key}` } })
    ).text();
    const escaped = (name: string) => name.replace(/[{}"]/g, (c) => `\\${c}`);
    return (name) => Number(new RegExp(`^${escaped(name)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  }

  /** checkQuota answers so far, from memory and from the database. */
  async function quotaAnswers(): Promise<{ memory: number; database: number }> {
    const sample = await metricSamples();
    return {
      memory: sample('quotient_quota_answers_total{source="memory"}'),
      database: sample('quotient_quota_answers_total{source="database"}'),
    };
  }

  /** The server's budget-pass histogram (count and seconds in all) from /metrics. */
  async function budgetPasses(): Promise<{ count: number; sum: number }> {
    const sample = await metricSamples();
    return {
      count: sample('quotient_budget_pass_duration_seconds_count'),
      sum: sample('quotient_budget_pass_duration_seconds_sum'),
    };
  }

  // the same questions at other connection counts: how latency and throughput trade
  const sweepSeconds = Number(process.env.BENCH_SWEEP_SECONDS ?? 5);
  const byConnections: { connections: number; graphql: Load; http: Load }[] = [];
  for (const connections of sweepSeconds > 0 ? [1, 4, 32] : []) {
    step(`load: both ways, ${connections} connections for ${sweepSeconds} s each`);
    const graphql = await load(
      Array.from({ length: 1000 }, (_, i) => body(i + 2000)),
      sweepSeconds,
      '/graphql',
      connections,
    );
    const httpAt = await load(
      Array.from({ length: 1000 }, (_, i) => plain(i + 2000)),
      sweepSeconds,
      '/v1/quota/check',
      connections,
    );
    byConnections.push({ connections, graphql, http: httpAt });
  }

  /**
   * After one recordUsage pushes a team past its budget's `at 110% block` step, how long
   * until checkQuota blocks another member, while other clients keep ingesting: recordUsage
   * batches of 1,000 events from 2 connections, as the api bench drives it. Five teams, one
   * after the other; each delay runs from the spike's acknowledgement to the first block.
   */
  async function blockPropagation() {
    const record = `mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }`;
    const post = (rows: unknown[]) =>
      fetch(`${base}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: record, variables: { rows } }),
      }).then((r) => r.json() as Promise<{ data?: { recordUsage?: { accepted?: number } } }>);
    let ingesting = true;
    let ingested = 0;
    let seq = 0;
    const run = `${Date.now().toString(36)}`;
    const driver = async () => {
      while (ingesting) {
        const now = new Date().toISOString();
        const rows = Array.from({ length: 1000 }, () => {
          seq++;
          return {
            id: `load-${run}-${seq}`,
            ts: now,
            person: `person-${(seq * 7_919) % PEOPLE}`,
            model: 'gpt-4o-mini',
            inputTokens: 400 + (seq % 900),
            outputTokens: 100 + (seq % 300),
          };
        });
        ingested += (await post(rows)).data?.recordUsage?.accepted ?? 0;
      }
    };
    const drivers = [driver(), driver()];
    const loadStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const decisionOf = async (person: string) => {
      const answer = (await (
        await fetch(`${base}/v1/quota/check`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ person, model: 'gpt-4o-mini', estimatedTokens: 100 }),
        })
      ).json()) as { decision: string; binding?: { kind: string } | null };
      return answer;
    };
    const delays: number[] = [];
    let timedOut = 0;
    let alreadyBlocked = 0;
    try {
      // five teams whose budget has not blocked yet (the seed puts some past the step)
      for (let team = 0; team < TEAMS && delays.length < 5; team++) {
        const spender = `person-${team}`;
        const watched = `person-${team + TEAMS}`; // same team (ids are assigned modulo TEAMS)
        const before = await decisionOf(watched);
        if (before.decision === 'block') {
          alreadyBlocked++;
          continue;
        }
        const spike = await post([
          {
            id: `spike-${run}-${team}`,
            ts: new Date().toISOString(),
            person: spender,
            model: 'claude-opus-4-1',
            inputTokens: 1_000_000_000,
            outputTokens: 0,
          },
        ]);
        if (spike.data?.recordUsage?.accepted !== 1)
          throw new Error(`spike not accepted: ${JSON.stringify(spike)}`);
        const acknowledged = performance.now();
        let blocked = false;
        while (!blocked && performance.now() - acknowledged < PROPAGATION_TIMEOUT_MS) {
          const answer = await decisionOf(watched);
          blocked = answer.decision === 'block' && answer.binding?.kind === 'budget';
          if (!blocked) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        // a team that never blocked within the timeout counts as the timeout (and misses)
        delays.push(Math.round(performance.now() - acknowledged));
        if (!blocked) timedOut++;
      }
    } finally {
      ingesting = false;
      await Promise.allSettled(drivers);
    }
    const seconds = (performance.now() - loadStarted) / 1000;
    const sorted = [...delays].sort((a, b) => a - b);
    return {
      delaysMs: delays,
      medianMs: sorted[Math.floor(sorted.length / 2)] ?? null,
      maxMs: sorted.at(-1) ?? null,
      ingestEventsPerSecond: Math.round(ingested / seconds),
      timedOut,
      alreadyBlocked,
      timeoutMs: PROPAGATION_TIMEOUT_MS,
      meetsTarget: sorted.length === 5 && timedOut === 0 && (sorted.at(-1) ?? Infinity) <= 1000,
    };
  }

  const meets = (l: Load) => l.rps >= 2000 && l.p99 < 10 && l.errors === 0 && l.non2xx === 0;
  const figures = {
    bench: 'quota',
    people: PEOPLE,
    events: EVENTS,
    rollupRows: rollups,
    connections: CONNECTIONS,
    seconds: SECONDS,
    requests: quota.requests,
    requestsPerSecond: quota.rps,
    p50Ms: quota.p50,
    p95Ms: quota.p95,
    p99Ms: quota.p99,
    maxMs: quota.max,
    errors: quota.errors,
    non2xx: quota.non2xx,
    graphqlMeetsTargets: meets(quota),
    http: { path: '/v1/quota/check', ...http, meetsTargets: meets(http) },
    viewerFloor: floor,
    noop: { path: '/v1/whoami', ...noop },
    httpToNoop: Math.round((http.rps / Math.max(noop.rps, 1)) * 100) / 100,
    httpToNoopByRound: roundRatios,
    quietWaitMs,
    blockPropagation: { ...propagation, quotaCache },
    checksFromMemory: fromMemory,
    budgetPass,
    byConnections,
    ratioToFloor: Math.round((quota.rps / Math.max(floor.rps, 1)) * 100) / 100,
    loadAverage: loadavg().map((x) => Math.round(x * 10) / 10),
    cpus: cpus().length,
    firstSweep: sweep,
    targets: { requestsPerSecond: 2000, p99Ms: 10, httpToNoop: 0.6, blockPropagationMs: 1000 },
  };

  const row = (name: string, l: Load) =>
    `  ${name.padEnd(22)} ${String(l.rps).padStart(7)} ${String(l.p50).padStart(8)} ${String(l.p95).padStart(8)} ${String(l.p99).padStart(8)} ${`${l.errors}/${l.non2xx}`.padStart(8)} ${String(l.stallMs).padStart(8)} ${String(l.cpuUsPerRequest ?? '-').padStart(10)}`;
  console.log('');
  console.log(
    `checkQuota over HTTP: ${PEOPLE.toLocaleString('en')} people, ${EVENTS.toLocaleString('en')} events (${rollups.toLocaleString('en')} rollup rows), real server with workers on`,
  );
  console.log(
    `  ${CONNECTIONS} connections, ${SECONDS} s each; ${figures.cpus} CPUs, load average ${figures.loadAverage.join(' ')}`,
  );
  console.log(
    `  ${'query'.padEnd(22)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'err/non2xx'.padStart(8)} ${'stall ms'.padStart(8)} ${'cpu us/req'.padStart(10)}`,
  );
  console.log(row('checkQuota (GraphQL)', quota));
  console.log(row('POST /v1/quota/check', http));
  console.log(row('viewer (floor)', floor));
  console.log(row('GET /v1/whoami (no-op)', noop));
  const verdict = (l: Load) => (meets(l) ? 'meets' : 'misses');
  console.log(
    `  targets ≥ 2,000 req/s and p99 < 10 ms: GraphQL ${verdict(quota)}, plain HTTP ${verdict(http)}; checkQuota / floor req/s: ${figures.ratioToFloor}; plain / no-op req/s: ${figures.httpToNoop} (target ≥ 0.6; by round ${roundRatios.join(', ')})`,
  );
  console.log(
    `  block propagation under ingest (${propagation.ingestEventsPerSecond.toLocaleString('en')} events/s): ${propagation.delaysMs.join(', ')} ms; max ${propagation.maxMs} ms (target ≤ 1,000 ms; ${propagation.alreadyBlocked} teams skipped, blocked by the seed); ${budgetPass.count} budget passes meanwhile, mean ${budgetPass.meanMs} ms`,
  );
  console.log(
    quotaCache.maxStalenessMs > 0
      ? `  quota cache on: refresh every ${quotaCache.refreshMs} ms, answers from memory while the last refresh is under ${quotaCache.maxStalenessMs} ms old (both inside the delays above); checks answered from memory under load: ${fromMemory === null ? 'n/a' : `${Math.round(fromMemory * 1000) / 10}%`}`
      : '  quota cache off (QUOTIENT_QUOTA_CACHE_STALENESS_MS=0): every check reads the database',
  );
  if (byConnections.length > 0) {
    console.log(`  other connection counts (${sweepSeconds} s each):`);
    for (const at of byConnections) {
      console.log(row(`${at.connections} conn, GraphQL`, at.graphql));
      console.log(row(`${at.connections} conn, plain`, at.http));
    }
  }
  console.log(JSON.stringify(figures));
} finally {
  if (child) {
    child.kill('SIGTERM');
    await once(child, 'exit').catch(() => {});
  }
  const cleanup = new pg.Client({ connectionString: serverUrl });
  await cleanup.connect();
  if (keep) console.error(`kept database ${dbName}: rerun with BENCH_DB=${dbName}`);
  else await cleanup.query(`drop database if exists ${dbName} with (force)`);
  await cleanup.end();
}
