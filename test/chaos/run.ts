// npm run chaos: faults against real processes, then totals compared with a clean run
// (issue 15). Loopback only, bounded in time (CHAOS_TIMEOUT_MS, default 6 minutes). A
// private PostgreSQL 15 is made with initdb in a temp directory on a free port, so the
// machine's own server is not touched. Steps on the chaos database:
//   1. `quotient import` killed (SIGKILL) after its first committed chunk, then run again;
//   2. `quotient serve` killed mid-write while a client sends recordUsage batches, started
//      again, and every batch sent again (ids make that idempotent);
//   3. the database stalled (SIGSTOP of its processes): the API must answer 503 with
//      Retry-After within a bound, and recover by itself after SIGCONT;
//   4. the database restarted (pg_ctl restart) under an import, which is then run again.
// The clean database gets the same rows by plain imports. Prints a table and, last, one
// JSON line; exits 1 when a total differs.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const CLI = join(import.meta.dirname, '../../src/cli.ts');
const LIMIT_MS = Number(process.env.CHAOS_TIMEOUT_MS ?? 360_000);
const started = Date.now();
const deadline = setTimeout(() => {
  console.error(`chaos: over ${LIMIT_MS} ms, stopping`);
  void cleanup().then(() => process.exit(2));
}, LIMIT_MS);

const work = mkdtempSync(join(tmpdir(), 'quotient-chaos-'));
const pgdata = join(work, 'pgdata');
const children = new Set<ChildProcess>();
let pgPort = 0;
let pgStarted = false;
const asRoot = process.getuid?.() === 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A PostgreSQL binary, as the postgres user when this runs as root (initdb refuses root). */
function pgTool(tool: string, args: string[]) {
  const command = asRoot ? 'runuser' : join(BIN, tool);
  const full = asRoot ? ['-u', 'postgres', '--', join(BIN, tool), ...args] : args;
  return execFileSync(command, full, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

function pgCtl(action: 'start' | 'stop' | 'restart') {
  const options = `-p ${pgPort} -k ${work} -c listen_addresses=127.0.0.1 -c fsync=off`;
  pgTool('pg_ctl', [
    '-D',
    pgdata,
    '-l',
    join(work, 'pg.log'),
    '-o',
    options,
    '-w',
    '-m',
    'fast',
    action,
  ]);
}

const url = (db: string) => `postgres://postgres@127.0.0.1:${pgPort}/${db}`;

type Run = { code: number | null; stdout: string; stderr: string };

function cli(
  args: string[],
  db: string,
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      DATABASE_URL: url(db),
      QUOTIENT_DB_STATEMENT_TIMEOUT_MS: '3000',
      QUOTIENT_DB_CONNECT_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'warn',
    },
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    onStderr?.(String(d), child);
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
}

function usageRow(prefix: string, i: number) {
  return {
    type: 'usage',
    id: `${prefix}-${i}`,
    ts: new Date(Date.UTC(2026, 9, 1 + (i % 28), i % 24, i % 60)).toISOString(),
    person: `p${i % 173}@chaos.test`,
    team: `t${i % 11}`,
    model: ['claude-sonnet-4-5', 'gpt-4o-mini', 'claude-opus-4-1'][i % 3],
    input_tokens: (i * 37) % 4000,
    output_tokens: (i * 11) % 900,
    project: `proj-${i % 7}`,
  };
}

function writeRows(file: string, rows: object[]) {
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}

async function totals(db: string) {
  const client = new pg.Client({ connectionString: url(db) });
  await client.connect();
  try {
    const [events] = (
      await client.query(
        `select count(*)::int as events, coalesce(sum(input_tokens), 0)::text as input,
                coalesce(sum(output_tokens), 0)::text as output, coalesce(sum(cost), 0)::numeric(28, 12)::text as cost
           from usage_events`,
      )
    ).rows;
    const [rollups] = (
      await client.query(
        `select coalesce(sum(requests), 0)::int as events, coalesce(sum(input_tokens), 0)::text as input,
                coalesce(sum(output_tokens), 0)::text as output, coalesce(sum(cost), 0)::numeric(28, 12)::text as cost
           from daily_rollups where model <> ''`,
      )
    ).rows;
    const [people] = (await client.query('select count(*)::int as n from people')).rows;
    return { events, rollups, people: people.n };
  } finally {
    await client.end();
  }
}

function postmasterPids(): number[] {
  const postmaster = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

async function api(base: string, key: string, path: string, body: unknown) {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      ms: performance.now() - t0,
      text,
    };
  } catch (error) {
    return { status: 0, retryAfter: null, ms: performance.now() - t0, text: String(error) };
  }
}

const recordUsage = (rows: ReturnType<typeof usageRow>[]) => ({
  query: `mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted duplicates rejected } } }`,
  variables: {
    rows: rows.map((r) => ({
      id: r.id,
      ts: r.ts,
      person: r.person,
      team: r.team,
      model: r.model,
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      project: r.project,
    })),
  },
});

async function startServe(db: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--no-seed'], {
    env: {
      ...process.env,
      DATABASE_URL: url(db),
      QUOTIENT_DB_STATEMENT_TIMEOUT_MS: '3000',
      QUOTIENT_DB_CONNECT_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.add(child);
  child.on('close', () => children.delete(child));
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('quotient serve did not start');
}

async function waitReady(base: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      const res = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(10_000) });
      if (res.ok) return performance.now() - t0;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  if (pgStarted) {
    try {
      for (const pid of postmasterPids()) process.kill(pid, 'SIGCONT');
    } catch {}
    try {
      pgCtl('stop');
    } catch {}
  }
  rmSync(work, { recursive: true, force: true });
}

const figures: Record<string, unknown> = {};
try {
  // ---- a private PostgreSQL ----
  pgPort = await freePort();
  if (asRoot) execFileSync('chown', ['postgres:postgres', work]);
  pgTool('initdb', ['-D', pgdata, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  pgCtl('start');
  pgStarted = true;
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  await admin.query('create database clean');
  await admin.query('create database chaos');
  await admin.end();

  // ---- the input ----
  const fileA = join(work, 'a.jsonl');
  const fileB = join(work, 'b.jsonl');
  const fileC = join(work, 'c.jsonl');
  const rowsA = Array.from({ length: 30_000 }, (_, i) => usageRow('a', i));
  const rowsB = Array.from({ length: 6_000 }, (_, i) => usageRow('b', i));
  const rowsC = Array.from({ length: 20_000 }, (_, i) => usageRow('c', i));
  writeRows(fileA, [...rowsA, ...rowsA.slice(0, 500)]); // 500 duplicates
  writeRows(fileB, rowsB);
  writeRows(fileC, rowsC);

  // ---- the clean run ----
  for (const db of ['clean', 'chaos']) {
    const migrated = await cli(['migrate'], db);
    if (migrated.code !== 0) throw new Error(`migrate ${db}: ${migrated.stderr}`);
  }
  for (const file of [fileA, fileB, fileC]) {
    const run = await cli(['import', file, '--chunk-size', '1000'], 'clean');
    if (run.code !== 0) throw new Error(`clean import of ${file}: ${run.stderr}`);
  }

  // ---- 1. the importer killed after its first committed chunk ----
  let killedAfter = '';
  const killed = await cli(
    ['import', fileA, '--chunk-size', '1000', '--chunk-log'],
    'chaos',
    (text, child) => {
      if (!killedAfter && text.includes('chunk committed')) {
        killedAfter = text.trim().split('\n')[0];
        child.kill('SIGKILL');
      }
    },
  );
  const afterKill = await totals('chaos');
  const rerunA = await cli(['import', fileA, '--chunk-size', '1000', '--json'], 'chaos');
  figures.importKilled = {
    signal: killed.code === null ? 'SIGKILL' : `exit ${killed.code}`,
    eventsStoredWhenKilled: afterKill.events.events,
    rerun: JSON.parse(rerunA.stdout.trim().split('\n').pop() ?? '{}'),
  };

  // ---- 2. the server killed mid-write ----
  const created = await cli(
    ['keys', 'create', '--role', 'ingest', '--name', 'chaos', '--json'],
    'chaos',
  );
  const key = JSON.parse(created.stdout).key as string;
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  let server = await startServe('chaos', apiPort);
  const batches = Array.from({ length: 60 }, (_, i) => rowsB.slice(i * 100, i * 100 + 100));
  let sentBeforeKill = 0;
  const sending = (async () => {
    for (const batch of batches) {
      const res = await api(base, key, '/graphql', recordUsage(batch));
      if (res.status !== 200) break;
      sentBeforeKill++;
    }
  })();
  while (sentBeforeKill < 20) await new Promise((r) => setTimeout(r, 20));
  server.kill('SIGKILL');
  await sending;
  const afterServerKill = await totals('chaos');
  server = await startServe('chaos', apiPort);
  let resent = 0;
  for (const batch of batches) {
    const res = await api(base, key, '/graphql', recordUsage(batch));
    if (res.status !== 200) throw new Error(`resend failed: ${res.status} ${res.text}`);
    resent++;
  }
  figures.serverKilled = {
    batchesAnsweredBeforeKill: sentBeforeKill,
    eventsStoredWhenKilled:
      afterServerKill.events.events - (afterKill.events.events > 0 ? 30_000 : 0),
    batchesResent: resent,
  };

  // ---- 3. the database stalled ----
  const stalled = postmasterPids();
  for (const pid of stalled) process.kill(pid, 'SIGSTOP');
  const [write, check, ready] = await Promise.all([
    api(base, key, '/graphql', recordUsage(batches[0])),
    api(base, key, '/v1/quota/check', {
      person: 'p1@chaos.test',
      model: 'gpt-4o-mini',
      estimatedTokens: 10,
    }),
    fetch(`${base}/ready`).then(
      (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after') }),
      () => ({ status: 0, retryAfter: null }),
    ),
  ]);
  for (const pid of stalled) process.kill(pid, 'SIGCONT');
  const recoveredMs = await waitReady(base);
  const afterStall = await api(base, key, '/graphql', recordUsage(batches[1]));
  figures.stall = {
    recordUsage: { status: write.status, retryAfter: write.retryAfter, ms: Math.round(write.ms) },
    quotaCheck: { status: check.status, retryAfter: check.retryAfter, ms: Math.round(check.ms) },
    ready,
    readyAgainMs: Math.round(recoveredMs),
    writeAfterStall: afterStall.status,
  };

  // ---- 4. the database restarted under an import ----
  let restartedAfter = '';
  const restarting = cli(
    ['import', fileC, '--chunk-size', '1000', '--chunk-log', '--json'],
    'chaos',
    (text) => {
      if (!restartedAfter && text.includes('chunk committed')) {
        restartedAfter = text.trim().split('\n')[0];
        pgCtl('restart');
      }
    },
  );
  const interrupted = await restarting;
  const rerunC = await cli(['import', fileC, '--chunk-size', '1000', '--json'], 'chaos');
  figures.restart = {
    interruptedImportExit: interrupted.code,
    rerunExit: rerunC.code,
    rerun: JSON.parse(rerunC.stdout.trim().split('\n').pop() ?? '{}'),
  };
  server.kill('SIGKILL');

  // ---- the comparison ----
  const clean = await totals('clean');
  const chaos = await totals('chaos');
  const same = JSON.stringify(clean) === JSON.stringify(chaos);
  const rollupsMatch = JSON.stringify(chaos.events) === JSON.stringify(chaos.rollups);
  figures.clean = clean;
  figures.chaos = chaos;
  figures.totalsEqual = same;
  figures.rollupsEqualEvents = rollupsMatch;
  figures.seconds = Math.round((Date.now() - started) / 1000);
  const stallOk =
    write.status === 503 &&
    write.retryAfter !== null &&
    check.status === 503 &&
    check.retryAfter !== null;
  figures.stallAnswered503 = stallOk;
  console.log('chaos run (loopback, private PostgreSQL 15)');
  console.log(
    `  import killed after "${killedAfter}", re-run: accepted ${figures.importKilled && (figures.importKilled as { rerun: { accepted?: number } }).rerun.accepted}`,
  );
  console.log(`  server killed after ${sentBeforeKill} answered batches; all 60 sent again`);
  console.log(
    `  stalled database: recordUsage ${write.status} in ${Math.round(write.ms)} ms, quota check ${check.status} in ${Math.round(check.ms)} ms; ready again ${Math.round(recoveredMs)} ms after SIGCONT`,
  );
  console.log(
    `  database restarted after "${restartedAfter}": import exit ${interrupted.code}, re-run exit ${rerunC.code}`,
  );
  console.log(`  clean: ${JSON.stringify(clean)}`);
  console.log(`  chaos: ${JSON.stringify(chaos)}`);
  console.log(
    `  totals equal: ${same}; rollups equal events: ${rollupsMatch}; stall answered 503: ${stallOk}`,
  );
  console.log(JSON.stringify(figures));
  process.exitCode = same && rollupsMatch && stallOk ? 0 : 1;
} catch (error) {
  console.error(`chaos: ${(error as Error).message}`);
  process.exitCode = 2;
} finally {
  clearTimeout(deadline);
  await cleanup();
}
