// One JSON POST with a timeout, reduced to what the delivery loop records: the status, or
// why there was none.
export type Delivered = { status: number | null; error: string | null };

export async function postJson(
  url: string,
  body: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<Delivered> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'quotient-notifications/1',
        ...headers,
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { status: response.status, error: null };
    return { status: response.status, error: `HTTP ${response.status} ${response.statusText}` };
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
    return { status: null, error: why };
  }
}
