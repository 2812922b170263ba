// Persisted boards evaluations (migration 20261207031000): written after an evaluation,
// read by a server whose cache holds none yet. The snapshot's shape is the app's
// (src/app/board-snapshots.ts); the store keeps it as JSON text.
import type { Store } from './db.ts';

export type StoredBoardSnapshot = {
  policyHash: string;
  clockStamp: string;
  watermark: string;
  writtenAt: Date;
  snapshot: unknown;
  /** JSON text kept apart from the snapshot (parsed on first use), or null */
  explanations: string | null;
};

/** How long a snapshot nobody rewrote is kept: a window's boards are rewritten whenever evaluated. */
const KEEP_DAYS = 35;

/**
 * Stores a snapshot unless one of the same key already holds a newer watermark (two
 * servers, or a slow write overtaken by a later one), and drops snapshots not rewritten
 * for KEEP_DAYS (past days' current windows).
 */
export async function saveBoardSnapshot(
  store: Store,
  row: {
    policyHash: string;
    clockStamp: string;
    watermark: string;
    snapshot: unknown;
    explanations?: string | null;
  },
): Promise<void> {
  await store.query(
    `insert into board_snapshots (policy_hash, clock_stamp, watermark, snapshot, explanations)
     values ($1, $2, $3::bigint, $4::json, $5)
     on conflict (policy_hash, clock_stamp) do update
        set watermark = excluded.watermark, snapshot = excluded.snapshot,
            explanations = excluded.explanations, written_at = now()
      where board_snapshots.watermark <= excluded.watermark`,
    [
      row.policyHash,
      row.clockStamp,
      row.watermark,
      JSON.stringify(row.snapshot),
      row.explanations ?? null,
    ],
  );
  await store.query(
    `delete from board_snapshots where written_at < now() - make_interval(days => $1)`,
    [KEEP_DAYS],
  );
}

/** The snapshot stored for a policy and clock stamp, or null. */
export async function loadBoardSnapshot(
  store: Store,
  policyHash: string,
  clockStamp: string,
): Promise<StoredBoardSnapshot | null> {
  const rows = await store.query<{
    watermark: string;
    written_at: Date;
    snapshot: unknown;
    explanations: string | null;
  }>(
    `select watermark::text as watermark, written_at, snapshot, explanations
       from board_snapshots where policy_hash = $1 and clock_stamp = $2`,
    [policyHash, clockStamp],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    policyHash,
    clockStamp,
    watermark: row.watermark,
    writtenAt: row.written_at,
    snapshot: row.snapshot,
    explanations: row.explanations,
  };
}
