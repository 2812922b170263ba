// `quotient report spend`: the chargeback report (src/app/spend.ts) on the command line, as
// a table, CSV or JSON. The local operator holds the data directory, so it reads as
// governance: every team, no suppression. Progress goes to standard error.
import type { Command } from 'commander';
import { apiEntities } from '../api/entities.ts';
import { auditFor } from '../app/audit.ts';
import { DomainError } from '../app/errors.ts';
import {
  SPEND_DIMENSIONS,
  type SpendDimension,
  type SpendFigures,
  type SpendReport,
  spendReportsFor,
} from '../app/spend.ts';
import { formatOption } from './output.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

const LOCAL = {
  keyId: 'local',
  name: 'quotient report',
  role: 'governance' as const,
  person: null,
};

type SpendFlags = StoreFlags & {
  by: string;
  period?: string;
  rollup?: boolean;
  quiet?: boolean;
  format: 'table' | 'csv' | 'json';
};

const FIGURES: [keyof SpendFigures, string][] = [
  ['people', 'people'],
  ['inputTokens', 'input_tokens'],
  ['outputTokens', 'output_tokens'],
  ['cacheReadTokens', 'cache_read_tokens'],
  ['cacheWriteTokens', 'cache_write_tokens'],
  ['tokens', 'tokens'],
  ['requests', 'requests'],
  ['unpricedRequests', 'unpriced_requests'],
  ['cost', 'cost'],
];

/** RFC 4180: quote fields holding a comma, quote or line break; a leading =+-@ is defused. */
function csvField(value: string): string {
  const text = /^[=+\-@]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV: one line per row, roll-ups marked in rollup_of; no total line (sums stay sums). */
export function spendCsv(report: SpendReport): string {
  const header = [...report.by, 'rollup_of', ...FIGURES.map(([, name]) => name), 'currency'];
  const lines = [header.join(',')];
  for (const row of report.rows) {
    lines.push(
      [
        ...report.by.map((d) => row.group[d] ?? ''),
        row.rollupOf === null ? '' : String(row.rollupOf),
        ...FIGURES.map(([key]) => String(row[key])),
        report.currency,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A table for the terminal, with the total last. */
export function spendTable(report: SpendReport): string {
  const header = [
    ...report.by,
    'rollup',
    'people',
    'tokens',
    'requests',
    `cost (${report.currency})`,
  ];
  const line = (
    group: Partial<Record<SpendDimension, string | null>>,
    rollup: string,
    f: SpendFigures,
  ) => [
    ...report.by.map((d) => group[d] ?? '(none)'),
    rollup,
    String(f.people),
    String(f.tokens),
    String(f.requests),
    f.cost,
  ];
  const body = report.rows.map((r) =>
    line(r.group, r.rollupOf === null ? '' : `${r.rollupOf} teams`, r),
  );
  const total = line(
    Object.fromEntries(report.by.map((d, i) => [d, i === 0 ? 'TOTAL' : ''])),
    '',
    report.total,
  );
  const rows = [header, ...body, total];
  const widths = header.map((_h, i) => Math.max(...rows.map((r) => r[i].length)));
  const numeric = (i: number) => i > report.by.length;
  const text = rows.map((r) =>
    r
      .map((cell, i) => (numeric(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  text.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  text.splice(text.length - 1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return `${text.join('\n')}\n`;
}

export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('reports over stored usage');
  report
    .command('spend')
    .description(
      'chargeback: spend over a period by cost centre, team, model, class, project or environment, rolled up the team tree with --rollup',
    )
    .requiredOption(
      '--by <dimensions>',
      `comma-separated dimensions: ${SPEND_DIMENSIONS.join(', ')}`,
    )
    .option(
      '--period <period>',
      'a month (2026-11), quarter (2026-Q4), ISO week (2026-W45), year, or last-/this-month … (default: this month)',
    )
    .option('--rollup', 'add a row per parent team adding up its subtree (needs team in --by)')
    .option('--quiet', 'no progress on standard error')
    .addOption(formatOption(['table', 'csv', 'json'], 'table'))
    .addOption(dataDirOption())
    .action(async (flags: SpendFlags) => {
      const by = flags.by
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean);
      const unknown = by.filter((d) => !(SPEND_DIMENSIONS as readonly string[]).includes(d));
      if (unknown.length > 0 || by.length === 0) {
        console.error(
          `error: --by: ${unknown.length ? `unknown dimension ${unknown.map((d) => `"${d}"`).join(', ')}` : 'name at least one dimension'} (use ${SPEND_DIMENSIONS.join(', ')})`,
        );
        process.exit(2);
      }
      const progress = (text: string) => {
        if (!flags.quiet) process.stderr.write(`${text}\n`);
      };
      const started = Date.now();
      progress('opening the database…');
      await withStore(
        flags,
        async (store) => {
          try {
            progress(
              `reading spend${flags.period ? ` for ${flags.period}` : ''} by ${by.join(', ')}${flags.rollup ? ', rolled up the team tree' : ''}…`,
            );
            const result = await spendReportsFor(store).report(
              { caller: LOCAL, audit: auditFor(store, LOCAL) },
              { period: flags.period ?? null, by: by as SpendDimension[], rollup: flags.rollup },
            );
            process.stdout.write(
              flags.format === 'json'
                ? `${JSON.stringify(result, null, 2)}\n`
                : flags.format === 'csv'
                  ? spendCsv(result)
                  : spendTable(result),
            );
            progress(
              `${result.period} (${result.from} to ${result.to}, ${result.timezone}): ${result.rows.length} rows, total ${result.total.cost} ${result.currency}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
            );
          } catch (error) {
            if (error instanceof DomainError) {
              console.error(`error: ${error.message}`);
              process.exitCode = error.exitCode;
              return;
            }
            throw error;
          }
        },
        { entities: apiEntities },
      );
    });
}
