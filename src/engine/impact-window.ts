// Review windows by the names reviewers use, in the policy timezone: `2026-Q3`, `2026-10`,
// `2026-W40` (ISO week), `2026`, and relative ones (`last-quarter`, `this-month`, ...).
import type { Period } from '../policy/ir.ts';
import { localMidnight, periodBounds, wallClock } from '../policy/windows.ts';
import { addDays, localDate } from './usage.ts';

export class WindowError extends Error {}

export type ReviewWindow = {
  /** as the reviewer wrote it */
  spec: string;
  /** canonical name, e.g. "2026-Q3" */
  label: string;
  period: Period;
  /** [start, end) instants */
  start: Date;
  end: Date;
  /** local dates [from, to) in the policy timezone */
  from: string;
  to: string;
  timezone: string;
};

const civil = (y: number, m: number, d: number) => {
  const n = new Date(Date.UTC(y, m - 1, d));
  return [n.getUTCFullYear(), n.getUTCMonth() + 1, n.getUTCDate()] as const;
};

function labelOf(period: Period, start: Date, timeZone: string): string {
  const w = wallClock(start.getTime(), timeZone);
  const mm = String(w.month).padStart(2, '0');
  switch (period) {
    case 'quarter':
      return `${w.year}-Q${Math.floor((w.month - 1) / 3) + 1}`;
    case 'month':
      return `${w.year}-${mm}`;
    case 'year':
      return String(w.year);
    case 'week': {
      // ISO week: the week's Thursday decides the year
      const thursday = new Date(Date.UTC(w.year, w.month - 1, w.day + 3));
      const year = thursday.getUTCFullYear();
      const jan4 = new Date(Date.UTC(year, 0, 4));
      const week1 = Date.UTC(year, 0, 4 - ((jan4.getUTCDay() + 6) % 7));
      const week =
        Math.floor((Date.UTC(w.year, w.month - 1, w.day) - week1) / (7 * 86_400_000)) + 1;
      return `${year}-W${String(week).padStart(2, '0')}`;
    }
    default:
      return `${w.year}-${mm}-${String(w.day).padStart(2, '0')}`;
  }
}

function make(
  spec: string,
  period: Period,
  start: Date,
  end: Date,
  timeZone: string,
): ReviewWindow {
  return {
    spec,
    label: labelOf(period, start, timeZone),
    period,
    start,
    end,
    from: localDate(start, timeZone),
    to: localDate(end, timeZone),
    timezone: timeZone,
  };
}

/** The window a spec names, in `timeZone`; relative names are relative to `now`. */
export function parseWindow(spec: string, timeZone: string, now: Date): ReviewWindow {
  const s = spec.trim();
  const fixed = (period: Period, y: number, m: number, d: number) => {
    const start = localMidnight(...civil(y, m, d), timeZone);
    const bounds = periodBounds(period, start.getTime() + 3_600_000, timeZone);
    return make(s, period, bounds.start, bounds.end, timeZone);
  };
  let match = /^(\d{4})-?Q([1-4])$/i.exec(s);
  if (match) return fixed('quarter', Number(match[1]), (Number(match[2]) - 1) * 3 + 1, 1);
  match = /^(\d{4})-(\d{2})$/.exec(s);
  if (match && Number(match[2]) >= 1 && Number(match[2]) <= 12) {
    return fixed('month', Number(match[1]), Number(match[2]), 1);
  }
  match = /^(\d{4})-?W(\d{2})$/i.exec(s);
  if (match) {
    const year = Number(match[1]);
    const week = Number(match[2]);
    const jan4 = new Date(Date.UTC(year, 0, 4));
    const monday = 4 - ((jan4.getUTCDay() + 6) % 7) + (week - 1) * 7;
    const window = fixed('week', year, 1, monday);
    if (week < 1 || week > 53 || !window.label.endsWith(`W${match[2]}`)) {
      throw new WindowError(`window "${spec}": ${year} has no ISO week ${week}`);
    }
    return window;
  }
  match = /^(\d{4})$/.exec(s);
  if (match) return fixed('year', Number(match[1]), 1, 1);
  match = /^(last|this|previous|current)-(week|month|quarter|year)$/i.exec(s);
  if (match) {
    const period = match[2].toLowerCase() as Period;
    const current = periodBounds(period, now, timeZone);
    if (/^(this|current)$/i.test(match[1]))
      return make(s, period, current.start, current.end, timeZone);
    const previous = periodBounds(period, current.start.getTime() - 1, timeZone);
    return make(s, period, previous.start, previous.end, timeZone);
  }
  throw new WindowError(
    `unknown window "${spec}": use a quarter (2026-Q3), a month (2026-10), an ISO week (2026-W40), a year (2026), or last-/this- week, month, quarter or year`,
  );
}

/** The clock the replay evaluates at: the window's last instant, or now for a current window. */
export function replayClock(window: ReviewWindow, now: Date): Date {
  if (window.start.getTime() > now.getTime()) {
    throw new WindowError(`window ${window.label} has not started yet (it begins ${window.from})`);
  }
  return new Date(Math.min(window.end.getTime(), now.getTime()) - 1);
}

/** Local days covered up to the clock: [from, min(to, day after clock)). */
export function daysUpTo(window: ReviewWindow, clock: Date): { from: string; to: string } {
  const last = addDays(localDate(clock, window.timezone), 1);
  // dates as YYYY-MM-DD sort as text
  return { from: window.from, to: [last, window.to].sort()[0] };
}
