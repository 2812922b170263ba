// `quotient keys create|list|revoke`: API keys. A key is printed once at creation; only its
// SHA-256 hash is stored, so a lost key is revoked and replaced, never recovered.
import { type Command, Option } from 'commander';
import { apiEntities } from '../api/entities.ts';
import { localSession } from '../app/caller.ts';
import { NotFoundError } from '../app/errors.ts';
import { keysFor } from '../app/keys.ts';
import { ROLES } from '../app/roles.ts';
import type { Store } from '../store/db.ts';
import { formatOption, legacyJsonOption, wantsJson } from './output.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

/** Keys and the audit log are API entities. */
const withApiStore = <T>(flags: StoreFlags, work: (store: Store) => Promise<T>) =>
  withStore(flags, work, { entities: apiEntities });

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create an API key and print it once (only its hash is stored)')
    .addOption(
      new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory(),
    )
    .option('--person <id>', 'the person a member key acts for (required for --role member)')
    .requiredOption('--name <label>', 'a label to recognise the key by, e.g. "gateway-prod"')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(
      async (
        flags: StoreFlags & {
          role: string;
          person?: string;
          name: string;
          format: string;
          json?: boolean;
        },
      ) => {
        await withApiStore(flags, async (store) => {
          const { created } = await keysFor(store).create(
            localSession(store, 'keys create'),
            flags,
          );
          if (wantsJson(flags)) {
            console.log(JSON.stringify(created));
            return;
          }
          console.log(
            `created key ${created.id} (${created.role}${created.person ? ` for ${created.person}` : ''}, "${created.name}")`,
          );
          console.log('');
          console.log(`  ${created.key}`);
          console.log('');
          console.log(
            'This is the only time the key is shown. Send it as "Authorization: Bearer <key>".',
          );
        });
      },
    );

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags & { format: string; json?: boolean }) => {
      await withApiStore(flags, async (store) => {
        const rows = await keysFor(store).list();
        const view = rows.map((k) => ({
          id: k.id,
          name: k.name,
          role: k.role,
          person: k.person ?? null,
          prefix: k.prefix,
          createdAt: k.createdAt.toISOString(),
          lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
          revokedAt: k.revokedAt?.toISOString() ?? null,
        }));
        if (wantsJson(flags)) {
          console.log(JSON.stringify(view, null, 2));
          return;
        }
        if (view.length === 0) {
          console.log(
            'no keys yet: create one with `quotient keys create --role admin --name <label>`',
          );
          return;
        }
        printTable(
          ['ID', 'NAME', 'ROLE', 'PERSON', 'KEY', 'CREATED', 'LAST USED', 'STATUS'],
          view.map((k) => [
            k.id,
            k.name,
            k.role,
            k.person ?? '-',
            `${k.prefix}…`,
            k.createdAt.slice(0, 16).replace('T', ' '),
            k.lastUsedAt?.slice(0, 16).replace('T', ' ') ?? 'never',
            k.revokedAt ? `revoked ${k.revokedAt.slice(0, 10)}` : 'active',
          ]),
        );
      });
    });

  keys
    .command('revoke')
    .description(
      'revoke a key by its id (see `keys list`); every server stops accepting it at once',
    )
    .argument('<id>', 'key id, e.g. k_3f9a2c1b7d')
    .addOption(dataDirOption())
    .action(async (id: string, flags: StoreFlags) => {
      await withApiStore(flags, async (store) => {
        try {
          await keysFor(store).revoke(localSession(store, 'keys revoke'), id);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          console.error(`error: no active key with id "${id}" (see \`quotient keys list\`)`);
          process.exitCode = 1;
          return;
        }
        console.log(`revoked ${id}`);
      });
    });
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) {
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
  }
}
