#!/usr/bin/env node
// Quotient runs TypeScript through Node's type stripping, which needs Node >= 22.17.
// When an older system Node starts this shim, hand over to the project's node@24.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 17)) {
  await import(join(root, 'src', 'cli.ts'));
} else {
  const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bundled)) {
    console.error(
      `quotient needs Node >= 22.17 (found ${process.versions.node}); run npm install first.`,
    );
    process.exit(2);
  }
  const result = spawnSync(bundled, [join(root, 'src', 'cli.ts'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
