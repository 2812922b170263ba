// Badge announcements: a person hears once that they earned a badge, per badge and window
// (the next window's award is news again). The sweep records the awards of the boards
// evaluation it reads; the notification round turns unannounced ones into notifications.
//
// Who hears it (docs/language/badges.md, docs/privacy.md): only the person themself, on
// their own notification preference. A badge is their own figure; naming them to a channel
// would publish a named person's result, which nothing below governance may read. People
// who have not opted in and members of restricted teams are not announced at all (their
// badges stay readable to them on Person.badges). Team badges are not announced.
import type { Evaluation } from '../engine/evaluation.ts';
import type { RuleSet } from '../policy/compile/ruleset.ts';
import type { Explanation } from '../policy/evaluate/types.ts';
import { boardBounds } from '../policy/windows.ts';
import {
  type BadgeAnnouncement,
  type BadgeAnnouncementDraft,
  claimUnannouncedBadges,
  markBadgesAnnounced,
  recordBadgeAwards,
} from '../store/badge-announcements.ts';
import type { Store } from '../store/db.ts';
import { insertNotifications, readPreferences } from '../store/notifications.ts';
import { queryableOf } from '../store/sql-text.ts';
import { type Message, type NotificationSettings, personDestination } from './notifications.ts';
import { readServiceFor } from './reads.ts';

/** The awards of an evaluation that may be announced, each with its window's bounds. */
export function announceableAwards(
  ruleSet: RuleSet,
  evaluation: Evaluation,
  policyHash: string,
  now: Date,
): BadgeAnnouncementDraft[] {
  const teams = new Map(evaluation.directory.teams.map((t) => [t.id, t]));
  const people = new Map(evaluation.directory.people.map((p) => [p.id, p]));
  const drafts: BadgeAnnouncementDraft[] = [];
  for (const subject of evaluation.result.subjects) {
    if (subject.kind !== 'person' || subject.badges.length === 0) continue;
    const person = people.get(subject.id);
    if (!person?.optedIn) continue;
    const team = person.team ? teams.get(person.team) : undefined;
    if (team?.sensitivity === 'restricted') continue;
    for (const award of subject.badges) {
      const bounds = boardBounds(ruleSet.ir, award.window, now);
      drafts.push({
        badge: award.badge,
        label: award.label,
        subjectKind: 'person',
        subjectId: subject.id,
        windowStart: bounds.start.toISOString(),
        windowEnd: bounds.end.toISOString(),
        policyHash,
        explanation: award.explanation,
      });
    }
  }
  return drafts;
}

/** The sweep's part: records the active policy's new awards as of now; returns how many. */
export async function recordNewBadgeAwards(store: Store, now: Date): Promise<number> {
  const reads = readServiceFor(store);
  const active = await reads.active();
  if (!active || active.ruleSet.badges.length === 0) return 0;
  const marks = await reads.marks(active);
  const current = await reads.cache.current(active.ruleSet, now, marks, 'boards');
  return recordBadgeAwards(
    store,
    announceableAwards(active.ruleSet, current.evaluation, active.hash, now),
    now,
  );
}

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

/** What the person is told: the badge, its window and what earned it. */
export function badgeMessage(award: BadgeAnnouncement, consoleUrl: string): Message {
  const name = award.label ?? award.badge;
  const explanation = award.explanation as Explanation;
  const last = new Date(Date.parse(award.windowEnd) - 1).toISOString().slice(0, 10);
  return {
    title: `You earned the badge “${name}”`,
    summary: `Awarded for ${award.windowStart.slice(0, 10)} to ${last}: ${explanation.formula}`,
    action: { label: 'See your badges', url: `${consoleUrl.replace(/\/$/, '')}/` },
    facts: [
      ...explanation.facts.map((f): [string, string] => [
        `${f.name} (${f.window.startsWith('season(') ? 'season' : f.window})`,
        number.format(f.value),
      ]),
      ...explanation.metrics.map((m): [string, string] => [m.name, number.format(m.value)]),
    ],
    severity: 'info',
  };
}

/**
 * Turns recorded awards not yet announced into notifications to their people, in one
 * transaction per batch: an award is marked announced with its notifications or not at all.
 */
export async function fanOutBadges(
  store: Store,
  settings: NotificationSettings,
  now: Date,
  limit = 200,
): Promise<{ awards: number; notifications: number }> {
  return store.transaction(async (client) => {
    const db = queryableOf(client);
    const awards = await claimUnannouncedBadges(db, limit);
    if (awards.length === 0) return { awards: 0, notifications: 0 };
    const preferences = await readPreferences(db, [...new Set(awards.map((a) => a.subjectId))]);
    const planned = awards.flatMap((award) => {
      const found = personDestination(
        award.subjectId,
        'person',
        preferences.get(award.subjectId),
        settings,
      );
      if (!found) return [];
      const { channel, address } = found.destination;
      return [
        {
          escalationId: null,
          recipient: award.subjectId,
          role: 'person',
          channel,
          address,
          held: found.held,
          dedupKey: `${channel}:${address.toLowerCase()}|badge:${award.id}`,
          message: badgeMessage(award, settings.consoleUrl),
        },
      ];
    });
    const inserted = await insertNotifications(db, planned, now);
    await markBadgesAnnounced(
      db,
      awards.map((a) => a.id),
      now,
    );
    return { awards: awards.length, notifications: inserted };
  });
}
