// The read side's services now live in src/app/reads.ts; kept for the transports' imports.
import { type ReadService, readServiceFor } from '../app/reads.ts';
import type { Context } from './context.ts';

export { warmLeaderboards } from '../app/boards.ts';
export { type ReadService, readServiceFor } from '../app/reads.ts';

export function readService(ctx: Context): ReadService {
  return readServiceFor(ctx.store);
}
