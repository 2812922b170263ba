// Team figures made of team-days (docs/privacy.md, R11): a team-day is one team's current
// members on one local day, and it counts only with at least `floor` of them active (its
// usage facts with `floor` using tokens, its outcome facts with `floor` reporting). A
// window's figure is the sum of the team-days inside it, never part of one. Below
// governance, metric series and team boards read their team facts this way.
import { parseMeasureFact } from '../policy/ir.ts';
import type { FactSums, FactWindow, UsageReader } from './ports.ts';

export type TeamDayFloor = { teams: readonly string[]; floor: number };

/** A window that cannot be built from whole team-days. */
export class TeamDayWindowError extends Error {}

/** Why these windows cannot be read from team-days, or null when they can. */
export function teamDayUnreadable(windows: readonly FactWindow[]): string | null {
  if (windows.some((w) => w.kind === 'span'))
    return 'it reads a sub-day window (within hours or minutes), which is part of a day';
  if (windows.some((w) => w.facts.some((f) => parseMeasureFact(f) !== null)))
    return 'it reads a declared outcome measure, which is not summed per team-day';
  return null;
}

export type TeamDaySums = {
  /** window key → subject (a team, or `org`) → facts; `active_days` counts the days kept */
  sums: FactSums;
  /** `${window key}|${subject}` → the most people of any team-day kept in that window */
  people: Map<string, number>;
};

/**
 * Each window's facts per team (or, `byOrg`, all listed teams together as `org`) from the
 * team-days of at least `floor` people inside it. Throws TeamDayWindowError for windows
 * teamDayUnreadable refuses.
 */
export async function teamDaySums(
  reader: UsageReader,
  windows: readonly FactWindow[],
  teamDays: TeamDayFloor,
  byOrg = false,
): Promise<TeamDaySums> {
  const why = teamDayUnreadable(windows);
  if (why) throw new TeamDayWindowError(why);
  const days = windows as readonly (FactWindow & { kind: 'days' })[];
  const sums: FactSums = new Map();
  const people = new Map<string, number>();
  // one read per environment and project scope, over the days of its windows
  const scopes = new Map<string, (FactWindow & { kind: 'days' })[]>();
  for (const w of days) {
    const scope = JSON.stringify([w.environment ?? null, w.project ?? null]);
    scopes.set(scope, [...(scopes.get(scope) ?? []), w]);
  }
  await Promise.all(
    [...scopes.values()].map(async (group) => {
      const facts = [...new Set(group.flatMap((w) => w.facts))].filter((f) => f !== 'active_days');
      const rows =
        teamDays.teams.length > 0
          ? await reader.teamDayFacts({
              from: group.map((w) => w.from).sort()[0],
              to: group
                .map((w) => w.to)
                .sort()
                .at(-1) as string,
              facts: facts.includes('requests') ? facts : [...facts, 'requests'],
              teams: teamDays.teams,
              floor: teamDays.floor,
              environment: group[0].environment ?? null,
              project: group[0].project ?? null,
            })
          : [];
      for (const w of group) {
        const bySubject = new Map<string, Record<string, number>>();
        // an active day is a day with requests, as in people's facts: here a kept one
        const activeDays = new Map<string, Set<string>>();
        for (const row of rows) {
          if (row.day < w.from || row.day >= w.to) continue;
          const subject = byOrg ? 'org' : row.team;
          const total = bySubject.get(subject) ?? {};
          for (const f of w.facts)
            if (f !== 'active_days') total[f] = (total[f] ?? 0) + (row.values[f] ?? 0);
          bySubject.set(subject, total);
          if (row.values.requests > 0)
            activeDays.set(subject, (activeDays.get(subject) ?? new Set()).add(row.day));
          const key = `${w.key}|${subject}`;
          people.set(key, Math.max(people.get(key) ?? 0, row.people));
        }
        if (w.facts.includes('active_days'))
          for (const [subject, total] of bySubject)
            total.active_days = activeDays.get(subject)?.size ?? 0;
        sums.set(w.key, bySubject);
      }
    }),
  );
  return { sums, people };
}
