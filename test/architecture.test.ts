// The layer rules of DESIGN.md that a reader cannot see at a glance: only src/store/ holds
// SQL, src/policy/ does no I/O, and only src/config.ts reads the environment. Each check
// reads the source files as text.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The file without its comments, so prose such as "select the rows" is not SQL. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** String and template literals of a file (approximate: enough for SQL statements). */
function literals(text: string): string[] {
  return [...text.matchAll(/`(?:\\[\s\S]|[^`\\])*`|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g)].map(
    (m) => m[0],
  );
}

// SQL in this codebase is lower case, which keeps capitalised prose ("Select a board from
// the list") from matching.
const SQL_STATEMENT = [
  /^\s*[`'"]\s*select\b[\s\S]*\bfrom\b/,
  /^\s*[`'"]\s*select\s+\d/i,
  /\binsert\s+into\s+\w/i,
  /^\s*[`'"]\s*update\s+\w+\s+set\b/i,
  /\bdelete\s+from\s+\w/i,
  /^\s*[`'"]\s*with\s+\w+\s+as\s*\(/i,
];
const SQL_CALL = [/\.query\s*[<(]/, /\bem\.execute\s*[<(]/, /\.execute\s*<[^>]*>\s*\(/];

/** Every place outside src/store/ that runs or holds SQL text. */
function sqlOutsideStore(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    const body = code(text);
    for (const pattern of SQL_CALL)
      if (pattern.test(body)) found.push(`${path}: calls ${pattern.source}`);
    for (const literal of literals(body))
      if (SQL_STATEMENT.some((p) => p.test(literal)))
        found.push(`${path}: SQL text ${literal.slice(0, 60).replace(/\s+/g, ' ')}`);
  }
  return found;
}

const read = (path: string) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') });

describe('layers', () => {
  it('keeps SQL in src/store/ only', () => {
    const files = sourceFiles('src')
      .filter((path) => !path.startsWith(join('src', 'store')))
      .map(read);
    expect(sqlOutsideStore(files)).toEqual([]);
  });

  it('would notice SQL outside the store', () => {
    const samples = [
      "await ctx.em.execute('select 1')",
      'const rows = await store.query(q)',
      'const q = `select id, name\n from people where id = $1`;',
      "const q = 'insert into audit_log (actor) values ($1)';",
      "const q = 'update people set opted_in = true';",
      "const q = 'delete from teams where id = $1';",
      'const q = `with recent as (select 1) select * from recent`;',
    ];
    for (const text of samples)
      expect(sqlOutsideStore([{ path: 'sample.ts', text }])).not.toEqual([]);
    const prose = [
      '// select the rows from the cache, then update the board',
      "const label = 'Select a board from the list';",
    ];
    for (const text of prose) expect(sqlOutsideStore([{ path: 'sample.ts', text }])).toEqual([]);
  });

  it('keeps src/policy/ free of I/O', () => {
    const io =
      /from\s+['"](node:)?(fs|fs\/promises|net|http|https|child_process|dgram|worker_threads|pg|@mikro-orm\/[\w-]+|@electric-sql\/[\w-]+)['"]|\bfetch\s*\(|\bprocess\.(env|stdout|stderr|stdin)\b/;
    const offenders = sourceFiles('src/policy')
      .map(read)
      .filter(({ text }) => io.test(code(text)))
      .map(({ path }) => relative(ROOT, join(ROOT, path)));
    expect(offenders).toEqual([]);
    // and src/policy imports nothing from the layers to its right
    const upward = sourceFiles('src/policy')
      .map(read)
      .filter(({ text }) => /from\s+['"]\.\.\/(\.\.\/)?(engine|store|app|api|cli)\//.test(text))
      .map(({ path }) => path);
    expect(upward).toEqual([]);
  });

  it('reads the environment only in src/config.ts, where every setting is', () => {
    // what may stay: the web build script hands NODE_ENV to the bundler it runs
    const allowed = new Set(['src/config.ts', 'web/scripts/build-if-stale.ts']);
    const files = [...sourceFiles('src'), ...sourceFiles('web/scripts'), ...sourceFiles('web/src')]
      .filter((path) => !allowed.has(path))
      .map(read);
    expect(readsEnvironment(files)).toEqual([]);
    // and the check sees the ways code reads it
    for (const text of [
      'const url = process.env.DATABASE_URL;',
      "const key = process.env['QUOTIENT_METRICS_KEY'];",
      'const { PORT } = process.env;',
      'function f(env = process.env) {}',
    ])
      expect(readsEnvironment([{ path: 'sample.ts', text }])).toEqual(['sample.ts']);
    expect(
      readsEnvironment([{ path: 'sample.ts', text: '// process.env is read by config' }]),
    ).toEqual([]);
  });
});

function readsEnvironment(files: { path: string; text: string }[]): string[] {
  return files
    .filter(({ text }) => /\bprocess\s*\.\s*env\b/.test(code(text)))
    .map(({ path }) => path);
}
