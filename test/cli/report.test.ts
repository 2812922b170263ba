// The real `quotient report spend` on a seeded demo database (embedded, or DATABASE_URL):
// CSV, table and JSON agree, every cost is an exact decimal, and the CSV's rows add up to
// the month's stored cost to the last digit; roll-up rows are marked; bad input is named.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalToPico, picoToDecimal } from '../../src/policy/price.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
let db: TestDatabase;

function quotient(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [join(root, 'src', 'cli.ts'), ...args, '--data-dir', db.dataDir],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...db.env } },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The month before today's, in UTC (the seed's policy timezone is Europe/London; checked below). */
let month = '';
let stored = '';
beforeAll(async () => {
  db = await createTestDatabase();
  const seeded = quotient('seed', '--people', '40', '--teams', '6', '--days', '70');
  expect(seeded.code, seeded.err).toBe(0);
  const store = await db.open();
  try {
    const [row] = await store.query<{ month: string; from: string; to: string }>(
      `select to_char(date_trunc('month', max(day)) - interval '1 month', 'YYYY-MM') as month from daily_rollups`,
    );
    month = row.month;
    const [sum] = await store.query<{ cost: string }>(
      `select coalesce(sum(cost), 0)::text as cost from daily_rollups
        where day >= ($1 || '-01')::date and day < ($1 || '-01')::date + interval '1 month' and model <> ''`,
      [month],
    );
    stored = sum.cost;
  } finally {
    await store.close();
  }
}, 240_000);
afterAll(async () => {
  await db?.drop();
});

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split('\r\n');
  const names = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

describe('quotient report spend', () => {
  it('exports spend by cost centre and model as CSV adding up to the stored cost', () => {
    const r = quotient(
      'report',
      'spend',
      '--by',
      'cost_center,model',
      '--period',
      month,
      '--format',
      'csv',
    );
    expect(r.code, r.err).toBe(0);
    const header = r.out.split('\r\n')[0];
    expect(header).toBe(
      'cost_center,model,rollup_of,people,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,tokens,requests,unpriced_requests,cost,currency',
    );
    const rows = parseCsv(r.out);
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) {
      expect(row.cost_center).toMatch(/^CC-\d+$/);
      expect(row.cost).toMatch(/^\d+(\.\d+)?$/);
      expect(row.currency).toBe('USD');
      expect(Number(row.tokens)).toBe(
        Number(row.input_tokens) +
          Number(row.output_tokens) +
          Number(row.cache_read_tokens) +
          Number(row.cache_write_tokens),
      );
    }
    const total = rows.reduce((sum, row) => sum + decimalToPico(row.cost), 0n);
    expect(picoToDecimal(total)).toBe(picoToDecimal(decimalToPico(stored)));
    // progress and the total on standard error
    expect(r.err).toContain(`reading spend for ${month} by cost_center, model`);
    expect(r.err).toContain(`total ${picoToDecimal(decimalToPico(stored))}`);
  }, 120_000);

  it('rolls teams up in CSV, and prints a table and JSON with the same total', () => {
    const csv = parseCsv(
      quotient(
        'report',
        'spend',
        '--by',
        'team',
        '--rollup',
        '--period',
        month,
        '--format',
        'csv',
        '--quiet',
      ).out,
    );
    const own = csv.filter((r) => r.rollup_of === '');
    const rolled = csv.filter((r) => r.rollup_of !== '');
    expect(rolled.length).toBeGreaterThan(0);
    // a parent's roll-up is at least its own usage
    for (const r of rolled) {
      const mine = own.find((o) => o.team === r.team);
      expect(decimalToPico(r.cost) >= decimalToPico(mine?.cost ?? '0')).toBe(true);
    }
    const json = JSON.parse(
      quotient('report', 'spend', '--by', 'team', '--period', month, '--format', 'json', '--quiet')
        .out,
    );
    expect(json.total.cost).toBe(
      picoToDecimal(own.reduce((s, r) => s + decimalToPico(r.cost), 0n)),
    );
    const table = quotient('report', 'spend', '--by', 'team', '--period', month, '--quiet').out;
    expect(table.split('\n')[0]).toMatch(
      /^team\s+rollup\s+people\s+tokens\s+requests\s+cost \(USD\)$/,
    );
    expect(table).toMatch(new RegExp(`^TOTAL\\s+.*${json.total.cost.replace('.', '\\.')}$`, 'm'));
  }, 120_000);

  it('names bad input', () => {
    const dimension = quotient('report', 'spend', '--by', 'cost_center,colour');
    expect(dimension.code).toBe(2);
    expect(dimension.err).toContain('--by: unknown dimension "colour"');
    const period = quotient('report', 'spend', '--by', 'team', '--period', '2026-13');
    expect(period.code).not.toBe(0);
    expect(period.err).toContain('period: unknown window "2026-13"');
  }, 60_000);
});
