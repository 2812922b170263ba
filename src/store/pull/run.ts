// One pull of one source: read the cursor, page through the API from a little before it to
// now, load every page through the same loader as `quotient import` (report rows restate
// their buckets, events de-duplicate by id), then move the cursor. A failed pull leaves the
// cursor where it was: the next one reads the same window again, and nothing counts twice.
import type { PriceTable } from '../../policy/price.ts';
import { restateClaudeCodeOutcomes, writeClaudeCodeActivity } from '../claude-code-activity.ts';
import type { Store } from '../db.ts';
import { anthropicUsageToRows } from '../ingest/anthropic.ts';
import {
  claudeCodeActivity,
  claudeCodeOutcomeIds,
  claudeCodeToRows,
} from '../ingest/claude-code.ts';
import { litellmToRows } from '../ingest/litellm.ts';
import type { IngestRow } from '../ingest/native.ts';
import { openaiUsageToRows } from '../ingest/openai.ts';
import { addTotals, emptyTotals, type IngestTotals, ingestBatch } from '../loader.ts';
import { activeIngestSettings } from '../prices.ts';
import type { PullHttp } from './http.ts';
import { withPullLock } from './lock.ts';
import { type PullSource, pages, REOPEN_MS, type SourceConfig } from './sources.ts';

const MAPPERS: Record<PullSource, (body: unknown) => IngestRow[]> = {
  anthropic: anthropicUsageToRows,
  openai: openaiUsageToRows,
  'claude-code': claudeCodeToRows,
  litellm: litellmToRows,
};

/** With no cursor and no --since, a first pull reads this far back. */
export const FIRST_PULL_MS = 7 * 86_400_000;

export type PullResult = {
  source: PullSource;
  from: string;
  to: string;
  pages: number;
  totals: IngestTotals;
};

export async function pullCursor(store: Store, source: PullSource): Promise<Date | null> {
  const rows = await store.query<{ pulled_to: Date }>(
    'select pulled_to from pull_cursors where source = $1',
    [source],
  );
  return rows[0] ? new Date(rows[0].pulled_to) : null;
}

async function moveCursor(store: Store, source: PullSource, to: Date, rows: number) {
  await store.query(
    `insert into pull_cursors (source, pulled_to, last_rows) values ($1, $2, $3)
     on conflict (source) do update set pulled_to = excluded.pulled_to,
       last_rows = excluded.last_rows, updated_at = now()`,
    [source, to.toISOString(), rows],
  );
}

export type PullOptions = {
  /** start here instead of at the cursor */
  since?: Date;
  now?: Date;
  http?: PullHttp;
  prices?: PriceTable;
  timezone?: string;
  onPage?: (pages: number, totals: IngestTotals) => void;
};

/** Pulls one source, holding its pull lock (src/store/pull/lock.ts) throughout. */
export function pullSource(
  store: Store,
  source: PullSource,
  config: SourceConfig,
  options: PullOptions = {},
): Promise<PullResult> {
  return withPullLock(store, source, () => pullUnlocked(store, source, config, options));
}

async function pullUnlocked(
  store: Store,
  source: PullSource,
  config: SourceConfig,
  options: PullOptions,
): Promise<PullResult> {
  const now = options.now ?? new Date();
  const cursor = await pullCursor(store, source);
  const from =
    options.since ??
    (cursor
      ? new Date(cursor.getTime() - REOPEN_MS[source])
      : new Date(now.getTime() - FIRST_PULL_MS));
  const settings =
    options.prices && options.timezone
      ? { prices: options.prices, timezone: options.timezone }
      : await activeIngestSettings(store);
  const totals = emptyTotals();
  let count = 0;
  for await (const body of pages(source, config, { from, to: now }, options.http)) {
    count++;
    const result = await ingestBatch(store, MAPPERS[source](body), {
      source,
      prices: settings.prices,
      timezone: settings.timezone,
      now: now.getTime(),
      onlyProblems: true,
    });
    addTotals(totals, result.totals);
    // Claude Code core_metrics (sessions, lines, commits, pull requests) are kept apart
    // and a restated day whose tool-action counts went down loses the outcomes it no longer has
    if (source === 'claude-code') {
      await writeClaudeCodeActivity(store, claudeCodeActivity(body));
      await restateClaudeCodeOutcomes(store, claudeCodeOutcomeIds(body), settings.timezone);
    }
    options.onPage?.(count, totals);
  }
  if (totals.failedChunks === 0) await moveCursor(store, source, now, totals.rows);
  return { source, from: from.toISOString(), to: now.toISOString(), pages: count, totals };
}
