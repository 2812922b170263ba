// The command line beside a running server (issue 15, item 7): while another process owns
// the embedded data directory, every database command stops with one plain sentence that
// says what to do, and no stack trace.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
const FIXTURE = join(import.meta.dirname, '../fixtures/ingest/native.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'quotient-beside-'));
let owner: Store | undefined;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [CLI, ...args, '--data-dir', dir], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe.skipIf(!!process.env.DATABASE_URL)(
  'database commands while a server owns the data dir',
  () => {
    beforeAll(async () => {
      // this test process stands in for `quotient serve`: it holds the embedded database open
      owner = await openStore({ databaseUrl: '', dataDir: dir, migrate: true });
    });
    afterAll(async () => {
      await owner?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const args of [
      ['import', FIXTURE],
      ['migrate'],
      ['seed', '--people', '5'],
      ['keys', 'list'],
      ['webhooks', 'list'],
      ['policy', 'log'],
    ]) {
      it(`quotient ${args.join(' ')} stops with one sentence`, async () => {
        const result = await run(args);
        expect(result.code).not.toBe(0);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        const lines = result.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.includes('reading as'));
        expect(lines).toEqual([
          expect.stringMatching(
            new RegExp(
              `^error: the embedded database in .+ is in use by process ${process.pid} .*stop that process and run this again`,
            ),
          ),
        ]);
      });
    }
  },
);
