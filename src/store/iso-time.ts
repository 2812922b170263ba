// ISO-8601 UTC timestamps on the import hot path. Date.parse and toISOString cost more per
// row than everything else the loader does in JavaScript; these handle the canonical form
// (`2026-11-22T09:30:00Z`, `…00.123Z`) directly, and anything else goes to Date.parse.

const DAY_MS = 86_400_000;
const DIGIT_0 = 48;

function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days from 1970-01-01 to the given civil date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Milliseconds since the epoch, exactly as Date.parse would return them. */
export function parseTimestamp(text: string): number {
  const length = text.length;
  if (
    (length === 20 || length === 24) &&
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 84 && // T
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(length - 1) === 90 && // Z
    (length === 20 || text.charCodeAt(19) === 46) // .
  ) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hour = digits(text, 11, 2);
    const minute = digits(text, 14, 2);
    const second = digits(text, 17, 2);
    const milli = length === 24 ? digits(text, 20, 3) : 0;
    const ms = civilMs(year, month, day, hour, minute, second, milli);
    // out of range here (24:00, say) is Date.parse's to judge
    if (!Number.isNaN(ms)) return ms;
  }
  // Date.parse rolls an impossible day over (2026-02-30 becomes 2 March): refuse it
  if (impossibleDate(text)) return Number.NaN;
  return Date.parse(text);
}

const DATE_PREFIX = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?![0-9])/;

/** Whether text starts with an ISO-8601 calendar date that does not exist (2026-02-30). */
export function impossibleDate(text: string): boolean {
  const match = DATE_PREFIX.exec(text);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return true;
  return day > (month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]);
}

function digitBytes(b: Uint8Array, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = b[i] - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * parseTimestamp of the canonical forms only, read from bytes (ASCII): the same
 * milliseconds, or NaN for anything else (which the caller then treats the general way).
 */
export function parseCanonicalTimestamp(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (
    (length === 20 || length === 24) &&
    b[start + 4] === 45 && // -
    b[start + 7] === 45 &&
    b[start + 10] === 84 && // T
    b[start + 13] === 58 && // :
    b[start + 16] === 58 &&
    b[end - 1] === 90 && // Z
    (length === 20 || b[start + 19] === 46) // .
  ) {
    const year = digitBytes(b, start, 4);
    const month = digitBytes(b, start + 5, 2);
    const day = digitBytes(b, start + 8, 2);
    const hour = digitBytes(b, start + 11, 2);
    const minute = digitBytes(b, start + 14, 2);
    const second = digitBytes(b, start + 17, 2);
    const milli = length === 24 ? digitBytes(b, start + 20, 3) : 0;
    return civilMs(year, month, day, hour, minute, second, milli);
  }
  return Number.NaN;
}

/** Milliseconds since the epoch of a UTC civil time, or NaN when a field is out of range. */
function civilMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  milli: number,
): number {
  if (
    year >= 0 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]) &&
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 59 &&
    milli >= 0
  ) {
    return (
      daysFromCivil(year, month, day) * DAY_MS +
      hour * 3_600_000 +
      minute * 60_000 +
      second * 1000 +
      milli
    );
  }
  return Number.NaN;
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const dayPrefixes = new Map<number, string>();

/** The same text as `new Date(ms).toISOString()`, for years 0 to 9999. */
export function formatTimestamp(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    if (prefix.length !== 11) return new Date(ms).toISOString();
    if (dayPrefixes.size > 100_000) dayPrefixes.clear();
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  return `${prefix}${PAD2[hour]}:${PAD2[minute]}:${PAD2[second]}.${PAD3[rest - second * 1000]}Z`;
}
