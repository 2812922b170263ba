// `quotient audit` run as an operator would, and `quotient import` writing to it: a
// directory file that moves a person between teams, changes consent or a team's
// sensitivity is audited (docs/privacy.md, R9 and R10); the log filters by action, actor,
// subject and time, and pages newest first with --before.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
// each command opens (and migrates) the database in a child process: slow on a busy machine
const SLOW = 240_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  const store = await db.open();
  try {
    // entries by two keys at known instants, oldest first (ids rise with them)
    await store.query(
      `insert into audit_log (at, actor, role, action, subject, detail)
       values ('2026-10-01T09:00:00Z', 'k-gov', 'governance', 'read.person', 'ana@acme.test', '{}'),
              ('2026-10-02T09:00:00Z', 'k-gov', 'governance', 'read.usage', 'bo@acme.test', '{}'),
              ('2026-10-03T09:00:00Z', 'k-admin', 'admin', 'key.create', 'k-new', '{}'),
              ('2026-10-04T09:00:00Z', 'k-gov', 'governance', 'read.person', 'bo@acme.test', '{}')`,
    );
  } finally {
    await store.close();
  }
}, SLOW);
afterAll(async () => {
  await db?.drop();
});

function quotient(...args: string[]) {
  const run = spawnSync(
    process.execPath,
    [join(root, 'src', 'cli.ts'), ...args, '--data-dir', db.dataDir],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...db.env } },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

type Entry = { id: string; at: string; actor: string | null; role: string; action: string };
const json = (stdout: string): Entry[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Entry);
const actions = (stdout: string) => json(stdout).map((e) => `${e.action} ${e.at.slice(0, 10)}`);

describe('quotient audit', () => {
  it(
    'filters by action (exact or prefix), actor, subject and time, newest first',
    () => {
      expect(actions(quotient('audit', '--action', 'read.person', '--json').stdout)).toEqual([
        'read.person 2026-10-04',
        'read.person 2026-10-01',
      ]);
      expect(actions(quotient('audit', '--action', 'read.*', '--json').stdout)).toEqual([
        'read.person 2026-10-04',
        'read.usage 2026-10-02',
        'read.person 2026-10-01',
      ]);
      expect(actions(quotient('audit', '--actor', 'k-admin', '--json').stdout)).toEqual([
        'key.create 2026-10-03',
      ]);
      expect(
        actions(quotient('audit', '--subject', 'bo@acme.test', '--json').stdout).sort(),
      ).toEqual(['read.person 2026-10-04', 'read.usage 2026-10-02']);
      // --since inclusive, --until exclusive
      const window = quotient(
        'audit',
        '--since',
        '2026-10-02T09:00:00Z',
        '--until',
        '2026-10-04T09:00:00Z',
        '--json',
      );
      expect(actions(window.stdout)).toEqual(['key.create 2026-10-03', 'read.usage 2026-10-02']);
    },
    SLOW,
  );

  it(
    'pages with --before, telling the next cursor on stderr',
    () => {
      const first = quotient('audit', '--action', 'read.*', '--limit', '2');
      expect(first.code).toBe(0);
      const lines = first.stdout.trim().split('\n');
      expect(lines.map((l) => l.split('\t')[4])).toEqual(['read.person', 'read.usage']);
      expect(lines[0].split('\t')[2]).toBe('k-gov');
      const cursor = /^more: --before (\d+)$/m.exec(first.stderr)?.[1];
      expect(cursor).toBe(lines[1].split('\t')[0]);
      const next = quotient('audit', '--action', 'read.*', '--limit', '2', '--before', cursor!);
      const rest = next.stdout.trim().split('\n');
      expect(rest.map((l) => `${l.split('\t')[4]} ${l.split('\t')[1].slice(0, 10)}`)).toEqual([
        'read.person 2026-10-01',
      ]);
      expect(next.stderr).not.toContain('more:');
    },
    SLOW,
  );

  it(
    'rejects bad input with a reason naming the option',
    () => {
      const since = quotient('audit', '--since', 'yesterday');
      expect(since.code).toBe(2);
      expect(since.stderr).toContain('expected an ISO-8601 instant, got "yesterday"');
      const limit = quotient('audit', '--limit', '0');
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('--limit must be a whole number');
      const cursor = quotient('audit', '--before', 'abc');
      expect(cursor.code).toBe(2);
      expect(cursor.stderr).toContain('invalid cursor');
    },
    SLOW,
  );

  it(
    'shows directory changes made by quotient import, with the old and new values',
    () => {
      const file = join(db.dataDir, 'directory.jsonl');
      const rows = (lines: object[]) =>
        writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
      rows([
        { type: 'team', team: 'platform', cost_center: 'CC-1' },
        { type: 'team', team: 'security', sensitivity: 'restricted' },
        { type: 'person', person: 'cy@acme.test', team: 'security', opted_in: true },
      ]);
      expect(quotient('import', file).code).toBe(0);
      // creating people and teams changes nothing stored: nothing to audit yet
      expect(json(quotient('audit', '--action', 'directory.*', '--json').stdout)).toEqual([]);
      rows([
        { type: 'team', team: 'security', sensitivity: 'normal' },
        { type: 'team', team: 'platform', cost_center: 'CC-2', parent: 'security' },
        {
          type: 'person',
          person: 'cy@acme.test',
          team: 'platform',
          opted_in: false,
          manager: 'bo@acme.test',
        },
        { type: 'person', person: 'cy@acme.test', name: 'Cy' }, // a patch: nothing audited
      ]);
      expect(quotient('import', file).code).toBe(0);
      const logged = json(quotient('audit', '--action', 'directory.*', '--json').stdout);
      expect(
        logged
          .map(({ id: _id, at: _at, ...e }) => e)
          .sort((a, b) => a.action.localeCompare(b.action)),
      ).toEqual([
        {
          action: 'directory.person.consent',
          actor: null,
          role: 'local',
          subject: 'cy@acme.test',
          detail: { from: true, to: false },
        },
        {
          action: 'directory.person.manager',
          actor: null,
          role: 'local',
          subject: 'cy@acme.test',
          detail: { from: null, to: 'bo@acme.test' },
        },
        {
          action: 'directory.person.team',
          actor: null,
          role: 'local',
          subject: 'cy@acme.test',
          detail: { from: 'security', to: 'platform' },
        },
        {
          action: 'directory.team.cost_center',
          actor: null,
          role: 'local',
          subject: 'platform',
          detail: { from: 'CC-1', to: 'CC-2' },
        },
        {
          action: 'directory.team.parent',
          actor: null,
          role: 'local',
          subject: 'platform',
          detail: { from: null, to: 'security' },
        },
        {
          action: 'directory.team.sensitivity',
          actor: null,
          role: 'local',
          subject: 'security',
          detail: { from: 'restricted', to: 'normal' },
        },
      ]);
    },
    SLOW,
  );
});
