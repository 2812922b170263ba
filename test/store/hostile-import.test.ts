// `quotient import` on hostile files (issue 15, item 2): every bad line is reported, the
// summary is printed, no stack trace, and the exit code says whether anything was taken in.
// The corpus is test/fixtures/hostile/ (see its README); the two big files are written here.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FIXTURES } from './helpers.ts';

const CLI = join(import.meta.dirname, 'store-cli.ts');
const HOSTILE = join(import.meta.dirname, '../fixtures/hostile');

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'quotient-hostile-'));
});
afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Run = { code: number | null; stdout: string; stderr: string };

function run(args: string[]): Promise<Run> {
  const env = { ...process.env, ...db.env };
  if (!db.env.DATABASE_URL) delete env.DATABASE_URL;
  const child = spawn(process.execPath, [CLI, ...args, '--data-dir', db.dataDir], { env });
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

const usage = (id: string) =>
  JSON.stringify({
    type: 'usage',
    id,
    ts: '2026-10-10T10:00:00Z',
    person: 'ana@acme.test',
    model: 'gpt-4o-mini',
    input_tokens: 10,
  });

function expectSummary(result: Run, totals: { rows: number; accepted: number; rejected: number }) {
  const output = result.stdout + result.stderr;
  expect(output).not.toMatch(/^\s+at /m); // no stack trace
  expect(result.stdout).toMatch(new RegExp(`rows +${totals.rows}\\n`));
  expect(result.stdout).toMatch(new RegExp(`accepted +${totals.accepted}\\n`));
  expect(result.stdout).toMatch(new RegExp(`rejected +${totals.rejected}\\n`));
}

describe('quotient import on hostile input', () => {
  it('reports a 50,000-deep JSON line and finishes', async () => {
    const file = join(dir, 'deep.jsonl');
    const deepAttributes = `{"type":"person","person":"deep@acme.test","attributes":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
    const deepArray = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const deepField = `{"type":"outcome","id":"o-1","ts":"2026-10-10T10:00:00Z","person":"ana@acme.test","outcome":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    writeFileSync(
      file,
      [usage('d-1'), deepAttributes, deepArray, deepField, usage('d-2')].join('\n'),
    );
    const result = await run(['import', file]);
    expectSummary(result, { rows: 5, accepted: 2, rejected: 3 });
    expect(result.stdout).toMatch(/line 2: attributes(\.a)+: nested more than 8 levels deep/);
    expect(result.stdout).toContain('line 3: expected a JSON object');
    expect(result.stdout).toMatch(/line 4: outcome: /);
    expect(result.code).toBe(0);
  });

  it('skips and reports a 10 MB line; the lines around it land', async () => {
    const file = join(dir, 'huge.jsonl');
    const huge = JSON.stringify({ ...JSON.parse(usage('h-2')), project: 'x'.repeat(10_000_000) });
    writeFileSync(file, [usage('h-1'), huge, usage('h-3')].join('\n'));
    const result = await run(['import', file]);
    expectSummary(result, { rows: 3, accepted: 2, rejected: 1 });
    expect(result.stdout).toContain('line 2: the line is longer than 1048576 bytes; skipped');
    expect(result.code).toBe(0);
  });

  it('reads a CSV with an unclosed quote up to the quote, and reports the rest', async () => {
    const result = await run(['import', join(HOSTILE, 'unclosed-quote.csv')]);
    expectSummary(result, { rows: 3, accepted: 2, rejected: 1 });
    // the line the quote opens on (the parser itself names the file's last line)
    expect(result.stdout).toContain(
      'unclosed-quote.csv line 4: unreadable CSV: a quote opened on this line never closes (lines 4 to 5 are inside it, and were skipped)',
    );
  });

  it('rejects a CSV row with an extra column or a missing one', async () => {
    const result = await run(['import', join(HOSTILE, 'extra-column.csv')]);
    expectSummary(result, { rows: 4, accepted: 2, rejected: 2 });
    expect(result.stdout).toContain('line 3: the row has 7 fields but the header has 6 columns');
    expect(result.stdout).toContain('line 4: the row has 5 fields but the header has 6 columns');
  });

  it('rejects bytes that are not UTF-8, in CSV fields and JSON lines', async () => {
    const csv = await run(['import', join(HOSTILE, 'bom-crlf.csv')]);
    expectSummary(csv, { rows: 2, accepted: 1, rejected: 1 });
    expect(csv.stdout).toContain('line 3: person: not valid UTF-8');
    const lines = await run([
      'import',
      join(HOSTILE, 'mixed.jsonl'),
      '--rejects',
      join(dir, 'rejects.jsonl'),
    ]);
    expectSummary(lines, { rows: 10, accepted: 2, rejected: 8 });
    for (const reason of [
      'line 2: not valid UTF-8',
      'line 3: person: contains a lone UTF-16 surrogate',
      'line 4: ts: no such date: "2026-02-30T10:00:00Z"',
      'line 5: project: contains a NUL character',
      'line 6: project: is 3000 bytes long',
      'line 7: input_tokens: must be',
      'line 8: unparsable JSON',
      'line 9: unparsable JSON',
    ])
      expect(lines.stdout).toContain(reason);
    // control characters of the input are escaped in the report
    expect([...lines.stdout].some((c) => c.charCodeAt(0) < 9)).toBe(false);
  });

  it('exits non-zero when nothing was accepted, after the summary', async () => {
    for (const [file, rows] of [
      ['garbage.bin', 5],
      ['empty.jsonl', 0],
      ['truncated-otlp.json', 1],
      ['null-spans-otlp.json', 1],
    ] as const) {
      const result = await run(['import', join(HOSTILE, file)]);
      expectSummary(result, { rows, accepted: 0, rejected: rows });
      expect(result.stderr).toMatch(/error: no row(s found| was accepted)/);
      expect(result.code).toBe(1);
    }
  });

  it('sniffs the format from the extension and the content when --format is absent', async () => {
    const csv = await run(['import', join(FIXTURES, 'native.csv')]);
    expect(csv.stderr).toContain('reading as csv (a .csv file)');
    expect(csv.stdout).toMatch(/accepted +4\n/);
    expect(csv.code).toBe(0);
    const otlp = await run(['import', join(FIXTURES, 'otlp.json')]);
    expect(otlp.stderr).toContain('reading as otlp');
    expect(otlp.code).toBe(0);
  });
});
