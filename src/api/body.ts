// Request bodies with a size limit, and the 413 that answers one past it on every endpoint.
// A 413 says `Connection: close` and then closes gracefully: the server stops writing but
// reads and drops what the client still sends (a "lingering close", as nginx does) until the
// body ends, the client closes, or LINGER_MS pass. Closing at once would leave the client's
// unsent bytes to arrive at a closed socket, and the kernel answers those with a reset that
// can reach the client before it has read the 413 (a reset reads as a network failure, and
// clients retry those).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection answered with 413 may go on sending before it is cut. */
const LINGER_MS = 10_000;

/**
 * The body, or null when it passed `limit` bytes (chunked bodies included); past the limit
 * the rest is left for the 413's lingering close to drop.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      chunks.length = 0;
      req.resume(); // drain, without keeping what arrives
      resolve(null);
    };
    req.on('data', onData);
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The message every endpoint gives a body over the limit. */
export function tooLargeMessage(limit: number, length?: number): string {
  return length === undefined
    ? `request body exceeds the ${limit}-byte limit`
    : `request body of ${length} bytes exceeds the ${limit}-byte limit`;
}

/** Headers for a 413: the connection will not be reused. */
export const TOO_LARGE_HEADERS = { connection: 'close' } as const;

/**
 * Once a 413 is sent, the connection is closed without a reset: Node ends a `Connection:
 * close` response by closing the socket as soon as its answer is written; here the close
 * waits until the client has stopped sending (or LINGER_MS), reading and dropping its bytes.
 * Call it on every response; it acts on 413s only.
 */
export function lingerAfterTooLarge(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket as Socket;
  res.once('finish', () => {
    if (res.statusCode !== 413 || socket.destroyed || req.complete) return;
    // Node's destroySoon() has ended the writable side and waits for its 'finish' to destroy
    socket.removeListener('finish', socket.destroy);
    const close = () => {
      clearTimeout(timer);
      if (!socket.destroyed) socket.destroy();
    };
    const timer = setTimeout(close, LINGER_MS);
    timer.unref();
    req.resume();
    req.once('end', close);
    req.once('error', close);
    socket.once('end', close);
    socket.once('close', () => clearTimeout(timer));
  });
}
