// Time windows in the policy timezone, computed with Intl only (no date library).
// Calendar periods (day, week, month, quarter, year) start at local midnight in the
// policy timezone and end (exclusive) where the next one starts; weeks start on Monday
// (ISO 8601). Trailing windows ("7d") end at `now`. The engine collects facts with the
// same helpers, so evaluation and storage agree on every boundary, DST days included.
import type { Period } from './ir.ts';

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

/** Bounds of any window key: a calendar period or a trailing window ending at `clock`. */
export function windowBounds(key: string, clock: Date | string | number, timeZone: string): Bounds {
  const { base } = parseWindowKey(key);
  if ((PERIODS as readonly string[]).includes(base)) {
    const bounds = periodBounds(base as Period, clock, timeZone);
    return { start: bounds.start, end: new Date(toInstant(clock)) };
  }
  const minutes = windowKeyMinutes(base);
  if (minutes === null) throw new RangeError(`not a window: ${key}`);
  const end = toInstant(clock);
  return { start: new Date(end - minutes * 60_000), end: new Date(end) };
}
