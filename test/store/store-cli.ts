// The store commands alone, as `quotient` registers them: lets the tests run the real
// commands in a child process without depending on the other command groups.
import { Command } from 'commander';
import { registerStoreCommands } from '../../src/cli/store.ts';

const program = new Command('quotient').exitOverride((err) =>
  process.exit(err.exitCode === 0 ? 0 : 2),
);
registerStoreCommands(program);
await program.parseAsync(process.argv);
