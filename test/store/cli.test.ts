// The real `quotient import` / `retention` / `migrate` commands in child processes:
// re-running adds nothing, and a run killed after its first committed chunk followed by a
// re-run ends with exactly the totals of one clean run.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eventSums, FIXTURES, rollupSums } from './helpers.ts';

const CLI = join(import.meta.dirname, 'store-cli.ts');
const ROWS = 30_000;

function childEnv(db: TestDatabase): NodeJS.ProcessEnv {
  const env = { ...process.env, ...db.env };
  if (!db.env.DATABASE_URL) delete env.DATABASE_URL;
  return env;
}

function start(db: TestDatabase, args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args, '--data-dir', db.dataDir], { env: childEnv(db) });
}

function run(
  db: TestDatabase,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(db, args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

let db: TestDatabase;
let file: string;
let expectedInput = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'quotient-import-'));
  file = join(dir, 'usage.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const input = (i * 37) % 5000;
    expectedInput += input;
    const day = 1 + (i % 50);
    const ts = new Date(Date.UTC(2026, 8, day, i % 24, i % 60)).toISOString();
    lines.push(
      JSON.stringify({
        type: 'usage',
        id: `k-${i}`,
        ts,
        person: `p${i % 97}@acme.test`,
        model: 'gpt-4o-mini',
        input_tokens: input,
        output_tokens: 10,
      }),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await db?.drop();
});

describe('quotient import', () => {
  it('killed after its first chunk commits, then re-run, ends with exactly one clean run', async () => {
    const child = start(db, ['import', file, '--chunk-size', '1000', '--chunk-log']);
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (d) => {
        stderr += d;
        if (stderr.includes('chunk committed') && !child.killed) child.kill('SIGKILL');
      });
      child.on('close', () => resolve());
    });
    expect(stderr).toContain('chunk committed');

    const rerun = await run(db, ['import', file, '--chunk-size', '1000', '--json']);
    expect(rerun.code).toBe(0);
    const second = JSON.parse(rerun.stdout);
    expect(second.accepted + second.duplicates).toBe(ROWS);
    expect(second.duplicates).toBeGreaterThanOrEqual(1000);
    expect(second.rejected).toBe(0);

    const again = JSON.parse((await run(db, ['import', file, '--json'])).stdout);
    expect(again).toMatchObject({ accepted: 0, duplicates: ROWS, rejected: 0 });

    const store = await db.open();
    try {
      const events = await eventSums(store);
      expect(events).toMatchObject({
        events: ROWS,
        input: expectedInput,
        output: 10 * ROWS,
        requests: ROWS,
      });
      expect(await rollupSums(store)).toEqual(events);
    } finally {
      await store.close();
    }
  });

  it('prints a summary with the first rejected lines, and the same totals twice', async () => {
    const first = await run(db, ['import', join(FIXTURES, 'native.jsonl'), '--format', 'native']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/accepted +15\n/);
    expect(first.stdout).toMatch(/duplicates +1\n/);
    expect(first.stdout).toMatch(/rejected +9\n/);
    expect(first.stdout).toContain('native.jsonl line 19: person: is required');
    const second = await run(db, ['import', join(FIXTURES, 'native.jsonl'), '--strict']);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/accepted +5\n/); // the 5 directory rows are upserts
    expect(second.stdout).toMatch(/duplicates +11\n/);
  });

  it('rejects an unknown format as a usage error', async () => {
    const result = await run(db, ['import', file, '--format', 'xml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Allowed choices are native, csv, otlp/);
  });
});

describe('quotient migrate and retention', () => {
  it('migrate reports an up-to-date database', async () => {
    const result = await run(db, ['migrate']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('database is up to date');
  });

  it('retention --dry-run lists old partitions; a bad --keep is a usage error', async () => {
    const dry = await run(db, ['retention', '--keep', '1mo', '--dry-run']);
    expect(dry.stdout).toContain('would drop usage_events_2026_09');
    const bad = await run(db, ['retention', '--keep', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--keep expects a duration like 13mo');
  });
});
