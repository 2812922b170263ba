import { useState } from 'react';
import { type SessionView, signInWithKey } from '../session.ts';

export function SignIn({
  oidc,
  onSignedIn,
}: {
  oidc: boolean;
  onSignedIn: (s: SessionView) => void;
}) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(
    new URLSearchParams(location.search).get('error'),
  );
  return (
    <main className="signin" id="main">
      <h1>Sign in to Quotient</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {oidc && (
        <p>
          <a className="button primary" href="/auth/oidc/start">
            Sign in with your company account
          </a>
        </p>
      )}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const session = await signInWithKey(key);
            history.replaceState(null, '', '/');
            onSignedIn(session);
          } catch (err) {
            setError((err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="api-key">{oidc ? 'Or use an API key' : 'API key'}</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          placeholder="qk_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          On a new install, <code>npm start</code> prints a one-time admin key. Create keys for
          people with <code>npx quotient keys create</code>.
        </p>
      </form>
    </main>
  );
}
