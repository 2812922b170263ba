// `quotient pull <source…>`: read usage from the providers' APIs (credentials from the
// configuration) and load it like `quotient import`, with a cursor per source.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../app/errors.ts';
import { loadConfig, settingOption } from '../config.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

type PullFlags = StoreFlags & { since?: string; json?: boolean };

/** The providers' keys and URLs, options of `quotient pull` and `quotient serve`. */
export const PROVIDER_SETTINGS = [
  'anthropic-admin-key',
  'anthropic-base-url',
  'openai-admin-key',
  'openai-base-url',
  'litellm-api-key',
  'litellm-url',
] as const;

export function registerPullCommand(program: Command): void {
  const pull = program
    .command('pull')
    .description(
      "pull usage from the providers' APIs: anthropic, openai, litellm, claude-code (keys and URLs: the options below, or their variables)",
    )
    .argument('<source...>', 'anthropic, openai, litellm, claude-code')
    .option('--since <date>', 'start here (YYYY-MM-DD) instead of at the saved cursor')
    .option('--json', 'print the summary as JSON')
    .addOption(dataDirOption());
  for (const name of PROVIDER_SETTINGS) pull.addOption(settingOption(name));
  pull.action(async (sources: string[], flags: PullFlags, command: Command) => {
    const since = flags.since ? new Date(`${flags.since}T00:00:00Z`) : undefined;
    if (since && Number.isNaN(since.getTime())) {
      console.error(`error: --since "${flags.since}" is not a date (YYYY-MM-DD)`);
      process.exitCode = 2;
      return;
    }
    const { pullUsage } = await import('../app/pull.ts');
    await withStore(flags, async (store) => {
      const bar =
        process.stderr.isTTY && !flags.json
          ? new cliProgress.SingleBar(
              { format: 'pulling {source} | {value} pages | {rows} rows' },
              cliProgress.Presets.shades_classic,
            )
          : null;
      try {
        bar?.start(0, 0, { source: sources.join(', '), rows: 0 });
        const { results, failures } = await pullUsage(store, { role: 'admin' }, sources, {
          since,
          providers: loadConfig(command).pull.providers,
          onPage: (pages, totals) => bar?.update(pages, { rows: totals.rows }),
        });
        bar?.stop();
        if (flags.json) console.log(JSON.stringify({ results, failures }));
        else {
          for (const r of results) {
            const t = r.totals;
            console.log(`pulled ${r.source} from ${r.from} to ${r.to}: ${r.pages} pages`);
            console.log(
              `  rows ${t.rows}  accepted ${t.accepted}  replaced ${t.replaced}  duplicates ${t.duplicates}  rejected ${t.rejected}  unpriced ${t.unpriced}`,
            );
          }
          for (const f of failures) console.error(`error: ${f.message}`);
        }
        if (failures.length > 0 || results.some((r) => r.totals.failedChunks > 0))
          process.exitCode = 1;
      } catch (error) {
        bar?.stop();
        if (!(error instanceof DomainError)) throw error;
        console.error(`error: ${error.message}`);
        process.exitCode = error.exitCode;
      }
    });
  });
}
