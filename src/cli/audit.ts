// `quotient audit`: read the audit log on the command line (the local operator holds the
// data directory, so it reads as admin). Filters as the GraphQL auditLog query.
import type { Command } from 'commander';
import { apiEntities } from '../api/entities.ts';
import { auditLogFor } from '../app/audit-log.ts';
import { DomainError } from '../app/errors.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

type AuditFlags = StoreFlags & {
  action?: string;
  actor?: string;
  subject?: string;
  since?: string;
  until?: string;
  limit: string;
  before?: string;
  json?: boolean;
};

const LOCAL = { keyId: 'local', name: 'quotient audit', role: 'admin' as const, person: null };

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('read the audit log, newest first')
    .option('--action <action>', 'an action (read.person), or a prefix ending in * (directory.*)')
    .option('--actor <key>', 'the API key id that acted')
    .option('--subject <id>', 'the person, team or object acted on')
    .option('--since <instant>', 'from this ISO-8601 instant (inclusive)')
    .option('--until <instant>', 'to this ISO-8601 instant (exclusive)')
    .option('--limit <n>', 'entries to print', '50')
    .option('--before <id>', 'only entries older than this id (the next page)')
    .option('--json', 'one JSON object per line')
    .addOption(dataDirOption())
    .action(async (flags: AuditFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        console.error('error: --limit must be a whole number from 1 to 10000');
        process.exit(2);
      }
      await withStore(
        flags,
        async (store) => {
          try {
            const rows = await auditLogFor(store).list(
              LOCAL,
              {
                action: flags.action,
                actor: flags.actor,
                subject: flags.subject,
                from: flags.since,
                to: flags.until,
              },
              { beforeId: flags.before ?? null, limit },
            );
            for (const r of rows) {
              if (flags.json) console.log(JSON.stringify(r));
              else
                console.log(
                  `${r.id}\t${r.at}\t${r.actor ?? '(local)'}\t${r.role}\t${r.action}\t${r.subject ?? ''}\t${JSON.stringify(r.detail)}`,
                );
            }
            if (!flags.json && rows.length === limit)
              console.error(`more: --before ${rows[rows.length - 1].id}`);
          } catch (error) {
            if (error instanceof DomainError) {
              console.error(`error: ${error.message}`);
              process.exit(error.exitCode);
            }
            throw error;
          }
        },
        { entities: apiEntities },
      );
    });
}
