// `quotient serve` on a bench's database, as the API benches start it.
import { type ChildProcess, spawn } from 'node:child_process';
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
