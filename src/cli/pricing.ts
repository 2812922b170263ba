// `quotient reprice`: price stored usage again under the active policy. Whoever runs the
// command holds the database, so it may reprice; the audit log records it as local.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../app/errors.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

type RepriceFlags = StoreFlags & { since?: string; until?: string; json?: boolean };

export function registerPricingCommands(program: Command): void {
  program
    .command('reprice')
    .description(
      'price stored usage again under the active policy and rebuild its rollups (one day per transaction)',
    )
    .option('--since <date>', 'first local day to reprice (YYYY-MM-DD, inclusive); default: all')
    .option('--until <date>', 'local day to stop at (YYYY-MM-DD, exclusive); default: all')
    .option('--json', 'print the summary as JSON')
    .addOption(dataDirOption())
    .action(async (flags: RepriceFlags) => {
      const { repriceUsage } = await import('../app/pricing.ts');
      await withStore(flags, async (store) => {
        const bar =
          process.stderr.isTTY && !flags.json
            ? new cliProgress.SingleBar(
                { format: 'repricing [{bar}] {value}/{total} days | ETA {eta_formatted}' },
                cliProgress.Presets.shades_classic,
              )
            : null;
        try {
          const result = await repriceUsage(
            store,
            null,
            { since: flags.since, until: flags.until },
            (done, total) => {
              if (done === 0) bar?.start(total, 0);
              else bar?.update(done);
            },
          );
          bar?.stop();
          if (flags.json) {
            console.log(JSON.stringify(result));
            return;
          }
          console.log(`repriced ${result.days} days under the active policy`);
          console.log(`  events      ${result.events}`);
          console.log(`  changed     ${result.changed}`);
          console.log(`  unpriced    ${result.unpriced}`);
          console.log(`  cost before ${result.costBefore} ${result.currency}`);
          console.log(`  cost after  ${result.costAfter} ${result.currency}`);
        } catch (error) {
          bar?.stop();
          if (!(error instanceof DomainError)) throw error;
          console.error(`error: ${error.message}`);
          process.exitCode = error.exitCode;
        }
      });
    });
}
