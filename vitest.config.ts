import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Node's compile cache (content-keyed, Node's own default directory): the workers load the
// dependencies, and the tests start `quotient` in child processes, from cached bytecode
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'node-compile-cache');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // every migration runs once, into a template each test file's database copies
    globalSetup: ['test/support/db-template.ts'],
    // at least two files at once (Vitest's default leaves one core to its main process, so
    // one worker on two cores): the files spend much of their time waiting on child
    // processes, servers and the database, and a second worker uses that time
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
