// The command line beside a running server: while `quotient serve` holds an embedded data
// directory, a command whose work the API offers sends it to that server (with the local
// token of <data dir>/server.json, which acts as an admin key) instead of opening the
// directory, which only one process can hold.
import { runningServer, type ServerFile } from './server-file.ts';
import type { StoreFlags } from './store-options.ts';

/** The server holding this embedded data directory; null when none runs or a URL is set. */
export function serverHolding(flags: StoreFlags): ServerFile | null {
  if (flags.databaseUrl) return null;
  const server = runningServer(flags.dataDir);
  if (server) console.error(`(through the server of ${flags.dataDir} at ${server.url})`);
  return server;
}

/** One GraphQL operation on that server; a failure is one sentence that says what happened. */
export async function askServer<T>(
  server: ServerFile,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${server.localToken}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new Error(
      `the server holding the data directory (pid ${server.pid}) did not answer at ${server.url} (${(error as Error).message}): stop it, or wait until it answers, and run this again`,
    );
  }
  const body = (await response.json().catch(() => ({}))) as {
    data?: T;
    errors?: { message: string }[];
  };
  if (body.errors?.length || !body.data) {
    const why = body.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`;
    throw new Error(`the server at ${server.url} refused: ${why}`);
  }
  return body.data;
}
