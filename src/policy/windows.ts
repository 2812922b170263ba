// Time windows in the policy timezone, computed with Intl only (no date library).
// Calendar periods (day, week, month, quarter, year) start at local midnight in the
// policy timezone and end (exclusive) where the next one starts; weeks start on Monday
// (ISO 8601). Trailing windows ("7d") end at `now`. The engine collects facts with the
// same helpers, so evaluation and storage agree on every boundary, DST days included.
import type { BoardWindow, IrSeason, Period } from './ir.ts';

export type Bounds = { start: Date; end: Date };

export const PERIODS: readonly Period[] = ['day', 'week', 'month', 'quarter', 'year'];

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

type Wall = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
};

/** Local wall-clock fields of an instant in a zone (month 1-12). */
export function wallClock(instant: number, timeZone: string): Wall {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour') % 24,
    minute: get('minute'),
    second: get('second'),
  };
}

/** Offset of the zone from UTC at an instant, in milliseconds (local = utc + offset). */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The instant at which the local wall clock in `timeZone` reads the given date at 00:00. */
export function localMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const guess = Date.UTC(year, month - 1, day);
  let instant = guess - offsetAt(guess, timeZone);
  // a DST change between the guess and the answer: correct once with the offset there
  const second = guess - offsetAt(instant, timeZone);
  if (second !== instant) instant = second;
  return new Date(instant);
}

function toInstant(clock: Date | string | number): number {
  const t = clock instanceof Date ? clock.getTime() : new Date(clock).getTime();
  if (!Number.isFinite(t)) throw new RangeError(`not a valid time: ${String(clock)}`);
  return t;
}

/** The calendar period containing `clock`, in the policy timezone: [start, end). */
export function periodBounds(
  period: Period,
  clock: Date | string | number,
  timeZone: string,
): Bounds {
  const now = toInstant(clock);
  // the period containing `now` is [start, end): any instant inside it has the same bounds,
  // so one entry per (period, zone) serves every clock reading until the period ends
  const key = `${period}|${timeZone}`;
  let hit = boundsCache.get(key);
  if (!hit || now < hit.start || now >= hit.end) {
    const b = computeBounds(period, now, timeZone);
    hit = { start: b.start.getTime(), end: b.end.getTime() };
    if (boundsCache.size >= 4096) boundsCache.clear();
    boundsCache.set(key, hit);
  }
  return { start: new Date(hit.start), end: new Date(hit.end) };
}

// Intl formatting is the slow part; evaluations ask for the same few bounds many times
const boundsCache = new Map<string, { start: number; end: number }>();

function computeBounds(period: Period, now: number, timeZone: string): Bounds {
  const w = wallClock(now, timeZone);
  // civil-date arithmetic via Date.UTC, which normalises overflowing months and days
  const civil = (y: number, m: number, d: number) => {
    const n = new Date(Date.UTC(y, m - 1, d));
    return [n.getUTCFullYear(), n.getUTCMonth() + 1, n.getUTCDate()] as const;
  };
  let from: readonly [number, number, number];
  let to: readonly [number, number, number];
  switch (period) {
    case 'day':
      from = civil(w.year, w.month, w.day);
      to = civil(w.year, w.month, w.day + 1);
      break;
    case 'week': {
      const weekday = (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7; // Monday = 0
      from = civil(w.year, w.month, w.day - weekday);
      to = civil(w.year, w.month, w.day - weekday + 7);
      break;
    }
    case 'month':
      from = civil(w.year, w.month, 1);
      to = civil(w.year, w.month + 1, 1);
      break;
    case 'quarter': {
      const first = w.month - ((w.month - 1) % 3);
      from = civil(w.year, first, 1);
      to = civil(w.year, first + 3, 1);
      break;
    }
    case 'year':
      from = civil(w.year, 1, 1);
      to = civil(w.year + 1, 1, 1);
      break;
  }
  return { start: localMidnight(...from, timeZone), end: localMidnight(...to, timeZone) };
}

/** How far `clock` is through its period, 0 at the start, approaching 1 at the end. */
export function elapsedFraction(
  period: Period,
  clock: Date | string | number,
  timeZone: string,
): number {
  const now = toInstant(clock);
  const { start, end } = periodBounds(period, now, timeZone);
  return (now - start.getTime()) / (end.getTime() - start.getTime());
}

const MINUTES: Record<string, number> = { m: 1, h: 60, d: 1440, w: 10080, mo: 43200, y: 525600 };

/** Minutes in a written duration: 7d → 10080. `mo` is 30 days and `y` 365 days. */
export function durationMinutes(amount: number, unit: string): number {
  const per = MINUTES[unit];
  if (per === undefined) throw new RangeError(`unknown duration unit: ${unit}`);
  return amount * per;
}

/**
 * The canonical key of a trailing window: the largest of d, h, m that divides it exactly.
 * 1w and 7d are both "7d"; 24h is "1d"; 90m stays "90m".
 */
export function windowKey(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/**
 * The parts of a window key: "month#launch@sandbox" is the month, usage of project launch in
 * the sandbox environment (budget scopes; see budgetWindowKey in ir.ts).
 */
export function parseWindowKey(key: string): {
  base: string;
  project: string | null;
  environment: string | null;
} {
  const at = key.indexOf('@');
  const scoped = at < 0 ? key : key.slice(0, at);
  const environment = at < 0 ? null : key.slice(at + 1);
  const hash = scoped.indexOf('#');
  return hash < 0
    ? { base: scoped, project: null, environment }
    : { base: scoped.slice(0, hash), project: scoped.slice(hash + 1), environment };
}

/**
 * `day-3`: the single local day three days before today. Detectors read a daily series as
 * one such window per day, so the series travels with the other facts.
 */
export function daysAgoKey(days: number): string {
  return `day-${days}`;
}

/** How many days back a `day-N` key lies, or null when the key is not one. */
export function parseDaysAgo(key: string): number | null {
  const match = /^day-(\d+)$/.exec(key);
  return match ? Number(match[1]) : null;
}

/** Minutes in a trailing window key, or null when the key is not one. */
export function windowKeyMinutes(key: string): number | null {
  const match = /^(\d+)(d|h|m)$/.exec(key);
  return match ? Number(match[1]) * MINUTES[match[2]] : null;
}

/** A season's local days [from, until), as YYYY-MM-DD. */
export type SeasonSpan = { from: string; until: string };

/**
 * The window key `window season` reads: every declared season's days, so that the key alone
 * finds the season of any clock (`season(2026-10-01..2027-01-01,2027-01-01..2027-04-01)`).
 */
export function seasonWindowKey(seasons: Readonly<Record<string, IrSeason>> | undefined): string {
  const spans = Object.values(seasons ?? {})
    .map((s) => `${s.from}..${s.until}`)
    .sort();
  return `season(${spans.join(',')})`;
}

/** The seasons of a season window key, in order; null when the key is not one. */
export function parseSeasonKey(base: string): SeasonSpan[] | null {
  const m = /^season\((.*)\)$/.exec(base);
  if (!m) return null;
  return m[1]
    ? m[1].split(',').map((part) => {
        const [from, until] = part.split('..');
        return { from, until };
      })
    : [];
}

/**
 * The season of a local day: the last one started on or before it (after a season ends,
 * its final standings stay until the next starts); before the first, the first. Seasons
 * never overlap (the checker sees to it). Null when there are none.
 */
export function seasonOn<S extends SeasonSpan>(seasons: readonly S[], day: string): S | null {
  let current: S | null = null;
  for (const s of [...seasons].sort((a, b) => a.from.localeCompare(b.from)))
    if (s.from <= day) current = s;
  return current ?? seasons[0] ?? null;
}

/** The local date (YYYY-MM-DD) of an instant in a zone. */
export function localDay(clock: Date | string | number, timeZone: string): string {
  const w = wallClock(toInstant(clock), timeZone);
  return `${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** The instant a local date (YYYY-MM-DD) starts in a zone. */
export function dayStart(day: string, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  return localMidnight(y, m, d, timeZone);
}

/** The fact window key a board or badge with this window reads. */
export function boardWindowKey(
  ir: { seasons?: Record<string, IrSeason> },
  window: BoardWindow,
): string {
  return window === 'season' ? seasonWindowKey(ir.seasons) : window;
}

/**
 * The whole window of a board or badge containing `clock`: its calendar period, or its
 * season (as seasonOn picks it). With no season declared a season window is empty.
 */
export function boardBounds(
  ir: { timezone: string; seasons?: Record<string, IrSeason> },
  window: BoardWindow,
  clock: Date | string | number,
): Bounds {
  if (window !== 'season') return periodBounds(window, clock, ir.timezone);
  const season = seasonOn(Object.values(ir.seasons ?? {}), localDay(clock, ir.timezone));
  if (!season) return { start: new Date(toInstant(clock)), end: new Date(toInstant(clock)) };
  return { start: dayStart(season.from, ir.timezone), end: dayStart(season.until, ir.timezone) };
}

/** Bounds of any window key: a calendar period or a trailing window ending at `clock`. */
export function windowBounds(key: string, clock: Date | string | number, timeZone: string): Bounds {
  const { base } = parseWindowKey(key);
  const seasons = parseSeasonKey(base);
  if (seasons) {
    const season = seasonOn(seasons, localDay(clock, timeZone));
    const end = new Date(toInstant(clock));
    return { start: season ? dayStart(season.from, timeZone) : end, end };
  }
  if ((PERIODS as readonly string[]).includes(base)) {
    const bounds = periodBounds(base as Period, clock, timeZone);
    return { start: bounds.start, end: new Date(toInstant(clock)) };
  }
  const minutes = windowKeyMinutes(base);
  if (minutes === null) throw new RangeError(`not a window: ${key}`);
  const end = toInstant(clock);
  return { start: new Date(end - minutes * 60_000), end: new Date(end) };
}
