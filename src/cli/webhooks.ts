// `quotient webhooks add|list|remove`: where notifications go. Each audience a policy names
// (person, manager, team_owner, finance, security, …, or `all`) maps to endpoints; every
// escalation queues one signed delivery per matching endpoint. Beside a running quotient
// serve, add, list and remove go through its API.
import type { Command } from 'commander';
import { apiEntities } from '../api/entities.ts';
import { localSession } from '../app/caller.ts';
import { type FieldProblem, InvalidRequestError } from '../app/errors.ts';
import { webhooksFor } from '../app/webhooks.ts';
import { WEBHOOK_AUDIENCES } from '../engine/escalations.ts';
import { formatOption, legacyJsonOption, wantsJson } from './output.ts';
import type { ServerFile } from './server-file.ts';
import { dataDirOption, type StoreFlags, withStore as withStoreOf } from './store-options.ts';
import { askServer, serverHolding } from './via-server.ts';

const withStore = <T>(flags: StoreFlags, work: Parameters<typeof withStoreOf<T>>[1]) =>
  withStoreOf(flags, work, { entities: apiEntities });

type Hook = { id: string; audience: string; url: string; createdAt: string };
const HOOK_FIELDS = 'id audience url createdAt';

/** addWebhook on the server holding the data directory; a refusal as the local one's. */
async function addThrough(
  server: ServerFile,
  audience: string,
  url: string,
  secret: string | null,
): Promise<Hook & { secret: string | null }> {
  const { addWebhook } = await askServer<{
    addWebhook: (Hook & { secret: string | null }) | { problems: FieldProblem[] };
  }>(
    server,
    `mutation($a: String!, $u: String!, $s: String) {
      addWebhook(audience: $a, url: $u, secret: $s) {
        ... on Webhook { ${HOOK_FIELDS} secret }
        ... on InvalidRequest { problems { field message } }
      }
    }`,
    { a: audience, u: url, s: secret },
  );
  if ('problems' in addWebhook) throw new InvalidRequestError(addWebhook.problems);
  return addWebhook;
}

function usage(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

export function registerWebhookCommands(program: Command): void {
  const hooks = program
    .command('webhooks')
    .description('map notification audiences to webhook endpoints');

  hooks
    .command('add')
    .description('send notifications for <audience> to <url> (signed as Standard Webhooks)')
    .argument('<audience>', `who the endpoint speaks for: ${WEBHOOK_AUDIENCES.join(', ')}`)
    .argument('<url>', 'http(s) URL that receives POSTed JSON')
    .option('--secret <secret>', 'signing secret (default: a random one, printed once)')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(
      async (
        audience: string,
        url: string,
        flags: StoreFlags & { secret?: string; format: string; json?: boolean },
      ) => {
        const secret = flags.secret ?? null;
        const server = serverHolding(flags);
        const hook = server
          ? await addThrough(server, audience, url, secret)
          : await withStore(flags, (store) =>
              webhooksFor(store).add(localSession(store, 'webhooks add'), audience, url, secret),
            );
        if (wantsJson(flags)) console.log(JSON.stringify(hook));
        else {
          console.log(`webhook ${hook.id}: ${audience} → ${hook.url}`);
          if (!flags.secret) console.log(`secret (shown once): ${hook.secret}`);
          console.log(
            'deliveries are signed in the Standard Webhooks format (webhook-id, webhook-timestamp, webhook-signature): verify with the standardwebhooks package and this secret',
          );
        }
      },
    );

  hooks
    .command('list')
    .description('list webhook endpoints (secrets are not shown)')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags & { format: string; json?: boolean }) => {
      const server = serverHolding(flags);
      const rows = server
        ? (await askServer<{ webhooks: Hook[] }>(server, `{ webhooks { ${HOOK_FIELDS} } }`))
            .webhooks
        : await withStore(flags, (store) => webhooksFor(store).list());
      if (wantsJson(flags)) return console.log(JSON.stringify(rows, null, 2));
      if (rows.length === 0)
        return console.log('no webhooks: add one with `quotient webhooks add <audience> <url>`');
      const width = Math.max(8, ...rows.map((r) => r.audience.length));
      console.log(`${'id'.padEnd(5)} ${'audience'.padEnd(width)} url`);
      for (const r of rows) console.log(`${r.id.padEnd(5)} ${r.audience.padEnd(width)} ${r.url}`);
    });

  hooks
    .command('remove')
    .description('remove a webhook endpoint by id or URL (its undelivered notifications go too)')
    .argument('<id-or-url>')
    .addOption(dataDirOption())
    .action(async (idOrUrl: string, flags: StoreFlags) => {
      const server = serverHolding(flags);
      const removed = server
        ? (
            await askServer<{ removeWebhook: number }>(
              server,
              'mutation($x: String!) { removeWebhook(idOrUrl: $x) }',
              { x: idOrUrl },
            )
          ).removeWebhook
        : await withStore(flags, (store) =>
            webhooksFor(store).remove(localSession(store, 'webhooks remove'), idOrUrl),
          );
      if (removed === 0) {
        console.error(`error: no webhook with id or URL ${idOrUrl}`);
        process.exitCode = 1;
        return;
      }
      console.log(`removed ${removed} webhook${removed === 1 ? '' : 's'}`);
    });

  hooks
    .command('failed')
    .description(
      'list deliveries that gave up: webhooks (w<id>) and notifications to people (n<id>)',
    )
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(legacyJsonOption())
    .addOption(dataDirOption())
    .action(async (flags: StoreFlags & { format: string; json?: boolean }) => {
      await withStore(flags, async (store) => {
        const { listDeliveries } = await import('../store/webhooks.ts');
        const { listNotifications } = await import('../store/notifications.ts');
        const hooksFailed = (
          await listDeliveries(store, { failed: true }, { beforeId: null, limit: 500 })
        )
          .filter((d) => !d.deliveredAt && !d.nextAttemptAt)
          .map((d) => ({
            id: `w${d.id}`,
            channel: 'webhook',
            to: `${d.audience} ${d.url}`,
            attempts: d.attempts,
            lastError: d.lastError,
          }));
        const notes = (await listNotifications(store, { status: 'failed', limit: 500 })).map(
          (n) => ({
            id: `n${n.id}`,
            channel: n.channel,
            to: n.address,
            attempts: n.attempts,
            lastError: n.lastError,
          }),
        );
        const rows = [...hooksFailed, ...notes];
        if (wantsJson(flags)) return console.log(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return console.log('no failed deliveries');
        for (const r of rows)
          console.log(
            `${r.id.padEnd(8)} ${r.channel.padEnd(8)} ${r.attempts} attempts  ${r.to}  (${r.lastError})`,
          );
        console.log('send them again with `quotient webhooks redrive [id …]`');
      });
    });

  hooks
    .command('redrive')
    .description('send failed deliveries again now (all of them, or the ids given: w<id>, n<id>)')
    .argument('[ids...]', 'ids from `quotient webhooks failed`')
    .addOption(dataDirOption())
    .action(async (ids: string[], flags: StoreFlags) => {
      const bad = ids.filter((i) => !/^[wn]\d+$/.test(i));
      if (bad.length > 0) usage(`not a delivery id: ${bad.join(', ')} (expected w<id> or n<id>)`);
      await withStore(flags, async (store) => {
        const { redriveFailed } = await import('../store/notifications.ts');
        const result = await redriveFailed(store, new Date(), ids.length > 0 ? ids : null);
        await localSession(store, 'webhooks redrive').audit.record({
          action: 'notifications.redrive',
          subject: ids.join(',') || 'all',
          detail: result,
        });
        console.log(
          `queued again: ${result.webhooks} webhook deliver${result.webhooks === 1 ? 'y' : 'ies'}, ${result.notifications} notification${result.notifications === 1 ? '' : 's'}`,
        );
      });
    });
}
