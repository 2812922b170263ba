// `npm run bench -- impact`: impact replay of policies/2026-q3.policy → 2026-q4.policy on
// 20,000 people × 90 days of rollups in a fresh database on the server at DATABASE_URL.
// The rollups are generated in SQL (deterministic, from hashtext), so loading is quick and
// the figures measure the replay: reading the window's facts, evaluating both versions,
// repricing (the pair changes a price) and comparing. Prints a table, then one JSON line.
//
// BENCH_PEOPLE and BENCH_DAYS override the sizes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { impactReplay } from '../../src/engine/impact.ts';
import type { UsageReader } from '../../src/engine/ports.ts';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import type { RuleSetIR } from '../../src/policy/ir.ts';
import { openStore } from '../../src/store/db.ts';
import { storeCostReader } from '../../src/store/impact-costs.ts';
import { usageReader } from '../../src/store/usage-reader.ts';

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 20_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 90);
const TEAMS = 50;
const LAST_DAY = '2026-11-22';
const NOW = new Date('2026-11-22T18:00:00Z');
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function policy(file: string): RuleSetIR {
  const a = analyzePolicy(readFileSync(join(root, 'policies', file), 'utf8'), file);
  if (!a.ir) throw new Error(`${file} does not compile`);
  return a.ir;
}

const started = performance.now();
const step = (what: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${what}`);

const dbName = `quotient_bench_impact_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
await admin.end();
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;

try {
  const store = await openStore({ databaseUrl: url.toString(), migrate: true });
  step(`fresh database ${dbName}`);
  await store.query(
    `insert into teams (id, name, sensitivity)
     select 't' || i, 'team ' || i, case when i % 17 = 0 then 'restricted' else 'normal' end
       from generate_series(0, $1 - 1) i`,
    [TEAMS],
  );
  await store.query(
    `insert into people (id, name, team_id, role, opted_in, from_directory)
     select 'p' || lpad(i::text, 6, '0') || '@bench.test', 'Person ' || i, 't' || (i % $2),
            (array['engineer', 'engineer', 'data-scientist', 'analyst', 'support-agent', 'designer'])[1 + i % 6],
            i % 3 <> 0, true
       from generate_series(1, $1) i`,
    [PEOPLE, TEAMS],
  );
  // about 70% of people are active on a given day, on one model each
  await store.query(
    `insert into daily_rollups (day, person_id, model, project, environment, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, cost, requests, tasks, accepted,
       rejected, reworked, redaction_failures, sensitive_flags)
     select day, person, model, '', 'production', input, output, cached, 0,
            (input * 3 + output * 15 + cached * 0.3) / 1000000.0, 1 + h % 40, tasks,
            tasks - tasks / 3 - tasks / 5, tasks / 3, tasks / 5,
            (h % 9973 = 0)::int, (h % 7919 = 0)::int
       from (
         select d::date as day, 'p' || lpad(i::text, 6, '0') || '@bench.test' as person,
                (array['claude-sonnet-4-5', 'gpt-4o', 'gpt-4o-mini', 'claude-haiku-4-5', 'claude-opus-4-1'])[1 + (i * 7 + extract(doy from d)::int) % 5] as model,
                abs(hashtext(i || '/' || d::date)) as h
           from generate_series(1, $1) i,
                generate_series(date '${LAST_DAY}' - ($2 - 1), date '${LAST_DAY}', interval '1 day') d
       ) g,
       lateral (select 1000 + h % 150000 as input, 200 + (h / 7) % 30000 as output,
                       (h / 13) % 20000 as cached, (h / 11) % 7 as tasks) v
      where h % 10 < 7`,
    [PEOPLE, DAYS],
  );
  const [{ rows }] = await store.query<{ rows: string }>(
    'select count(*)::text as rows from daily_rollups',
  );
  step(`${PEOPLE} people, ${DAYS} days: ${rows} rollup rows`);
  await store.query('analyze');

  const q3 = policy('2026-q3.policy');
  const q4 = policy('2026-q4.policy');
  // time spent in the database, per reader method (the rest is evaluation and comparison)
  const base = usageReader(store);
  const dbMs: Record<string, number> = {};
  const timed =
    <A extends unknown[], R>(name: string, f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const t = performance.now();
      try {
        return await f(...args);
      } finally {
        dbMs[name] = (dbMs[name] ?? 0) + performance.now() - t;
        if (process.env.BENCH_TRACE) step(`  ${name} ${(performance.now() - t).toFixed(0)} ms`);
      }
    };
  const reader: UsageReader = {
    directory: timed('directory', base.directory.bind(base)),
    sumFacts: timed('sumFacts', base.sumFacts.bind(base)),
    watermark: timed('watermark', base.watermark.bind(base)),
    usage: timed('usage', base.usage.bind(base)),
    teamBudgetCosts: timed('teamBudgetCosts', base.teamBudgetCosts.bind(base)),
    requestSizes: timed('requestSizes', base.requestSizes.bind(base)),
    teamDayFacts: timed('teamDayFacts', base.teamDayFacts.bind(base)),
  };
  const baseCosts = storeCostReader(store);
  const costs = { costSums: timed('costSums', baseCosts.costSums.bind(baseCosts)) };
  const runs: {
    window: string;
    ms: number;
    people: number;
    changed: number;
    tau: number | null;
  }[] = [];
  for (const window of ['2026-Q4', '2026-Q4', '2026-Q3']) {
    const t0 = performance.now();
    const report = await impactReplay({
      reader,
      costs,
      from: { ir: q3, label: '2026-q3.policy' },
      to: { ir: q4, label: '2026-q4.policy' },
      window,
      identity: (id) => ({ id, masked: false }),
      now: NOW,
    });
    const ms = performance.now() - t0;
    runs.push({
      window,
      ms,
      people: report.population.people,
      changed: report.tiers.changed,
      tau: report.leaderboards[0]?.kendallTau ?? null,
    });
    step(`replay ${window}: ${(ms / 1000).toFixed(2)} s`);
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  await store.close();

  console.log('');
  console.log('impact replay, 2026-q3.policy → 2026-q4.policy (real PostgreSQL server)');
  console.log(`  ${PEOPLE} people, ${TEAMS} teams, ${DAYS} days, ${rows} rollup rows`);
  console.log('');
  console.log('  window    run    wall time   people  tier changes  board tau-b');
  runs.forEach((r, i) => {
    console.log(
      `  ${r.window.padEnd(8)}  ${(i === 0 ? 'cold' : i === 1 ? 'warm' : 'other').padEnd(5)}  ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${String(r.people).padStart(7)}  ${String(r.changed).padStart(12)}  ${r.tau?.toFixed(3) ?? 'n/a'}`,
    );
  });
  console.log(`  peak RSS of the replaying process: ${peakRssMb.toFixed(0)} MB`);
  console.log('  target: under 10 s per replay');
  console.log(
    JSON.stringify({
      bench: 'impact',
      people: PEOPLE,
      days: DAYS,
      rollupRows: Number(rows),
      coldSeconds: Number((runs[0].ms / 1000).toFixed(3)),
      warmSeconds: Number((runs[1].ms / 1000).toFixed(3)),
      q3Seconds: Number((runs[2].ms / 1000).toFixed(3)),
      peakRssMb: Number(peakRssMb.toFixed(1)),
      targetSeconds: 10,
    }),
  );
} finally {
  const cleanup = new pg.Client({ connectionString: serverUrl });
  await cleanup.connect();
  await cleanup.query(`drop database if exists ${dbName} with (force)`);
  await cleanup.end();
}
