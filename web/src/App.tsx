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
import { clientFor } from './client.ts';
import { loadChartCode } from './components/Chart.tsx';
import { ErrorBox, Loading } from './components/ui.tsx';
import { VIEW_LABELS, type ViewId, viewsFor } from './lib/views.ts';
import { navigate, usePath } from './router.ts';
import { embeddedSession, fetchSession, type SessionView, signOut } from './session.ts';
import { prefetchView } from './views/first-queries.ts';
import type { ViewProps } from './views/props.ts';
import { SignIn } from './views/SignIn.tsx';

type ViewModule = { default: ComponentType<ViewProps> };

const LOADERS: Record<ViewId, () => Promise<ViewModule>> = {
  me: () => import('./views/Me.tsx'),
  leaderboards: () => import('./views/Leaderboards.tsx'),
  budgets: () => import('./views/Budgets.tsx'),
  inbox: () => import('./views/Inbox.tsx'),
  usage: () => import('./views/Usage.tsx'),
  policies: () => import('./views/Policies.tsx'),
  playground: () => import('./views/Playground.tsx'),
  audit: () => import('./views/Audit.tsx'),
  reports: () => import('./views/Reports.tsx'),
};

/**
 * Views whose code has arrived render directly: a React.lazy view suspends on its first
 * render even when its module is loaded, and React then holds the content back for its
 * fallback throttle (300 ms), which was a third of the time to a rendered Me view.
 */
const LOADED: Partial<Record<ViewId, ComponentType<ViewProps>>> = {};
function load(id: ViewId): Promise<ViewModule> {
  return LOADERS[id]().then((module) => {
    LOADED[id] = module.default;
    return module;
  });
}
const VIEWS = Object.fromEntries(
  (Object.keys(LOADERS) as ViewId[]).map((id) => [id, lazy(() => load(id))]),
) as Record<ViewId, LazyExoticComponent<ComponentType<ViewProps>>>;

/** Views whose code failed to load: rendered lazily, so the failure shows as an error. */
const FAILED = new Set<ViewId>();

// the session is in the page: the view about to open starts loading at once, with its data
const initial = embeddedSession();
const first = openingView(initial);
if (first) {
  load(first).catch(() => FAILED.add(first));
  // views that draw a chart at once: the chart code comes alongside the view's
  if (first === 'me' || first === 'budgets') void loadChartCode();
  if (initial?.signedIn) prefetchView(clientFor(initial.csrf ?? ''), first, initial);
}

/** The view the shell will show for this address and session (as Shell chooses it). */
function openingView(session: SessionView | null): ViewId | null {
  const requested = location.pathname.slice(1) as ViewId;
  if (!session?.signedIn || !session.role) return requested in LOADERS ? requested : null;
  const views = viewsFor(session.role, session.person);
  return views.includes(requested) ? requested : (views[0] ?? null);
}

export function App() {
  const [session, setSession] = useState<SessionView | null>(initial);
  const [failure, setFailure] = useState<string | null>(null);
  const path = usePath();

  const reload = useCallback(() => {
    fetchSession()
      .then(setSession)
      .catch((e: Error) => setFailure(`The server could not be reached (${e.message}).`));
  }, []);
  useEffect(() => {
    if (!initial) reload();
  }, [reload]);

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
  const client = useMemo(() => clientFor(session.csrf ?? ''), [session.csrf]);
  const views = viewsFor(session.role!, session.person);
  const requested = path.slice(1) as ViewId;
  const current: ViewId | undefined = views.includes(requested) ? requested : views[0];
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    if (current && path !== `/${current}`) history.replaceState(null, '', `/${current}`);
    document.title = current ? `${VIEW_LABELS[current]} · Quotient` : 'Quotient';
  }, [current, path]);

  // a view's code on its way is waited for here (re-rendering when it arrives) rather than
  // suspended on, which would hold the view back for React's fallback throttle
  const [, setArrived] = useState(0);
  const waiting = current !== undefined && !LOADED[current] && !FAILED.has(current);
  useEffect(() => {
    if (!current || !waiting) return;
    let live = true;
    load(current)
      .catch(() => FAILED.add(current))
      .finally(() => live && setArrived((n) => n + 1));
    return () => {
      live = false;
    };
  }, [current, waiting]);
  const View = current ? (LOADED[current] ?? VIEWS[current]) : null;
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
        {waiting ? (
          <Loading what="the view" />
        ) : View ? (
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
