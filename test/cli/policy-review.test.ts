// The real `quotient policy publish | activate | log | diff | impact` commands, spawned as a
// reviewer would run them, on a fresh database (embedded, or DATABASE_URL).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../src/store/loader.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
const Q3 = join(root, 'policies', '2026-q3.policy');
const Q4 = join(root, 'policies', '2026-q4.policy');

let db: TestDatabase;
const tmp = mkdtempSync(join(tmpdir(), 'quotient-review-'));

function quotient(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [join(root, 'src', 'cli.ts'), 'policy', ...args, '--data-dir', db.dataDir],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...db.env },
    },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('quotient policy diff', () => {
  it('exits 0 whatever changed, and with --exit-code 1 with changes, 0 without', () => {
    const text = quotient('diff', Q3, Q4);
    expect(text.code).toBe(0);
    expect(quotient('diff', Q3, Q4, '--exit-code').code).toBe(1);
    expect(quotient('diff', Q4, Q4, '--exit-code').code).toBe(0);
    expect(text.out).toContain('semantic changes');
    expect(text.out).toContain('~ tier power changed');
    expect(text.out).toContain('limit: 20M tokens per month  →  10M tokens per month');
    const md = quotient('diff', Q3, Q4, '--format', 'markdown');
    expect(md.out).toMatch(/^# Policy review: /);
    const json = JSON.parse(quotient('diff', Q3, Q4, '--format', 'json').out);
    expect(json.equivalent).toBe(false);
    const same = quotient('diff', Q4, Q4);
    expect(same.code).toBe(0);
    expect(same.out).toContain('no semantic change');
  });

  it('exits 2 with the diagnostics of a broken file, or for an unknown version', () => {
    const broken = join(tmp, 'broken.policy');
    writeFileSync(
      broken,
      'policy "x" version "1"\ntier baseline { limit 2M tokens per month }\nassign nobody otherwise\n',
    );
    const r = quotient('diff', Q3, broken);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.policy:3:\d+: error/);
    expect(r.err).toContain('cannot compare');
    const unknown = quotient('diff', 'v7', Q4);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown policy version "v7"');
    const missing = quotient('diff', 'nowhere/q9.policy', Q4);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nowhere/q9.policy: no such file');
  }, 240_000);
});

describe('version history', () => {
  it('publishes, refuses duplicates of meaning, activates, rolls back and logs', async () => {
    const first = quotient(
      'publish',
      Q3,
      '--activate',
      '--message',
      'Q3 as run',
      '--author',
      'gov@halcyon.test',
    );
    expect(first.code).toBe(0);
    expect(first.out).toContain('published v1 (2026-Q3');
    expect(first.out).toContain('activated v1');

    // the same meaning in another layout stores nothing
    const relaid = join(tmp, 'q3-relaid.policy');
    writeFileSync(
      relaid,
      `# reformatted\n${(await import('node:fs')).readFileSync(Q3, 'utf8').replaceAll('  ', ' ')}`,
    );
    const dup = quotient('publish', relaid);
    expect(dup.code).toBe(0);
    expect(dup.out).toMatch(/^no semantic change: .* means the same as v1 \(2026-Q3, active/);

    const second = quotient('publish', Q4, '--activate', '--message', 'adopted at the Q3 review');
    expect(second.out).toContain('published v2 (2026-Q4');
    expect(second.out).toContain('parent v1');

    expect(quotient('diff', 'v1', 'v2', '--exit-code').code).toBe(1);
    expect(quotient('diff', '2026-Q4', Q4).code).toBe(0);

    const rollback = quotient('activate', 'v1');
    expect(rollback.code).toBe(0);
    expect(rollback.out).toContain('rolled back to v1 (2026-Q3');
    expect(rollback.out).toContain('v2 (2026-Q4) retired');

    const log = quotient('log');
    expect(log.out.split('\n')[0]).toMatch(/^ {2}v2 {2}2026-Q4 +retired/);
    expect(log.out.split('\n')[1]).toMatch(
      /^\* v1 {2}2026-Q3 +active .*gov@halcyon\.test.*"Q3 as run"/,
    );
    expect(quotient('activate', 'v9').code).toBe(2);

    const store = await db.open();
    try {
      const audit = await store.query<{ action: string; subject: string }>(
        "select action, subject from audit_log where action like 'policy.%' order by id",
      );
      expect(audit.map((a) => `${a.action} ${a.subject}`)).toEqual([
        'policy.publish policy#1',
        'policy.activate policy#1',
        'policy.publish policy#2',
        'policy.activate policy#2',
        'policy.rollback policy#1',
      ]);
    } finally {
      await store.close();
    }
  }, 240_000);
});

describe('quotient policy impact', () => {
  it('says when the window has no usage, and names bad windows', () => {
    const empty = quotient('impact', 'v1', 'v2', '--window', '2026-Q1');
    expect(empty.code).toBe(0);
    expect(empty.out).toContain(
      'no usage in window 2026-Q1 (2026-01-01 to 2026-04-01, Europe/London)',
    );
    const bad = quotient('impact', 'v1', 'v2', '--window', 'someday');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown window "someday"');
    const usage = quotient('impact', 'v1', 'v2');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("required option '--window <period>'");
  }, 240_000);

  it('audits a governance replay as the local operator; a viewer replay names nobody', async () => {
    const store = await db.open();
    try {
      const rows = [
        { type: 'team', team: 'platform' },
        { type: 'person', person: 'ana@halcyon.test', team: 'platform' },
        {
          type: 'usage',
          id: 'cli-impact-1',
          ts: '2026-10-14T10:00:00Z',
          person: 'ana@halcyon.test',
          model: 'claude-sonnet-4-5',
          input_tokens: 1_000,
          output_tokens: 100,
        },
      ];
      const loaded = await ingestBatch(
        store,
        rows.map((data, line) => ({ line, data })),
      );
      expect(loaded.totals.rejected).toBe(0);
    } finally {
      await store.close();
    }
    const viewer = quotient('impact', Q3, Q4, '--window', '2026-10', '--format', 'json');
    expect(viewer.code).toBe(0);
    expect(viewer.out).not.toContain('ana@halcyon.test');
    const governance = quotient(
      'impact',
      Q3,
      Q4,
      '--window',
      '2026-10',
      '--as-role',
      'governance',
      '--format',
      'json',
    );
    expect(governance.code).toBe(0);
    expect(JSON.parse(governance.out).identities).toBe('named');
    const after = await db.open();
    try {
      const audit = await after.query<Record<string, unknown>>(
        "select actor, role, action, subject from audit_log where action = 'policy.impact'",
      );
      expect(audit).toEqual([
        { actor: 'local', role: 'governance', action: 'policy.impact', subject: 'window 2026-10' },
      ]);
    } finally {
      await after.close();
    }
  }, 240_000);
});
