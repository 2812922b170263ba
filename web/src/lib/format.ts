// Numbers and errors in plain words.
import type { CombinedError } from '@urql/core';

export function formatTokens(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${trim(n / 1e9)}B`;
  if (abs >= 1e6) return `${trim(n / 1e6)}M`;
  if (abs >= 1e3) return `${trim(n / 1e3)}k`;
  return String(Math.round(n));
}

function trim(n: number): string {
  const fixed = n.toFixed(Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  // trailing zeros of the fraction only: 120k stays 120k, 2.50M becomes 2.5M
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

export function formatMoney(amount: number | string, currency: string): string {
  const n = typeof amount === 'string' ? Number(amount) : amount;
  return `${n.toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
}

export function formatPercent(n: number): string {
  return `${n.toFixed(n >= 10 || n === 0 ? 0 : 1)}%`;
}

export function formatDate(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * The local day (YYYY-MM-DD in `timeZone`) whose last millisecond `iso` is, or null: a board
 * evaluated then is as of the end of that day, not live.
 */
export function dayEndingAt(iso: string, timeZone: string): string | null {
  const instant = new Date(iso);
  const next = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(instant.getTime() + 1));
  if (next !== '00:00:00' || instant.getUTCMilliseconds() !== 999) return null;
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

/** A GraphQL or network failure as a sentence a person can act on. */
export function plainError(error: CombinedError | Error | string): string {
  if (typeof error === 'string') return error;
  const combined = error as CombinedError;
  if (combined.networkError) {
    return 'The server could not be reached. Check that Quotient is running, then try again.';
  }
  const first = combined.graphQLErrors?.[0];
  if (first) {
    const code = first.extensions?.code;
    if (code === 'UNAUTHENTICATED') return `You are signed out: ${first.message}`;
    if (code === 'FORBIDDEN' || /not authorized/i.test(first.message)) {
      return 'Your role may not see this.';
    }
    if (code === 'UNAVAILABLE') return 'The database is unavailable right now; try again shortly.';
    return first.message;
  }
  return error.message.replace(/^\[\w+\]\s*/, '');
}

/** A typed problem (the Problem interface of result unions) as plain text. */
export function problemText(p: { code: string; message: string }): string {
  return p.message;
}
