// One configuration: every setting from a flag or its QUOTIENT_* variable (the flag wins),
// checked the same way from both, printed by `quotient config` with secrets redacted, and
// documented in docs/operations-config.md.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envName, loadConfig, SETTINGS, settingsTable } from '../../src/config.ts';

const ALIASES = SETTINGS.flatMap((s) => s.aliases ?? []);

function quotient(args: string[], env: Record<string, string> = {}) {
  const base = { ...process.env } as Record<string, string>;
  for (const key of Object.keys(base))
    if (key.startsWith('QUOTIENT_') || ALIASES.includes(key)) delete base[key];
  return spawnSync(process.execPath, ['src/cli.ts', ...args], {
    env: { ...base, ...env },
    encoding: 'utf8',
  });
}

type Shown = { name: string; env: string; value: string; source: string };

function shown(run: ReturnType<typeof quotient>): Map<string, Shown> {
  expect(run.status, run.stderr).toBe(0);
  return new Map((JSON.parse(run.stdout) as Shown[]).map((s) => [s.name, s]));
}

describe('quotient config', () => {
  it('takes each setting from its flag, else its variable, else the default', () => {
    const run = quotient(['config', '--json', '--port', '5001', '--log-format', 'json'], {
      QUOTIENT_PORT: '5000',
      QUOTIENT_METRICS_PORT: '9464',
      QUOTIENT_DIGEST_HOUR: '6',
    });
    const s = shown(run);
    expect(s.get('port')).toMatchObject({ value: '5001', source: 'flag', env: 'QUOTIENT_PORT' });
    expect(s.get('log-format')).toMatchObject({ value: 'json', source: 'flag' });
    expect(s.get('metrics-port')).toMatchObject({ value: '9464', source: 'env' });
    expect(s.get('digest-hour')).toMatchObject({ value: '6', source: 'env' });
    expect(s.get('host')).toMatchObject({ value: '127.0.0.1', source: 'default' });
    expect(s.get('smtp-url')).toMatchObject({ value: '', source: 'unset' });
    expect(s.size).toBe(SETTINGS.length);
  });

  it('redacts secrets: keys whole, URL passwords, webhook URLs in the group map', () => {
    const run = quotient(['config', '--json', '--metrics-key', 'flag-secret-123'], {
      DATABASE_URL: 'postgres://quotient:db-password@db.internal:5432/quotient',
      QUOTIENT_SMTP_URL: 'smtp://mailer:smtp-password@smtp.acme.test:587',
      QUOTIENT_OIDC_CLIENT_SECRET: 'oidc-secret-456',
      QUOTIENT_SLACK_BOT_TOKEN: 'xoxb-slack-secret-789',
      // a provider key under its older name
      OPENAI_ADMIN_KEY: 'sk-admin-openai-secret',
      QUOTIENT_NOTIFY_GROUPS:
        'finance=slack:https://hooks.slack.com/services/T000/B000/hook-secret,email:finance@acme.test',
    });
    const s = shown(run);
    for (const secret of [
      'flag-secret-123',
      'db-password',
      'smtp-password',
      'oidc-secret-456',
      'hook-secret',
      'slack-secret',
      'openai-secret',
    ])
      expect(run.stdout).not.toContain(secret);
    expect(s.get('metrics-key')?.value).toBe('********');
    // the older DATABASE_URL still counts, under its QUOTIENT_ name
    expect(s.get('database-url')?.value).toBe(
      'postgres://quotient:********@db.internal:5432/quotient',
    );
    expect(s.get('smtp-url')?.value).toBe('smtp://mailer:********@smtp.acme.test:587');
    expect(s.get('notify-groups')?.value).toBe(
      'finance=slack:https://hooks.slack.com/********,email:finance@acme.test',
    );
    expect(s.get('oidc-client-secret')?.value).toBe('********');
    expect(s.get('slack-bot-token')?.value).toBe('********');
    expect(s.get('openai-admin-key')).toMatchObject({ value: '********', source: 'env' });
    // the readable listing redacts the same way
    const text = quotient(['config', '--metrics-key', 'flag-secret-123']);
    expect(text.status).toBe(0);
    expect(text.stdout).not.toContain('flag-secret-123');
    expect(text.stdout).toMatch(/metrics-key\s+\*{8}\s+\[--metrics-key\]/);
  });

  it('checks a variable as strictly as a flag, naming it', () => {
    const run = quotient(['config'], { QUOTIENT_PORT: 'eighty' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("value 'eighty' from env 'QUOTIENT_PORT' is invalid");
    const flag = quotient(['serve', '--log-level', 'loud']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('expected one of trace, debug, info');
  });

  it('gives every database command --database-url, read from QUOTIENT_DATABASE_URL too', () => {
    for (const command of [
      ['migrate'],
      ['seed'],
      ['keys', 'list'],
      ['backup', 'x'],
      ['webhooks', 'list'],
    ]) {
      const help = quotient([...command, '--help']);
      expect(help.stdout, command.join(' ')).toContain('--database-url <url>');
      expect(help.stdout).toContain('env: QUOTIENT_DATABASE_URL');
    }
    const backup = quotient(['backup', 'x.tar.gz'], {
      QUOTIENT_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    });
    expect(backup.status).toBe(2);
    expect(backup.stderr).toContain('pg_dump');
  });

  it('reads the same values in code (loadConfig) as on the command line', () => {
    const config = loadConfig(undefined, { QUOTIENT_PORT: '7000', LOG_LEVEL: 'warn' });
    expect(config.port).toBe(7000);
    expect(config.logLevel).toBe('warn');
    expect(config.dataDir).toBe('.quotient');
    expect(config.metricsPort).toBeUndefined();
  });

  it('is documented: the table in docs/operations-config.md is the one src/config.ts makes', () => {
    const doc = readFileSync('docs/operations-config.md', 'utf8');
    expect(doc).toContain(settingsTable());
    for (const s of SETTINGS) expect(doc).toContain(envName(s.name));
  });
});
