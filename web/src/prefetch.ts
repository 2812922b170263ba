// A view's first query, started while the view's code is still on its way: the shell knows
// the session from the page, so it can ask before the view has mounted. The view takes the
// answer once (usePrefetchedQuery); a refetch goes to the network as usual.
import {
  type AnyVariables,
  type Client,
  createRequest,
  type DocumentInput,
  type OperationResult,
} from '@urql/core';
import { useEffect, useState } from 'react';
import { type UseQueryArgs, type UseQueryResponse, useClient, useQuery } from 'urql';

/** by request key; the client says whose session asked (a later session takes none of it) */
const started = new Map<number, { client: Client; answer: Promise<OperationResult> }>();

export function prefetchQuery<Data, Variables extends AnyVariables>(
  client: Client,
  query: DocumentInput<Data, Variables>,
  variables: Variables,
): void {
  const { key } = createRequest(query, variables);
  if (!started.has(key))
    started.set(key, { client, answer: client.query(query, variables).toPromise() });
}

/** The prefetched answer to this request, if this session started one nobody took yet. */
function take(client: Client, key: number): Promise<OperationResult> | null {
  const found = started.get(key);
  started.delete(key);
  return found?.client === client ? found.answer : null;
}

/**
 * useQuery, answered first from a prefetch of the same query and variables when there is
 * one. After a refetch the last answer stays shown until the new one arrives.
 */
export function usePrefetchedQuery<Data, Variables extends AnyVariables>(
  args: UseQueryArgs<Variables, Data>,
): UseQueryResponse<Data, Variables> {
  const client = useClient();
  const [prefetched, setPrefetched] = useState(
    () =>
      take(client, createRequest(args.query, args.variables as Variables).key) as Promise<
        OperationResult<Data, Variables>
      > | null,
  );
  const [early, setEarly] = useState<OperationResult<Data, Variables> | null>(null);
  useEffect(() => {
    if (!prefetched) return;
    let live = true;
    void prefetched.then((result) => live && setEarly(result));
    return () => {
      live = false;
    };
  }, [prefetched]);
  const [state, reexecute] = useQuery<Data, Variables>({
    ...args,
    pause: args.pause || prefetched !== null,
  });
  if (prefetched !== null) {
    return [
      { ...state, fetching: early === null, data: early?.data, error: early?.error },
      // unpaused, useQuery asks the network
      () => setPrefetched(null),
    ];
  }
  return [{ ...state, data: state.data ?? (state.fetching ? early?.data : undefined) }, reexecute];
}
