// Builds the console into web/dist when its inputs changed since the last build (npm
// `prepare` and `npm start` call this, so `npm install && npm start` needs nothing else).
// Staleness is a SHA-256 over the inputs' contents, so a fresh checkout with new mtimes
// does not rebuild for nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const INPUTS = [
  'web/src',
  'web/public',
  'web/index.html',
  'web/graphiql.html',
  'web/vite.config.ts',
  'src/policy',
  'grammar',
  'schema.graphql',
  'package-lock.json',
];
const STAMP = join(root, 'web/dist/.inputs-sha256');

function files(path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => files(relative(root, join(full, e.name))));
}

export function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap(files).sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

export function isStale(): boolean {
  if (!existsSync(join(root, 'web/dist/index.html'))) return true;
  try {
    return readFileSync(STAMP, 'utf8').trim() !== inputsHash();
  } catch {
    return true;
  }
}

export function build(): void {
  const vite = join(root, 'node_modules/vite/bin/vite.js');
  if (!existsSync(vite)) {
    console.warn('console: vite is not installed (dev dependencies omitted?); not building web/');
    return;
  }
  console.log('console: building web/ (vite)…');
  const result = spawnSync(
    process.execPath,
    [vite, 'build', '--config', join(root, 'web/vite.config.ts'), '--logLevel', 'warn'],
    // production React whatever the caller's NODE_ENV (vitest sets "test")
    { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (result.status !== 0) throw new Error(`the console build failed (exit ${result.status})`);
  writeFileSync(STAMP, `${inputsHash()}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--force') || isStale()) build();
}
