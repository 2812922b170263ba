// The `quotient` command: the program is assembled in src/cli/program.ts.
import { DomainError } from './app/errors.ts';
import { buildProgram } from './cli/program.ts';
import { debugging } from './config.ts';

const program = await buildProgram(process.argv.slice(2));
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // no stack trace for a condition a user can act on (the data directory in use, the
  // database unreachable, a file missing): one sentence; QUOTIENT_DEBUG=1 shows the stack
  console.error(`error: ${plainMessage(error)}`);
  if (debugging()) console.error(error);
  // a domain error exits with its catalog code (src/app/errors.ts), anything else with 1
  process.exit(error instanceof DomainError ? error.exitCode : 1);
}

function plainMessage(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED')
    return `cannot reach the database (${message}); is DATABASE_URL right and the server up?`;
  if (code === 'ENOENT' || code === 'EACCES') return message;
  return message.split('\n')[0];
}
