// A loopback TCP proxy in front of a database that can be stalled: while paused it accepts
// connections and bytes but forwards nothing, as a database whose processes are stopped
// (SIGSTOP) looks to its clients. Works the same for PostgreSQL and the PGlite socket.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type StallProxy = {
  /** the database URL with host and port replaced by the proxy's */
  url: string;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
};

export async function startStallProxy(databaseUrl: string): Promise<StallProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let paused = false;
  const pairs: { client: Socket; upstream: Socket }[] = [];
  const server: Server = createServer((client) => {
    // the embedded database listens on a Unix socket in the directory named by `host`
    const socketDir = target.searchParams.get('host');
    const upstream = socketDir?.startsWith('/')
      ? connect({ path: `${socketDir}/.s.PGSQL.${target.port || 5432}` })
      : connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const pair = { client, upstream };
    pairs.push(pair);
    if (paused) {
      client.pause();
      upstream.pause();
    }
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.searchParams.delete('host');
  return {
    url: url.toString(),
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const { client, upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
