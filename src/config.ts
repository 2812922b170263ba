// Every setting of Quotient, in one table. Each is read from a command-line option and a
// QUOTIENT_* environment variable of the same name (`--metrics-port` ↔
// `QUOTIENT_METRICS_PORT`), through commander's Option.env; the option wins over the
// variable, the variable over the default. A few older names (DATABASE_URL, PORT, HOST,
// LOG_LEVEL) are still read when the QUOTIENT_ name is unset. `quotient config` prints the
// effective values with secrets redacted; docs/operations-config.md is the table.
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DATA_DIR } from './store/defaults.ts';
import type { ProviderEndpoints } from './store/pull/sources.ts';

export type SettingGroup =
  | 'storage'
  | 'ingest'
  | 'server'
  | 'logging'
  | 'metrics'
  | 'notifications'
  | 'oidc'
  | 'limits';

export const GROUP_ORDER: readonly SettingGroup[] = [
  'storage',
  'ingest',
  'server',
  'logging',
  'metrics',
  'notifications',
  'oidc',
  'limits',
];

/** How a secret is hidden: all of it, or only the password in a URL, or every URL in it. */
export type Secret = 'whole' | 'url-password' | 'urls';

export type Setting = {
  /** the option name without dashes: data-dir */
  name: string;
  group: SettingGroup;
  description: string;
  /** `<value>` placeholder in help; absent for on/off settings */
  value?: string;
  default?: string | number | boolean;
  secret?: Secret;
  /** older environment variables still honoured, after the QUOTIENT_ one */
  aliases?: string[];
  parse?: (raw: string) => unknown;
};

function integer(min: number, max: number) {
  return (raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function oneOf(...values: string[]) {
  return (raw: string) => {
    if (!values.includes(raw))
      throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return raw;
  };
}

function url(raw: string) {
  try {
    new URL(raw);
  } catch {
    throw new InvalidArgumentError(`not a URL: ${raw}`);
  }
  return raw;
}

const port = integer(0, 65_535);
const positiveMs = integer(1, 24 * 60 * 60 * 1000);

export const SETTINGS: readonly Setting[] = [
  // storage
  {
    name: 'data-dir',
    group: 'storage',
    value: '<dir>',
    default: DEFAULT_DATA_DIR,
    description: 'embedded database directory (ignored with a database URL)',
  },
  {
    name: 'database-url',
    group: 'storage',
    value: '<url>',
    secret: 'url-password',
    aliases: ['DATABASE_URL'],
    parse: url,
    description:
      'PostgreSQL 15+ server (postgres://user:pass@host:5432/db); unset: embedded PGlite',
  },
  {
    name: 'db-connect-timeout-ms',
    group: 'limits',
    value: '<ms>',
    default: 5_000,
    parse: positiveMs,
    description: 'wait for a database connection',
  },
  {
    name: 'db-statement-timeout-ms',
    group: 'limits',
    value: '<ms>',
    default: 10_000,
    parse: positiveMs,
    description: 'longest single statement (statement_timeout)',
  },
  {
    name: 'db-evaluation-timeout-ms',
    group: 'limits',
    value: '<ms>',
    default: 120_000,
    parse: positiveMs,
    description:
      'longest statement of a whole-organisation evaluation (the sweep, boards), run in the background',
  },
  {
    name: 'db-lock-timeout-ms',
    group: 'limits',
    value: '<ms>',
    default: 5_000,
    parse: positiveMs,
    description: 'longest wait for a lock (lock_timeout)',
  },
  {
    name: 'db-idle-transaction-timeout-ms',
    group: 'limits',
    value: '<ms>',
    default: 60_000,
    parse: positiveMs,
    description: 'a transaction left idle is ended (idle_in_transaction_session_timeout)',
  },
  // ingest
  {
    name: 'otlp-fallback-person',
    group: 'ingest',
    value: '<who>',
    default: 'service',
    description:
      'person of an OTLP span with no person attribute: service (the service name), reject, or a fixed person id',
  },
  {
    name: 'pull-sources',
    group: 'ingest',
    value: '<list>',
    description:
      'providers `quotient serve` pulls usage from on a schedule, comma-separated: anthropic, openai, litellm, claude-code (keys: the settings below)',
  },
  {
    name: 'pull-every-minutes',
    group: 'ingest',
    value: '<minutes>',
    default: 60,
    parse: integer(1, 7 * 24 * 60),
    description: 'how often the scheduled pull runs',
  },
  {
    name: 'anthropic-admin-key',
    group: 'ingest',
    value: '<key>',
    secret: 'whole',
    aliases: ['ANTHROPIC_ADMIN_KEY'],
    description: 'Anthropic Admin API key (sk-ant-admin…) the anthropic and claude-code pulls use',
  },
  {
    name: 'anthropic-base-url',
    group: 'ingest',
    value: '<url>',
    default: 'https://api.anthropic.com',
    aliases: ['ANTHROPIC_BASE_URL'],
    parse: url,
    description: 'Anthropic API base the pulls read',
  },
  {
    name: 'openai-admin-key',
    group: 'ingest',
    value: '<key>',
    secret: 'whole',
    aliases: ['OPENAI_ADMIN_KEY'],
    description: 'OpenAI admin key the openai pull uses',
  },
  {
    name: 'openai-base-url',
    group: 'ingest',
    value: '<url>',
    default: 'https://api.openai.com',
    aliases: ['OPENAI_BASE_URL'],
    parse: url,
    description: 'OpenAI API base the pull reads',
  },
  {
    name: 'litellm-api-key',
    group: 'ingest',
    value: '<key>',
    secret: 'whole',
    aliases: ['LITELLM_API_KEY'],
    description: 'LiteLLM proxy key the litellm pull uses',
  },
  {
    name: 'litellm-url',
    group: 'ingest',
    value: '<url>',
    aliases: ['LITELLM_URL'],
    parse: url,
    description: 'the LiteLLM proxy the litellm pull reads (no default)',
  },
  // server
  {
    name: 'port',
    group: 'server',
    value: '<port>',
    default: 4000,
    aliases: ['PORT'],
    parse: port,
    description: 'port the API listens on (0 picks a free one)',
  },
  {
    name: 'host',
    group: 'server',
    value: '<host>',
    default: '127.0.0.1',
    aliases: ['HOST'],
    description: 'interface the API listens on (0.0.0.0 in a container)',
  },
  {
    name: 'public-url',
    group: 'server',
    value: '<url>',
    parse: url,
    description:
      'the URL people reach the console at, for links in notifications (default: the listening URL)',
  },
  {
    name: 'max-body-bytes',
    group: 'limits',
    value: '<bytes>',
    default: 10 * 1024 * 1024,
    parse: integer(1024, 1024 * 1024 * 1024),
    description: 'largest request body (larger ones get 413)',
  },
  {
    name: 'key-cache-ms',
    group: 'limits',
    value: '<ms>',
    default: 5_000,
    parse: integer(0, 3_600_000),
    description: 'how long a checked API key is trusted (the revocation delay)',
  },
  {
    name: 'quota-cache-staleness-ms',
    group: 'limits',
    value: '<ms>',
    default: 500,
    parse: integer(0, 60_000),
    description:
      'checkQuota answers from memory while its last refresh is younger than this, else from the database (0: always the database)',
  },
  {
    name: 'quota-cache-refresh-ms',
    group: 'limits',
    value: '<ms>',
    default: 100,
    parse: integer(10, 60_000),
    description: 'how often the in-memory quota state reads what changed',
  },
  {
    name: 'rate-limit-per-second',
    group: 'limits',
    value: '<n>',
    default: 1_000,
    parse: integer(0, 1_000_000),
    description:
      'requests per second one API key may make (more get 429 and Retry-After; 0: no limit)',
  },
  {
    name: 'subscriptions-per-key',
    group: 'limits',
    value: '<n>',
    default: 10,
    parse: integer(0, 100_000),
    description: 'open subscriptions (SSE streams) of one API key',
  },
  {
    name: 'subscriptions-total',
    group: 'limits',
    value: '<n>',
    default: 1_000,
    parse: integer(0, 1_000_000),
    description: 'open subscriptions on one instance',
  },
  {
    name: 'max-evaluation-cost',
    group: 'limits',
    value: '<n>',
    default: 4,
    parse: integer(1, 1_000),
    description:
      'policy evaluations one GraphQL operation may price (distinct leaderboard windows)',
  },
  {
    name: 'shutdown-grace-ms',
    group: 'limits',
    value: '<ms>',
    default: 10_000,
    parse: positiveMs,
    description: 'grace period for in-flight requests on SIGTERM',
  },
  {
    name: 'semi-space-mb',
    group: 'limits',
    value: '<mb>',
    default: 8,
    parse: integer(0, 1024),
    description:
      "size of each semi-space of the JavaScript heap's young generation; serve restarts itself once with it where the platform allows (0: V8's own, 32 on a large machine)",
  },
  {
    name: 'heap-growth-percent',
    group: 'limits',
    value: '<percent>',
    default: 50,
    parse: integer(0, 300),
    description:
      "how far the JavaScript heap may grow past what the last full collection kept before the next one (0: V8's own rule, which lets it grow up to 4 times under load)",
  },
  // logging
  {
    name: 'log-level',
    group: 'logging',
    value: '<level>',
    default: 'info',
    aliases: ['LOG_LEVEL'],
    parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
    description: 'trace, debug, info, warn, error, fatal or silent',
  },
  {
    name: 'log-format',
    group: 'logging',
    value: '<format>',
    default: 'auto',
    parse: oneOf('auto', 'pretty', 'json'),
    description: 'pretty (coloured lines), json, or auto: pretty on a terminal, JSON otherwise',
  },
  {
    name: 'debug',
    group: 'logging',
    value: '<0|1>',
    parse: oneOf('0', '1'),
    description: '1 prints stack traces of unexpected CLI errors',
  },
  // metrics
  {
    name: 'metrics-key',
    group: 'metrics',
    value: '<token>',
    secret: 'whole',
    description: 'a bearer token that may read /metrics (an admin API key always may)',
  },
  {
    name: 'metrics-port',
    group: 'metrics',
    value: '<port>',
    parse: port,
    description: 'serve /metrics on this port instead, without a token',
  },
  {
    name: 'metrics-host',
    group: 'metrics',
    value: '<host>',
    default: '127.0.0.1',
    description: 'interface of the metrics port',
  },
  // notifications
  {
    name: 'smtp-url',
    group: 'notifications',
    value: '<url>',
    secret: 'url-password',
    parse: url,
    description: 'SMTP server for email notifications (smtp://user:pass@host:587, smtps://…:465)',
  },
  {
    name: 'smtp-from',
    group: 'notifications',
    value: '<address>',
    default: 'Quotient <quotient@localhost>',
    description: 'sender of email notifications',
  },
  {
    name: 'slack-bot-token',
    group: 'notifications',
    value: '<token>',
    secret: 'whole',
    description:
      'Slack bot token (xoxb-…, scopes chat:write and users:read.email): posts to #channels and DMs people; unset: Slack incoming webhooks only',
  },
  {
    name: 'slack-api-url',
    group: 'notifications',
    value: '<url>',
    default: 'https://slack.com/api',
    parse: url,
    description: 'Slack Web API base the bot token is used on',
  },
  {
    name: 'notify-groups',
    group: 'notifications',
    value: '<map>',
    secret: 'urls',
    description:
      'named groups to channels: finance=email:fin@acme.test,slack:https://…;security=slack:#security,teams:https://…',
  },
  {
    name: 'digest-hour',
    group: 'notifications',
    value: '<hour>',
    default: 8,
    parse: integer(0, 23),
    description: 'UTC hour of the daily digest',
  },
  // OIDC sign-in to the console
  {
    name: 'oidc-issuer',
    group: 'oidc',
    value: '<url>',
    parse: url,
    description: 'OpenID Connect issuer for console sign-in (unset: API keys only)',
  },
  { name: 'oidc-client-id', group: 'oidc', value: '<id>', description: 'OIDC client id' },
  {
    name: 'oidc-client-secret',
    group: 'oidc',
    value: '<secret>',
    secret: 'whole',
    description: 'OIDC client secret (confidential clients)',
  },
  {
    name: 'oidc-redirect-uri',
    group: 'oidc',
    value: '<url>',
    parse: url,
    description: 'callback URL registered with the provider (default: <public url>/auth/callback)',
  },
  {
    name: 'oidc-scope',
    group: 'oidc',
    value: '<scopes>',
    description: 'scopes to request (default: openid email profile)',
  },
  {
    name: 'oidc-person-claim',
    group: 'oidc',
    value: '<claim>',
    description: 'claim naming the person (default: email)',
  },
  {
    name: 'oidc-role-claim',
    group: 'oidc',
    value: '<claim>',
    description: 'claim carrying groups or roles',
  },
  {
    name: 'oidc-role-map',
    group: 'oidc',
    value: '<map>',
    description: 'claim values to roles: quotient-admins=admin,finance=viewer',
  },
  {
    name: 'oidc-allow-http',
    group: 'oidc',
    value: '<0|1>',
    parse: oneOf('0', '1'),
    description: '1 allows an http:// issuer (local test providers only)',
  },
  {
    name: 'oidc-default-role',
    group: 'oidc',
    value: '<role>',
    description: 'role of a signed-in person no mapping names (unset: refused)',
  },
];

/** QUOTIENT_ + the option name in capitals with underscores: data-dir → QUOTIENT_DATA_DIR. */
export function envName(name: string): string {
  return `QUOTIENT_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** data-dir → dataDir, the key commander stores the value under. */
export function keyOf(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function settingNamed(name: string): Setting {
  const setting = SETTINGS.find((s) => s.name === name);
  if (!setting) throw new Error(`no setting named ${name}`);
  return setting;
}

/**
 * The commander option of a setting: `--<name> <value>`, read from QUOTIENT_<NAME> when
 * the flag is absent, parsed and checked the same way from either.
 */
export function settingOption(name: string): Option {
  const s = settingNamed(name);
  const option = new Option(`--${s.name} ${s.value ?? ''}`.trim(), s.description).env(
    envName(s.name),
  );
  if (s.parse) option.argParser(s.parse as (value: string, previous: unknown) => unknown);
  if (s.default !== undefined) option.default(s.default);
  return option;
}

/** Copies older variable names onto the QUOTIENT_ ones they stand for, when those are unset. */
export function applyEnvAliases(env: NodeJS.ProcessEnv = process.env): void {
  for (const s of SETTINGS)
    for (const alias of s.aliases ?? [])
      if (env[envName(s.name)] === undefined && env[alias] !== undefined && env[alias] !== '')
        env[envName(s.name)] = env[alias];
}

export type Source = 'flag' | 'env' | 'default' | 'unset';

export type EffectiveSetting = {
  name: string;
  env: string;
  group: SettingGroup;
  value: unknown;
  source: Source;
  secret?: Secret;
};

/**
 * The value of every setting: from the command's parsed options where it has them, from
 * the environment (parsed the same way) or the default otherwise.
 */
export function effectiveSettings(
  options: Record<string, unknown> = {},
  sources: (key: string) => string | undefined = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
  /** defaults of this use, over the table's (CLI commands allow longer statements) */
  defaults: Record<string, unknown> = {},
): EffectiveSetting[] {
  applyEnvAliases(env);
  return SETTINGS.map((s) => {
    const key = keyOf(s.name);
    const base = { name: s.name, env: envName(s.name), group: s.group, secret: s.secret };
    const source = sources(key);
    if (source === 'cli') return { ...base, value: options[key], source: 'flag' };
    if (source === 'env') return { ...base, value: options[key], source: 'env' };
    const raw = env[envName(s.name)];
    if (raw !== undefined && raw !== '')
      return { ...base, value: s.parse ? s.parse(raw) : raw, source: 'env' };
    const fallback = s.name in defaults ? defaults[s.name] : s.default;
    if (fallback !== undefined) return { ...base, value: fallback, source: 'default' };
    return { ...base, value: undefined, source: 'unset' };
  });
}

/** A value as it may be shown: secrets hidden, URLs without their password. */
export function redact(setting: { secret?: Secret }, value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  const text = String(value);
  if (setting.secret === 'whole') return '********';
  if (setting.secret === 'url-password') return withoutPassword(text);
  if (setting.secret === 'urls')
    return text.replace(/https?:\/\/[^\s,;]+/g, (u) => {
      try {
        return `${new URL(u).origin}/********`;
      } catch {
        return '********';
      }
    });
  return text;
}

function withoutPassword(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = '********';
    return u.toString();
  } catch {
    return '********';
  }
}

/** Typed reads of the effective settings, for the code that uses them. */
export type Config = {
  dataDir: string;
  databaseUrl: string | undefined;
  dbTimeouts: {
    connectMs: number;
    statementMs: number;
    evaluationMs: number;
    lockMs: number;
    idleInTransactionMs: number;
  };
  otlpFallbackPerson: string;
  pull: {
    sources: string[];
    everyMinutes: number;
    providers: ProviderEndpoints;
  };
  port: number;
  host: string;
  publicUrl: string | undefined;
  maxBodyBytes: number;
  keyCacheMs: number;
  /** the in-memory quota state (src/app/quota-cache.ts); null: off */
  quotaCache: { maxStalenessMs: number; refreshMs: number } | null;
  shutdownGraceMs: number;
  heapGrowthPercent: number;
  semiSpaceMb: number;
  limits: {
    requestsPerSecond: number;
    subscriptionsPerKey: number;
    subscriptionsTotal: number;
    maxEvaluationCost: number;
  };
  /** NODE_ENV=production: GraphiQL off (the Node convention, not a QUOTIENT_ setting) */
  production: boolean;
  logLevel: string;
  debug: boolean;
  logFormat: 'auto' | 'pretty' | 'json';
  metricsKey: string | undefined;
  metricsPort: number | undefined;
  metricsHost: string;
  smtpUrl: string | undefined;
  smtpFrom: string;
  slackBotToken: string | undefined;
  slackApiUrl: string;
  notifyGroups: string | undefined;
  digestHour: number;
  oidc: {
    issuer: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    redirectUri: string | undefined;
    scope: string | undefined;
    personClaim: string | undefined;
    roleClaim: string | undefined;
    roleMap: string | undefined;
    defaultRole: string | undefined;
    allowHttp: boolean;
  };
};

export function configOf(settings: EffectiveSetting[], production = false): Config {
  const v = new Map(settings.map((s) => [s.name, s.value]));
  const str = (name: string) => (v.get(name) as string | undefined)?.trim() || undefined;
  const num = (name: string) => v.get(name) as number;
  const provider = (key: string, url: string) => ({
    key: str(key),
    baseUrl: str(url)?.replace(/\/+$/, ''),
    keySetting: envName(key),
    urlSetting: envName(url),
  });
  return {
    dataDir: v.get('data-dir') as string,
    databaseUrl: str('database-url'),
    dbTimeouts: {
      connectMs: num('db-connect-timeout-ms'),
      statementMs: num('db-statement-timeout-ms'),
      evaluationMs: num('db-evaluation-timeout-ms'),
      lockMs: num('db-lock-timeout-ms'),
      idleInTransactionMs: num('db-idle-transaction-timeout-ms'),
    },
    otlpFallbackPerson: v.get('otlp-fallback-person') as string,
    pull: {
      sources: (str('pull-sources') ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      everyMinutes: num('pull-every-minutes'),
      providers: {
        anthropic: provider('anthropic-admin-key', 'anthropic-base-url'),
        openai: provider('openai-admin-key', 'openai-base-url'),
        litellm: provider('litellm-api-key', 'litellm-url'),
      },
    },
    port: num('port'),
    host: v.get('host') as string,
    publicUrl: str('public-url'),
    maxBodyBytes: num('max-body-bytes'),
    keyCacheMs: num('key-cache-ms'),
    quotaCache:
      num('quota-cache-staleness-ms') > 0
        ? {
            maxStalenessMs: num('quota-cache-staleness-ms'),
            refreshMs: num('quota-cache-refresh-ms'),
          }
        : null,
    shutdownGraceMs: num('shutdown-grace-ms'),
    heapGrowthPercent: num('heap-growth-percent'),
    semiSpaceMb: num('semi-space-mb'),
    limits: {
      requestsPerSecond: num('rate-limit-per-second'),
      subscriptionsPerKey: num('subscriptions-per-key'),
      subscriptionsTotal: num('subscriptions-total'),
      maxEvaluationCost: num('max-evaluation-cost'),
    },
    production,
    logLevel: v.get('log-level') as string,
    debug: v.get('debug') === '1',
    logFormat: v.get('log-format') as Config['logFormat'],
    metricsKey: str('metrics-key'),
    metricsPort: v.get('metrics-port') as number | undefined,
    metricsHost: v.get('metrics-host') as string,
    smtpUrl: str('smtp-url'),
    smtpFrom: v.get('smtp-from') as string,
    slackBotToken: str('slack-bot-token'),
    slackApiUrl: v.get('slack-api-url') as string,
    notifyGroups: str('notify-groups'),
    digestHour: num('digest-hour'),
    oidc: {
      issuer: str('oidc-issuer'),
      clientId: str('oidc-client-id'),
      clientSecret: str('oidc-client-secret'),
      redirectUri: str('oidc-redirect-uri'),
      scope: str('oidc-scope'),
      personClaim: str('oidc-person-claim'),
      roleClaim: str('oidc-role-claim'),
      roleMap: str('oidc-role-map'),
      defaultRole: str('oidc-default-role'),
      allowHttp: v.get('oidc-allow-http') === '1',
    },
  };
}

/** The configuration of a command: its options, then the environment, then defaults. */
export function loadConfig(
  command?: {
    opts(): Record<string, unknown>;
    getOptionValueSource(key: string): string | undefined;
  },
  env: NodeJS.ProcessEnv = process.env,
  defaults: Record<string, unknown> = {},
): Config {
  return configOf(
    effectiveSettings(
      command?.opts() ?? {},
      (key) => command?.getOptionValueSource(key),
      env,
      defaults,
    ),
    env.NODE_ENV === 'production',
  );
}

/**
 * Whether stack traces of unexpected CLI errors are wanted (QUOTIENT_DEBUG=1). Read where an
 * error is being reported, so it never throws, whatever else the environment holds.
 */
export function debugging(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[envName('debug')] === '1';
}

/** The settings as a Markdown table, grouped (docs/operations-config.md carries it). */
export function settingsTable(): string {
  const rows = [...SETTINGS]
    .sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group))
    .map((s) => {
      const option = `\`--${s.name}${s.value ? ` ${s.value}` : ''}\``;
      const env = [envName(s.name), ...(s.aliases ?? [])].map((e) => `\`${e}\``).join(', ');
      const fallback = s.default === undefined ? '' : `\`${String(s.default)}\``;
      const secret = s.secret ? ' (secret: redacted by `quotient config`)' : '';
      return `| ${s.group} | ${option} | ${env} | ${fallback} | ${s.description.replace(/\|/g, '\\|')}${secret} |`;
    });
  return [
    '| group | option | variable | default | meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
