// Reading a request body with a size limit. Past the limit the rest of the body is read and
// dropped rather than the connection cut, so the client gets its 413 (a reset connection
// reads as a network failure, and clients retry those). Closing the connection right after
// the answer would cut the client off mid-send just the same; a body that never ends is
// stopped by the server's request timeout.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The body, or null when it passed `limit` bytes (chunked bodies included). */
export function readLimitedBody(
  req: IncomingMessage,
  _res: ServerResponse,
  limit: number,
): Promise<Buffer | null> {
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
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
