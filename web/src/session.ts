// The console session as the server reports it (GET /auth/session). The cookie itself is
// HttpOnly; the page only ever holds the CSRF token it must echo on each request.

export type Role = 'ingest' | 'member' | 'viewer' | 'governance' | 'admin';

export type SessionView = {
  signedIn: boolean;
  kind?: 'key' | 'oidc';
  name?: string;
  role?: Role;
  person?: string | null;
  csrf?: string;
  oidc: boolean;
};

export const CSRF_HEADER = 'x-quotient-csrf';

/**
 * The session the server wrote into the page (a JSON data block in index.html), read once:
 * the first render needs no round trip. Null when the page has none (the Vite dev server).
 */
export function embeddedSession(): SessionView | null {
  const element = document.getElementById('quotient-session');
  if (!element?.textContent) return null;
  element.remove();
  try {
    return JSON.parse(element.textContent) as SessionView;
  } catch {
    return null;
  }
}

export async function fetchSession(): Promise<SessionView> {
  const response = await fetch('/auth/session', { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.json();
}

export async function signInWithKey(key: string): Promise<SessionView> {
  const response = await fetch('/auth/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `sign-in failed (${response.status})`);
  return body;
}

export async function signOut(csrf: string | undefined): Promise<void> {
  await fetch('/auth/session', {
    method: 'DELETE',
    credentials: 'same-origin',
    headers: csrf ? { [CSRF_HEADER]: csrf } : {},
  });
}
