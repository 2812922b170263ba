// Burn-down series for a quota or budget period: cumulative use per day against the limit,
// and the straight-line forecast the server uses (used ÷ elapsed fraction) to the period end.

export type DailyUse = { day: string; amount: number };

export type BurnDown = {
  days: string[];
  /** cumulative use per day (null after today) */
  used: (number | null)[];
  /** forecast from today to the period end (null before today) */
  forecast: (number | null)[];
  limit: number;
};

const DAY_MS = 86_400_000;

export function dayList(fromIso: string, toIso: string): string[] {
  const days: string[] = [];
  const start = Date.parse(`${fromIso.slice(0, 10)}T00:00:00Z`);
  const end = Date.parse(`${toIso.slice(0, 10)}T00:00:00Z`);
  for (let t = start; t < end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/**
 * `periodEnd` is exclusive. `forecastTotal` is the server's forecast value for the whole
 * period; the line runs from today's cumulative use to it.
 */
export function burnDown(
  rows: DailyUse[],
  periodStart: string,
  periodEnd: string,
  today: string,
  limit: number,
  forecastTotal: number,
): BurnDown {
  const days = dayList(periodStart, periodEnd);
  const perDay = new Map<string, number>();
  for (const r of rows) perDay.set(r.day, (perDay.get(r.day) ?? 0) + r.amount);
  const used: (number | null)[] = [];
  let total = 0;
  let todayIndex = -1;
  days.forEach((day, i) => {
    if (day > today) {
      used.push(null);
      return;
    }
    total += perDay.get(day) ?? 0;
    used.push(total);
    todayIndex = i;
  });
  const forecast = days.map(() => null as number | null);
  if (todayIndex >= 0 && todayIndex < days.length - 1) {
    const last = days.length - 1;
    const from = used[todayIndex] ?? 0;
    for (let i = todayIndex; i <= last; i++) {
      forecast[i] = from + ((forecastTotal - from) * (i - todayIndex)) / (last - todayIndex);
    }
  }
  return { days, used, forecast, limit };
}
