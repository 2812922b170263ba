// The real `quotient explain` command, spawned on a seeded demo database (embedded, or
// DATABASE_URL), as an operator would run it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const root = join(import.meta.dirname, '..', '..');
let db: TestDatabase;

function quotient(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [join(root, 'src', 'cli.ts'), ...args, '--data-dir', db.dataDir],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...db.env } },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let person: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const seeded = quotient('seed', '--people', '40', '--teams', '5', '--days', '40');
  expect(seeded.code, seeded.err).toBe(0);
  const store = await db.open();
  try {
    const rows = await store.query<{ person_id: string }>(
      `select person_id from outcome_events group by person_id order by count(*) desc, person_id limit 1`,
    );
    person = rows[0].person_id;
  } finally {
    await store.close();
  }
}, 240_000);
afterAll(async () => {
  await db?.drop();
});

describe('quotient explain', () => {
  it('explains a seeded person: tier and rule, quota band, steps, rules, score and its facts', () => {
    const r = quotient('explain', person);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(new RegExp(`^${person.replace('.', '\\.')} \\(team `));
    expect(r.out).toContain('under halcyon-ai-governance');
    expect(r.out).toMatch(/^Tier: \w+ \(".+"\)$/m);
    expect(r.out).toMatch(/^ {2}because assign rule \d+/m);
    expect(r.out).toMatch(/^Quota \(tier \w+, model classes: .+\):$/m);
    expect(r.out).toMatch(/^ {2}band (green|yellow|red): /m);
    expect(r.out).toMatch(/^(Escalation steps: none fire|Escalation steps that fire:)$/m);
    expect(r.out).toMatch(/^Leaderboard value_per_token: /m);
    expect(r.out).toMatch(/^ {4}accepted \(quarter\) = \d/m);
    const json = JSON.parse(quotient('explain', person, '--format', 'json').out);
    expect(json.person).toEqual({ id: person, masked: false });
    expect(json.result.leaderboards.value_per_token.explanation.facts.length).toBeGreaterThan(0);
    // the read of a named individual is audited
    expect(quotient('audit', '--action', 'person.explain').out).toContain(person);
  }, 120_000);

  it('takes --window and --board, and names what it cannot find', () => {
    const r = quotient('explain', person, '--window', 'last-month', '--board', 'value_per_token');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/evaluated at the end of \d{4}-\d{2} \(/);
    const unknown = quotient('explain', 'nobody@nowhere.test');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain('person "nobody@nowhere.test" not found');
    const board = quotient('explain', person, '--board', 'nope');
    expect(board.err).toContain('leaderboard "nope" not found');
  }, 120_000);
});
