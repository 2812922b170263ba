// `quotient serve` (`npm start`): applies migrations, seeds the demo organisation into an
// empty database (unless --no-seed), and serves the API until SIGTERM or SIGINT.
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { createApiKey } from '../api/auth.ts';
import { apiEntities } from '../api/entities.ts';
import { warmLeaderboards } from '../api/loaders.ts';
import { oidcConfigOf } from '../api/oidc.ts';
import { startServer } from '../api/server.ts';
import { startEnforcementWorkers } from '../api/workers.ts';
import { boardSnapshotsFor } from '../app/board-snapshots.ts';
import { parseGroups } from '../app/notifications.ts';
import { startPullSchedule } from '../app/pull.ts';
import { type Config, loadConfig, settingOption } from '../config.ts';
import { createSenders } from '../notify/index.ts';
import { openStore } from '../store/db.ts';
import { parsePersonFallback } from '../store/ingest/otlp.ts';
import { activeKeyCount } from '../store/secrets.ts';
import { seedIfEmpty } from '../store/seed.ts';
import { createLogger } from './logger.ts';
import { PROVIDER_SETTINGS } from './pull.ts';
import { removeServerFile, writeServerFile } from './server-file.ts';
import { dataDirOption } from './store-options.ts';

type ServeFlags = { dataDir: string; databaseUrl?: string; seed: boolean };

/** The settings `quotient serve` takes as options (all also QUOTIENT_* variables). */
export const SERVE_SETTINGS = [
  'port',
  'otlp-fallback-person',
  'pull-sources',
  'pull-every-minutes',
  ...PROVIDER_SETTINGS,
  'host',
  'public-url',
  'log-level',
  'log-format',
  'metrics-key',
  'metrics-port',
  'metrics-host',
  'smtp-url',
  'smtp-from',
  'slack-bot-token',
  'slack-api-url',
  'notify-groups',
  'digest-hour',
  'max-body-bytes',
  'key-cache-ms',
  'rate-limit-per-second',
  'subscriptions-per-key',
  'subscriptions-total',
  'max-evaluation-cost',
  'shutdown-grace-ms',
  'heap-growth-percent',
  'semi-space-mb',
  'db-connect-timeout-ms',
  'db-statement-timeout-ms',
  'db-evaluation-timeout-ms',
  'db-lock-timeout-ms',
  'db-idle-transaction-timeout-ms',
  'oidc-issuer',
  'oidc-client-id',
  'oidc-client-secret',
  'oidc-redirect-uri',
  'oidc-scope',
  'oidc-person-claim',
  'oidc-role-claim',
  'oidc-role-map',
  'oidc-default-role',
  'oidc-allow-http',
] as const;

const STORE_CLOSE_GRACE_MS = 5_000;

export function registerServeCommand(program: Command): void {
  const serve = program
    .command('serve')
    .description('serve the GraphQL API (GraphiQL at /graphql outside production)');
  for (const name of SERVE_SETTINGS) serve.addOption(settingOption(name));
  serve
    .addOption(dataDirOption())
    .option('--no-seed', 'do not seed the demo organisation into an empty database')
    .action(async (flags: ServeFlags, command: Command) => {
      const config = loadConfig(command);
      let oidc: ReturnType<typeof oidcConfigOf>;
      try {
        oidc = oidcConfigOf(config.oidc);
      } catch (error) {
        console.error(`error: ${(error as Error).message}`);
        process.exit(2);
      }
      tuneHeap(config);
      const log = createLogger({ level: config.logLevel, format: config.logFormat });
      const store = await openStore({
        databaseUrl: config.databaseUrl ?? '',
        dataDir: flags.dataDir,
        timeouts: config.dbTimeouts,
        migrate: true,
        entities: apiEntities,
        logger: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
      });
      if (flags.seed) {
        log.info('checking for an empty database to seed the demo organisation');
        if (await seedIfEmpty(store)) log.info('seeded the demo organisation');
      }
      // the command line beside a running server (backup, keys, policy log) sends this token
      const localToken = store.embedded ? randomBytes(24).toString('base64url') : null;
      let boardsReadNow = () => {};
      const boardsRead = new Promise<void>((resolve) => {
        boardsReadNow = resolve;
      });
      const server = await startServer({
        store,
        localToken,
        port: config.port,
        host: config.host,
        logger: log,
        otlpPersonFallback: parsePersonFallback(config.otlpFallbackPerson),
        production: config.production,
        limits: config.limits,
        oidc,
        maxBodyBytes: config.maxBodyBytes,
        keyCacheMs: config.keyCacheMs,
        // its first whole load waits for the persisted boards' read: both are heavy at start
        quotaCache: config.quotaCache && { ...config.quotaCache, startAfter: boardsRead },
        shutdownGraceMs: config.shutdownGraceMs,
        metrics: {
          key: config.metricsKey ?? null,
          port: config.metricsPort ?? null,
          host: config.metricsHost,
        },
      });
      if (localToken)
        writeServerFile(flags.dataDir, { pid: process.pid, url: server.url, localToken });
      // --pull-sources: pull usage from the providers' APIs on a schedule
      const pulls = startPullSchedule(store, config.pull, log);
      // evaluated boards are persisted: the next fresh server answers from them at once
      boardSnapshotsFor(store).enable((err) =>
        log.warn({ err }, 'persisting boards failed: a fresh server evaluates that window again'),
      );
      // The boards of this and the previous window first: a board request made meanwhile
      // joins this load, or is answered from the persisted boards. The enforcement workers
      // (escalation sweep over everyone, re-evaluation after ingest, webhooks) and the quota
      // cache's first whole load start once the boards can be answered, so that they do not
      // compete with the first board requests for the CPU.
      const warming = performance.now();
      const warmed = warmLeaderboards(store)
        .then(({ boards, evaluated }) => {
          // logged when the loads end; what waits on `warmed` goes on now
          void evaluated.then(() => {
            const ms = Math.round(performance.now() - warming);
            log.info({ boards, ms }, 'leaderboards evaluated into the cache');
          });
        })
        .catch((err) =>
          log.warn(
            { err },
            'warming the leaderboards failed; the first board request evaluates them instead',
          ),
        )
        .finally(boardsReadNow);
      let stopping = false;
      const workers = warmed.then(() =>
        stopping
          ? null
          : startEnforcementWorkers(store, {
              log,
              notifications: notificationsOf(config, server.url),
            }),
      );
      const active = await activeKeyCount(store);
      // a first admin key, so a new user can start at once (the embedded database allows
      // one process: `quotient keys` cannot run beside the server); shown this once only
      const bootstrap =
        active === 0
          ? await createApiKey(store.em(), { role: 'admin', name: 'bootstrap admin' })
          : null;
      process.stdout.write(
        startBanner({
          url: server.url,
          metricsUrl: server.metricsUrl,
          key: bootstrap,
          colour: process.stdout.isTTY === true,
        }),
      );

      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down: finishing in-flight requests');
        pulls?.stop();
        await (await workers)?.stop();
        await server.close();
        if (localToken) removeServerFile(flags.dataDir);
        // closing the pool waits for every query to end; a runaway one must not keep the
        // process alive (exiting drops its connection)
        const closed = await Promise.race([
          store.close().then(() => true),
          new Promise<false>((resolve) => setTimeout(resolve, STORE_CLOSE_GRACE_MS, false).unref()),
        ]);
        if (!closed) log.warn('database connections still busy after 5 s: exiting anyway');
        log.info('stopped');
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}

/**
 * Bounds the JavaScript heap and keeps requests' objects young (docs/scale.md, Memory).
 * V8 lets a busy heap grow to about 4 times what a full collection keeps, and on a machine
 * with 16 GB or more gives the young generation 32 MB semi-spaces, whose freed pages it
 * keeps: under ingest with boards polled the server's RSS was 0.67 GB for 0.15-0.24 GB of
 * live objects. The growth is a flag V8 reads at each collection; the semi-space size is
 * fixed at start, so serve restarts itself once with it (same process id, same standard
 * streams) where the platform allows.
 */
function tuneHeap(config: Config): void {
  // Objects that outlive a scavenge or two (requests in flight while a long evaluation
  // holds the event loop) teach V8 to allocate at their sites in the old generation from
  // then on: every later request's garbage then waits for a full collection, one every
  // few seconds under checkQuota load (docs/benchmarks/2026-12-07-pretenuring.md).
  setFlagsFromString('--no-allocation-site-pretenuring');
  if (config.heapGrowthPercent > 0)
    setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  const given = process.execArgv.some((a) => a.startsWith('--max-semi-space-size'));
  if (config.semiSpaceMb > 0 && !given && process.execve) {
    process.execve(process.execPath, [
      process.execPath,
      `--max-semi-space-size=${config.semiSpaceMb}`,
      ...process.execArgv,
      ...process.argv.slice(1),
    ]);
  }
}

/**
 * What a person starting the server needs, set apart from the log lines: where the console
 * and the API are, and the one-time admin key. One write, so no log line lands inside it.
 */
export function startBanner(input: {
  url: string;
  metricsUrl: string | null;
  key: { id: string; key: string } | null;
  colour: boolean;
}): string {
  const bold = (t: string) => (input.colour ? `\x1b[1m${t}\x1b[22m` : t);
  const dim = (t: string) => (input.colour ? `\x1b[2m${t}\x1b[22m` : t);
  const rule = dim('─'.repeat(64));
  const lines = [
    '',
    rule,
    `${bold('Quotient')} is running`,
    `  console   ${input.url}/`,
    // the line tools and tests wait for
    `Quotient API at ${input.url}/graphql`,
  ];
  if (input.metricsUrl) lines.push(`  metrics   ${input.metricsUrl}`);
  if (input.key) {
    lines.push(
      '',
      `No API keys existed, so an admin key was created (${input.key.id}). It is shown once:`,
      '',
      `  ${bold(input.key.key)}`,
      '',
      'Create narrower keys with the createApiKey mutation or `quotient keys create`.',
    );
  }
  lines.push(rule, '');
  return `${lines.join('\n')}\n`;
}

/** Notification channels from the configuration (docs/operations-notifications.md). */
function notificationsOf(config: Config, serverUrl: string) {
  const smtp = config.smtpUrl ? { url: config.smtpUrl, from: config.smtpFrom } : null;
  const slackBot = config.slackBotToken
    ? { token: config.slackBotToken, apiUrl: config.slackApiUrl }
    : null;
  let groups: ReturnType<typeof parseGroups>;
  try {
    groups = parseGroups(config.notifyGroups ?? '');
  } catch (error) {
    console.error(`error: --notify-groups (QUOTIENT_NOTIFY_GROUPS): ${(error as Error).message}`);
    process.exit(2);
  }
  return {
    settings: {
      consoleUrl: config.publicUrl ?? serverUrl,
      groups,
      email: smtp !== null,
      slackBot: slackBot !== null,
    },
    senders: createSenders({ smtp, slackBot }),
    digestHourUtc: config.digestHour,
  };
}
