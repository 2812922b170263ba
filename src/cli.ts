// The `quotient` command: the program is assembled in src/cli/program.ts.
import { buildProgram } from './cli/program.ts';

const program = await buildProgram(process.argv.slice(2));
await program.parseAsync(process.argv);
