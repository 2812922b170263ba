// Paged GET requests against a provider's usage API, with the retries its documentation
// asks for: a 429 (rate limited) waits for Retry-After, a 5xx or a dropped connection
// backs off and tries again, anything else is an error naming the status and the API's
// own message. Credentials travel in headers only and never appear in an error or a log.

export class PullError extends Error {}

export type PullHttp = {
  /** the fetch to use (tests pass the global one; a proxy could wrap it) */
  fetch?: typeof fetch;
  /** waits before a retry; tests make it instant */
  sleep?: (ms: number) => Promise<void>;
  /** attempts per request (default 5) */
  attempts?: number;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds (or an HTTP date) of a Retry-After header, as milliseconds; capped at 5 minutes. */
export function retryAfterMs(value: string | null, fallback: number): number {
  if (!value) return fallback;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Math.min(Math.max(Number.isFinite(ms) ? ms : fallback, 0), 300_000);
}

/** GET `url` as JSON with `headers`; the URL is named in errors without its query string. */
export async function getJson(
  url: URL,
  headers: Record<string, string>,
  http: PullHttp = {},
): Promise<unknown> {
  const doFetch = http.fetch ?? fetch;
  const sleep = http.sleep ?? defaultSleep;
  const attempts = http.attempts ?? 5;
  const where = `${url.origin}${url.pathname}`;
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await doFetch(url, { headers: { accept: 'application/json', ...headers } });
    } catch (error) {
      if (attempt >= attempts)
        throw new PullError(
          `GET ${where}: ${(error as Error).message} (after ${attempt} attempts)`,
        );
      await sleep(1000 * 2 ** (attempt - 1));
      continue;
    }
    if (response.ok) {
      try {
        return await response.json();
      } catch (error) {
        throw new PullError(`GET ${where}: the answer is not JSON: ${(error as Error).message}`);
      }
    }
    const retry = response.status === 429 || response.status >= 500;
    if (retry && attempt < attempts) {
      await response.body?.cancel();
      await sleep(retryAfterMs(response.headers.get('retry-after'), 1000 * 2 ** (attempt - 1)));
      continue;
    }
    throw new PullError(`GET ${where}: HTTP ${response.status}: ${await errorText(response)}`);
  }
}

/** The API's own error message ({"error":{"message"}} in all three), short. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; detail?: unknown };
    const message =
      typeof body.error === 'string'
        ? body.error
        : (body.error?.message ?? (typeof body.detail === 'string' ? body.detail : null));
    if (message) return message.slice(0, 300);
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || response.statusText;
}
