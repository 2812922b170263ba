// docs/cli.md is generated from the commands (`npm run docs`); this fails when it is stale,
// and checks that the generated text is what each command's `--help` really prints.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { commandHelps, referenceMarkdown, referencePath } from '../../src/cli/reference.ts';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('docs/cli.md', () => {
  it('matches the commands (run `npm run docs` after changing a command)', async () => {
    expect(readFileSync(referencePath, 'utf8')).toBe(await referenceMarkdown());
  });

  it("is what each command's --help prints", async () => {
    const helps = commandHelps(await buildProgram('all'));
    expect(helps.length).toBeGreaterThan(20);
    // a few at a time: the machine is shared
    for (let i = 0; i < helps.length; i += 4) {
      await Promise.all(
        helps.slice(i, i + 4).map(async ({ path, help }) => {
          const { stdout } = await run(
            process.execPath,
            [join(root, 'src', 'cli.ts'), ...path, '--help'],
            { cwd: root, env: { ...process.env, COLUMNS: '200' } },
          );
          expect(stdout, `quotient ${path.join(' ')} --help`).toBe(help);
        }),
      );
    }
    // one process per command: slow on a loaded machine, never wrong
  }, 300_000);
});
