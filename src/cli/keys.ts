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
import { askServer, serverHolding } from './via-server.ts';

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
        const created = await createKey(flags);
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
      },
    );

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags & { format: string; json?: boolean }) => {
      const view = await listKeys(flags);
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

  keys
    .command('revoke')
    .description(
      'revoke a key by its id (see `keys list`); every server stops accepting it at once',
    )
    .argument('<id>', 'key id, e.g. k_3f9a2c1b7d')
    .addOption(dataDirOption())
    .action(async (id: string, flags: StoreFlags) => {
      if (!(await revokeKey(id, flags))) {
        console.error(`error: no active key with id "${id}" (see \`quotient keys list\`)`);
        process.exitCode = 1;
        return;
      }
      console.log(`revoked ${id}`);
    });
}

type KeyView = {
  id: string;
  name: string;
  role: string;
  person: string | null;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

const KEY_FIELDS = 'id name role person prefix createdAt lastUsedAt revokedAt';

async function createKey(flags: StoreFlags & { role: string; person?: string; name: string }) {
  const server = serverHolding(flags);
  if (server) {
    const data = await askServer<{
      createApiKey: { data?: { key: string; apiKey: KeyView }; message?: string };
    }>(
      server,
      `mutation($role: Role!, $name: String!, $person: String) {
        createApiKey(role: $role, name: $name, person: $person) {
          ... on MutationCreateApiKeySuccess { data { key apiKey { ${KEY_FIELDS} } } }
          ... on Problem { message }
        } }`,
      { role: flags.role, name: flags.name, person: flags.person ?? null },
    );
    const result = data.createApiKey;
    if (!result.data) throw new Error(result.message ?? 'the server did not create the key');
    const { key, apiKey } = result.data;
    return { id: apiKey.id, key, name: apiKey.name, role: apiKey.role, person: apiKey.person };
  }
  return withApiStore(flags, async (store) => {
    const { created } = await keysFor(store).create(localSession(store, 'keys create'), flags);
    return created;
  });
}

async function listKeys(flags: StoreFlags): Promise<KeyView[]> {
  const server = serverHolding(flags);
  if (server) {
    const keys: KeyView[] = [];
    let after: string | null = null;
    for (;;) {
      const page: {
        apiKeys: {
          edges: { node: KeyView }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      } = await askServer(
        server,
        `query($after: String) { apiKeys(first: 100, after: $after) {
          edges { node { ${KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      keys.push(...page.apiKeys.edges.map((e) => e.node));
      if (!page.apiKeys.pageInfo.hasNextPage) return keys;
      after = page.apiKeys.pageInfo.endCursor;
    }
  }
  return withApiStore(flags, async (store) =>
    (await keysFor(store).list()).map((k) => ({
      id: k.id,
      name: k.name,
      role: k.role,
      person: k.person ?? null,
      prefix: k.prefix,
      createdAt: k.createdAt.toISOString(),
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      revokedAt: k.revokedAt?.toISOString() ?? null,
    })),
  );
}

/** False when no active key has that id. */
async function revokeKey(id: string, flags: StoreFlags): Promise<boolean> {
  const server = serverHolding(flags);
  if (server) {
    const data = await askServer<{ revokeApiKey: { data?: { id: string } } }>(
      server,
      `mutation($id: String!) { revokeApiKey(id: $id) {
        ... on MutationRevokeApiKeySuccess { data { id } } ... on NotFound { key } } }`,
      { id },
    );
    return 'data' in data.revokeApiKey;
  }
  return withApiStore(flags, async (store) => {
    try {
      await keysFor(store).revoke(localSession(store, 'keys revoke'), id);
      return true;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      return false;
    }
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
