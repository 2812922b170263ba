// The shell: session, navigation by role, and the views (each loaded on first visit).
import {
  type ComponentType,
  type LazyExoticComponent,
  lazy,
  Suspense,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { Provider } from 'urql';
import { createClient } from './client.ts';
import { ErrorBox, Loading } from './components/ui.tsx';
import { VIEW_LABELS, type ViewId, viewsFor } from './lib/views.ts';
import { navigate, usePath } from './router.ts';
import { fetchSession, type SessionView, signOut } from './session.ts';
import type { ViewProps } from './views/props.ts';
import { SignIn } from './views/SignIn.tsx';

const LOADERS: Record<ViewId, () => Promise<{ default: ComponentType<ViewProps> }>> = {
  me: () => import('./views/Me.tsx'),
  leaderboards: () => import('./views/Leaderboards.tsx'),
  budgets: () => import('./views/Budgets.tsx'),
  inbox: () => import('./views/Inbox.tsx'),
  usage: () => import('./views/Usage.tsx'),
  policies: () => import('./views/Policies.tsx'),
  playground: () => import('./views/Playground.tsx'),
  audit: () => import('./views/Audit.tsx'),
};
const VIEWS = Object.fromEntries(
  Object.entries(LOADERS).map(([id, load]) => [id, lazy(load)]),
) as Record<ViewId, LazyExoticComponent<ComponentType<ViewProps>>>;

// the view in the address starts loading while the session is fetched, not after
const first = location.pathname.slice(1) as ViewId;
if (first in LOADERS) void LOADERS[first]();

export function App() {
  const [session, setSession] = useState<SessionView | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const path = usePath();

  const reload = useCallback(() => {
    fetchSession()
      .then(setSession)
      .catch((e: Error) => setFailure(`The server could not be reached (${e.message}).`));
  }, []);
  useEffect(reload, [reload]);

  if (failure) return <ErrorBox error={failure} />;
  if (!session) return <Loading what="your session" />;
  if (!session.signedIn) return <SignIn oidc={session.oidc} onSignedIn={setSession} />;
  return <Shell session={session} path={path} onSignedOut={reload} />;
}

function Shell({
  session,
  path,
  onSignedOut,
}: {
  session: SessionView;
  path: string;
  onSignedOut: () => void;
}) {
  const client = useMemo(() => createClient(session.csrf ?? ''), [session.csrf]);
  const views = viewsFor(session.role!, session.person);
  const requested = path.slice(1) as ViewId;
  const current: ViewId | undefined = views.includes(requested) ? requested : views[0];
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    if (current && path !== `/${current}`) history.replaceState(null, '', `/${current}`);
    document.title = current ? `${VIEW_LABELS[current]} · Quotient` : 'Quotient';
  }, [current, path]);

  const View = current ? VIEWS[current] : null;
  return (
    <Provider value={client}>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Quotient</span>
        <nav aria-label="Views">
          <ul>
            {views.map((v) => (
              <li key={v}>
                <a
                  href={`/${v}`}
                  aria-current={v === current ? 'page' : undefined}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
                    e.preventDefault();
                    navigate(`/${v}`);
                    main.current?.focus();
                  }}
                >
                  {VIEW_LABELS[v]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="who">
            {session.name} · {session.role}
            {session.person ? ` · ${session.person}` : ''}
          </span>
          <button
            type="button"
            onClick={async () => {
              await signOut(session.csrf);
              history.replaceState(null, '', '/signin');
              onSignedOut();
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {View ? (
          <Suspense fallback={<Loading what="the view" />}>
            <View session={session} />
          </Suspense>
        ) : (
          <p className="empty">
            This key’s role ({session.role}) writes events only; the console has nothing to show it.
            Sign in with a member, viewer or governance key.
          </p>
        )}
      </main>
    </Provider>
  );
}
