// `quotient webhooks add|list|remove` run as a user would, on a fresh database.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
// each command opens (and migrates) the database in a child process: slow on a busy machine
const SLOW = 240_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function quotient(...args: string[]) {
  const run = spawnSync(
    process.execPath,
    [join(root, 'src', 'cli.ts'), 'webhooks', ...args, '--data-dir', db.dataDir],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...db.env } },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('quotient webhooks', () => {
  it(
    'adds, lists and removes endpoints; a generated secret is shown once',
    () => {
      const added = quotient('add', 'manager', 'http://127.0.0.1:8787/hook');
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(/^webhook 1: manager → http:\/\/127\.0\.0\.1:8787\/hook$/m);
      expect(added.stdout).toMatch(/^secret \(shown once\): \S{20,}$/m);
      const fixed = quotient(
        'add',
        'all',
        'https://hooks.example.test/q',
        '--secret',
        's3cret-value',
        '--json',
      );
      expect(JSON.parse(fixed.stdout)).toMatchObject({
        id: '2',
        audience: 'all',
        secret: 's3cret-value',
      });

      const listed = quotient('list', '--json');
      const rows = JSON.parse(listed.stdout) as { id: string; audience: string; secret?: string }[];
      expect(rows.map((r) => `${r.id} ${r.audience}`)).toEqual(['1 manager', '2 all']);
      expect(rows.every((r) => r.secret === undefined)).toBe(true);

      expect(quotient('remove', 'https://hooks.example.test/q').stdout).toContain(
        'removed 1 webhook',
      );
      expect(quotient('list').stdout).toMatch(/1\s+manager\s+http:\/\/127\.0\.0\.1:8787\/hook/);
      const missing = quotient('remove', '99');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no webhook with id or URL 99');
    },
    SLOW,
  );

  it(
    'rejects bad input with exit 2 and a reason',
    () => {
      const audience = quotient('add', 'everyone', 'http://x.test/');
      expect(audience.code).toBe(2);
      expect(audience.stderr).toContain('unknown audience "everyone": use one of person, manager');
      const url = quotient('add', 'finance', 'ftp://x.test/');
      expect(url.code).toBe(2);
      expect(url.stderr).toContain('the URL must be http or https, not ftp:');
      expect(quotient('add', 'finance', 'not a url').stderr).toContain('not a URL: not a url');
      expect(quotient('add', 'finance', 'http://x.test/', '--secret', 'short').stderr).toContain(
        'secret: must be at least 8 characters',
      );
    },
    SLOW,
  );

  it(
    'lists given-up deliveries of webhooks and notifications, and re-drives them',
    async () => {
      const added = quotient('add', 'security', 'http://127.0.0.1:8787/security', '--json');
      const hook = JSON.parse(added.stdout) as { id: string; secret: string };
      // a generated secret is a Standard Webhooks one
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const store = await db.open();
      let outboxId: string;
      let noteId: string;
      try {
        [{ id: outboxId }] = await store.query<{ id: string }>(
          `insert into outbox (webhook_id, event_type, payload, idempotency_key, attempts, next_attempt_at, last_error)
           values ($1, 'escalation.raised', '{}', 'given-up-1', 15, null, 'HTTP 500 Internal Server Error')
           returning id::text`,
          [hook.id],
        );
        [{ id: noteId }] = await store.query<{ id: string }>(
          `insert into notifications (recipient, role, channel, address, dedup_key, status, message, attempts, last_error)
           values ('ana@acme.test', 'person', 'email', 'ana@acme.test', 'given-up-2', 'failed', '{}', 15, 'connect ECONNREFUSED')
           returning id::text`,
        );
      } finally {
        await store.close();
      }
      const failed = quotient('failed', '--json');
      expect(failed.code, failed.stderr).toBe(0);
      expect(JSON.parse(failed.stdout)).toEqual([
        expect.objectContaining({
          id: `w${outboxId}`,
          channel: 'webhook',
          lastError: 'HTTP 500 Internal Server Error',
        }),
        expect.objectContaining({ id: `n${noteId}`, channel: 'email', to: 'ana@acme.test' }),
      ]);
      expect(quotient('redrive', `w${outboxId}`).stdout).toContain(
        'queued again: 1 webhook delivery, 0 notifications',
      );
      expect(quotient('redrive').stdout).toContain(
        'queued again: 0 webhook deliveries, 1 notification',
      );
      expect(quotient('failed').stdout).toContain('no failed deliveries');
      const bad = quotient('redrive', '12');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('not a delivery id: 12 (expected w<id> or n<id>)');
    },
    SLOW,
  );
});
