// Badge awards to announce: the sweep records each (badge, subject, window) once, and the
// notification round claims the ones not yet turned into notifications, as it does
// escalations (SKIP LOCKED, so concurrent instances take disjoint rows).
import { isoText, type Queryable } from './sql-text.ts';

export type BadgeAnnouncementDraft = {
  badge: string;
  label: string | null;
  subjectKind: 'person' | 'team';
  subjectId: string;
  windowStart: string;
  windowEnd: string;
  policyHash: string;
  explanation: unknown;
};

export type BadgeAnnouncement = BadgeAnnouncementDraft & { id: string };

/** Records awards not recorded before (by badge, subject and window start); returns how many were new. */
export async function recordBadgeAwards(
  db: Queryable,
  drafts: readonly BadgeAnnouncementDraft[],
  now: Date,
): Promise<number> {
  if (drafts.length === 0) return 0;
  const inserted = await db.query(
    `insert into badge_announcements (badge, label, subject_kind, subject_id, window_start,
                                      window_end, policy_hash, explanation, found_at)
     select r ->> 'badge', r ->> 'label', r ->> 'subjectKind', r ->> 'subjectId',
            (r ->> 'windowStart')::timestamptz, (r ->> 'windowEnd')::timestamptz,
            r ->> 'policyHash', r -> 'explanation', $2
       from jsonb_array_elements($1::jsonb) as r
     on conflict (badge, subject_kind, subject_id, window_start) do nothing
     returning id`,
    [JSON.stringify(drafts), now.toISOString()],
  );
  return inserted.length;
}

/** Locks up to `limit` awards not yet announced for this transaction (others skip them). */
export async function claimUnannouncedBadges(
  db: Queryable,
  limit: number,
): Promise<BadgeAnnouncement[]> {
  return db.query<BadgeAnnouncement>(
    `select id::text, badge, label, subject_kind as "subjectKind", subject_id as "subjectId",
            ${isoText('window_start')} as "windowStart", ${isoText('window_end')} as "windowEnd",
            policy_hash as "policyHash", explanation
       from badge_announcements
      where notified_at is null
      order by id
      limit $1
      for update skip locked`,
    [limit],
  );
}

export async function markBadgesAnnounced(db: Queryable, ids: string[], now: Date): Promise<void> {
  await db.query('update badge_announcements set notified_at = $2 where id = any ($1::bigint[])', [
    ids,
    now.toISOString(),
  ]);
}
