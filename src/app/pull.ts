// Pulling usage from the providers' APIs (`quotient pull`, and the schedule inside
// `quotient serve`). Credentials come from the configuration (settings, or variables) only:
// they are never stored, logged or put in an error (src/store/pull/http.ts names the URL without its query).
import type { Store } from '../store/db.ts';
import { PullError } from '../store/pull/http.ts';
import { type PullOptions, type PullResult, pullSource } from '../store/pull/run.ts';
import {
  type ProviderEndpoints,
  PULL_SOURCES,
  type PullSource,
  sourceConfig,
} from '../store/pull/sources.ts';
import { ForbiddenError, InvalidArgumentError } from './errors.ts';
import { can, type Role } from './roles.ts';

export { PULL_SOURCES, PullError, type PullResult, type PullSource };

export function isPullSource(value: string): value is PullSource {
  return (PULL_SOURCES as readonly string[]).includes(value);
}

/** Pulls each source in turn; a source that fails is reported and the others still run. */
export async function pullUsage(
  store: Store,
  caller: { role: Role },
  sources: readonly string[],
  options: PullOptions & { providers: ProviderEndpoints },
): Promise<{ results: PullResult[]; failures: { source: string; message: string }[] }> {
  if (!can(caller.role, 'governance')) throw new ForbiddenError('pulling usage is governance work');
  for (const s of sources)
    if (!isPullSource(s))
      throw new InvalidArgumentError(
        'source',
        `unknown source "${s}" (expected one of ${PULL_SOURCES.join(', ')})`,
      );
  const results: PullResult[] = [];
  const failures: { source: string; message: string }[] = [];
  for (const source of sources as PullSource[]) {
    try {
      results.push(
        await pullSource(store, source, sourceConfig(source, options.providers), options),
      );
    } catch (error) {
      if (!(error instanceof PullError)) throw error;
      failures.push({ source, message: error.message });
    }
  }
  return { results, failures };
}

/**
 * The schedule inside `quotient serve`: the pull-sources setting every pull-every-minutes.
 * One run at a time per process; across processes the pull lock (src/store/pull/lock.ts)
 * lets one pull a source, the others skip it.
 */
export function startPullSchedule(
  store: Store,
  pull: { sources: readonly string[]; everyMinutes: number; providers: ProviderEndpoints },
  log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void },
): { stop(): void } | null {
  const { sources, everyMinutes: minutes, providers } = pull;
  if (sources.length === 0) return null;
  const unknown = sources.filter((s) => !isPullSource(s));
  if (unknown.length > 0) throw new Error(`QUOTIENT_PULL_SOURCES: unknown ${unknown.join(', ')}`);
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const { results, failures } = await pullUsage(store, { role: 'admin' }, sources, {
        providers,
      });
      for (const r of results)
        log.info(
          { source: r.source, pages: r.pages, rows: r.totals.rows, replaced: r.totals.replaced },
          'pulled usage',
        );
      for (const f of failures) log.warn(f, 'pull failed; the next run reads the same window');
    } catch (error) {
      log.warn({ err: error }, 'pull failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(run, minutes * 60_000);
  timer.unref();
  void run();
  return { stop: () => clearInterval(timer) };
}
