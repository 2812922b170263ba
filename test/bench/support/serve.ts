// `quotient serve` on a bench's database, as the API benches start it.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/** A production server on a free port; its banner (with the URL) comes on stdout. */
export function spawnServe(databaseUrl: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      // e.g. BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server
      ...(process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean),
      join(import.meta.dirname, '../../../src/cli.ts'),
      'serve',
      '--port',
      '0',
      '--no-seed',
    ],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        // capacity, not the per-key limit (1,000/s by default), is what is measured
        QUOTIENT_RATE_LIMIT_PER_SECOND: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
}

/**
 * Starts the server and resolves with its base URL once the banner names it. Its output is
 * read on (a full pipe would stall it) and kept in BENCH_SERVER_STDOUT=<file> when set
 * (with --trace-gc in BENCH_SERVER_FLAGS: its heap).
 */
export async function startServe(
  databaseUrl: string,
): Promise<{ child: ChildProcess; base: string }> {
  const child = spawnServe(databaseUrl);
  const keep = process.env.BENCH_SERVER_STDOUT;
  let banner = '';
  let started = false;
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (keep) appendFileSync(keep, chunk);
      if (started) return;
      banner += chunk.toString();
      const match = /Quotient API at (\S+)\/graphql/.exec(banner);
      if (match) {
        started = true;
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${banner}`)));
  });
  return { child, base };
}
