// GraphiQL, bundled (no CDN), with example tabs for the README's first queries. It sends
// the console session (cookie + CSRF token) when signed in; a key in the Headers tab wins.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';
import { EXAMPLE_TABS } from './graphiql-examples.ts';
import { CSRF_HEADER, fetchSession } from './session.ts';

const session = await fetchSession().catch(() => null);
const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  headers: session?.csrf ? { [CSRF_HEADER]: session.csrf } : {},
});

createRoot(document.getElementById('graphiql')!).render(
  <GraphiQL
    fetcher={fetcher}
    defaultTabs={EXAMPLE_TABS}
    defaultHeaders={session?.signedIn ? '{}' : '{"Authorization": "Bearer "}'}
  />,
);
