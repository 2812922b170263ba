// The server's logger: readable, coloured lines (pino-pretty) when standard output is a
// terminal, one JSON object per line otherwise (log shippers parse those).
import type { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'pretty' | 'json' | 'auto';

export type LoggerOptions = {
  level: string;
  /** auto: pretty on a terminal, JSON otherwise */
  format?: LogFormat;
  /** where lines go (default standard output) */
  destination?: Writable & { isTTY?: boolean };
};

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? 'auto';
  const readable = format === 'pretty' || (format === 'auto' && destination.isTTY === true);
  const base = { name: 'quotient', level: options.level };
  if (!readable) return pino(base, destination);
  return pino(
    base,
    pretty({
      destination,
      colorize: destination.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      // in-process and synchronous: a line is on screen before the next one is written
      sync: true,
    }),
  );
}
