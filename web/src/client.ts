// The urql client: same-origin POSTs to /graphql carrying the session cookie and the CSRF
// token. No document cache: views re-query on mount, so nothing stale survives a role change.
import { Client, fetchExchange } from '@urql/core';
import { CSRF_HEADER } from './session.ts';

let current: { csrf: string; client: Client } | null = null;

/** One client per session (the shell's and the prefetch's must be the same one). */
export function clientFor(csrf: string): Client {
  if (current?.csrf !== csrf) current = { csrf, client: createClient(csrf) };
  return current.client;
}

function createClient(csrf: string): Client {
  return new Client({
    url: '/graphql',
    exchanges: [fetchExchange],
    preferGetMethod: false,
    requestPolicy: 'network-only',
    fetchOptions: () => ({
      credentials: 'same-origin',
      headers: { [CSRF_HEADER]: csrf, accept: 'application/graphql-response+json' },
    }),
  });
}
