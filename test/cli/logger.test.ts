// Log lines: coloured, readable lines on a terminal and JSON elsewhere; the start banner
// is one block apart from them.
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/logger.ts';
import { startBanner } from '../../src/cli/serve.ts';

function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (d) => {
    text += d;
  });
  return { stream, text: () => text };
}

describe('createLogger', () => {
  it('writes coloured, readable lines to a terminal', () => {
    const out = sink(true);
    const log = createLogger({ level: 'info', destination: out.stream });
    log.info({ boards: 3, ms: 120 }, 'leaderboards evaluated into the cache');
    log.debug('not shown at info');
    const text = out.text();
    expect(text).toContain('\x1b['); // ANSI colour
    expect(text).toContain('INFO');
    expect(text).toContain('leaderboards evaluated into the cache');
    expect(stripVTControlCharacters(text)).toContain('boards: 3');
    expect(text).not.toContain('{"level"');
    expect(text).not.toContain('not shown');
  });

  it('writes one JSON object per line elsewhere', () => {
    const out = sink(false);
    const log = createLogger({ level: 'info', destination: out.stream });
    log.info({ url: 'http://127.0.0.1:4000' }, 'quotient API listening');
    log.warn('second');
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, 'quotient API listening'],
      [40, 'second'],
    ]);
    expect(lines[0].url).toBe('http://127.0.0.1:4000');
  });

  it('can be made readable without a terminal, then without colour', () => {
    const out = sink(false);
    createLogger({ level: 'info', format: 'pretty', destination: out.stream }).info('hello');
    expect(out.text()).toMatch(/INFO.*hello/);
    expect(out.text()).not.toContain('\x1b[');
  });
});

describe('startBanner', () => {
  it('shows the console, the API and the one-time key in one block', () => {
    const text = startBanner({
      url: 'http://127.0.0.1:4000',
      metricsUrl: 'http://127.0.0.1:4000/metrics',
      key: { id: '7', key: 'qk_example' },
      colour: false,
    });
    expect(text).toContain('  console   http://127.0.0.1:4000/\n');
    expect(text).toContain('Quotient API at http://127.0.0.1:4000/graphql\n');
    expect(text).toContain('\n  qk_example\n');
    expect(text).toContain('admin key was created (7). It is shown once');
    expect(text.startsWith('\n')).toBe(true);
    expect(text).not.toContain('\x1b[');
  });

  it('says nothing about keys when keys exist', () => {
    const text = startBanner({ url: 'http://h:1', metricsUrl: null, key: null, colour: true });
    expect(text).not.toContain('qk_');
    expect(text).not.toContain('metrics');
    expect(text).toContain('\x1b[1mQuotient\x1b[22m');
  });
});
