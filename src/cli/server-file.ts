// <data dir>/server.json: where the server holding an embedded data directory listens, and
// the token it accepts from the command line on this machine as an admin key. Written at start (readable by the owner only), removed
// on a clean stop; a file left by a crashed server names a pid that no longer runs.
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type ServerFile = { pid: number; url: string; localToken: string };

const NAME = 'server.json';

export function writeServerFile(dataDir: string, file: ServerFile): void {
  const path = join(resolve(dataDir), NAME);
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function removeServerFile(dataDir: string): void {
  rmSync(join(resolve(dataDir), NAME), { force: true });
}

/** The running server of this data directory, or null when none runs. */
export function runningServer(dataDir: string): ServerFile | null {
  let file: ServerFile;
  try {
    file = JSON.parse(readFileSync(join(resolve(dataDir), NAME), 'utf8')) as ServerFile;
  } catch {
    return null;
  }
  try {
    process.kill(file.pid, 0);
    return file;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? file : null;
  }
}
