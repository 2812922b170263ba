// One JSON request with a timeout, reduced to what the delivery loop records: the status, or
// why there was none. sendJson also hands back the answer's body, for APIs (Slack's Web API)
// that report failures inside a 200.
export type Delivered = { status: number | null; error: string | null };

export async function postJson(
  url: string,
  body: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<Delivered> {
  const { status, error } = await sendJson(url, { method: 'POST', body, headers }, timeoutMs);
  return { status, error };
}

export async function sendJson(
  url: string,
  request: { method: 'GET' | 'POST'; body?: string; headers?: Record<string, string> },
  timeoutMs: number,
): Promise<Delivered & { body: string; retryAfter: string | null }> {
  try {
    const response = await fetch(url, {
      method: request.method,
      headers: {
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        'user-agent': 'quotient-notifications/1',
        ...request.headers,
      },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text().catch(() => '');
    const retryAfter = response.headers.get('retry-after');
    if (response.ok) return { status: response.status, error: null, body, retryAfter };
    return {
      status: response.status,
      error: `HTTP ${response.status} ${response.statusText}`,
      body,
      retryAfter,
    };
  } catch (error) {
    const e = error as {
      name?: string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    const why =
      e.name === 'TimeoutError'
        ? `timed out after ${timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
    return { status: null, error: why, body: '', retryAfter: null };
  }
}
