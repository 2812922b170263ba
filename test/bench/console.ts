// `npm run bench -- console`: the console's weight and speed on the seeded demo.
//
// 1. The initial JavaScript of the console: every script index.html loads or preloads,
//    compressed as the server sends it (brotli and gzip), against the 300 KB target; and
//    the lazily loaded chunks (charts, the playground's editor and policy front end).
// 2. A real `quotient serve` on a fresh embedded database, seeded with the demo
//    organisation. Headless Chromium (Debian's) signs in with a member key, then opens
//    the Me view and the Leaderboards view in a fresh browser context (cold cache) each
//    time: the time from navigation to the view rendered with its data (Me: tier, quota and
//    burn-down chart; Leaderboards: the default board, its window line and rows). BENCH_RUNS sets the repetitions.
// Prints a table, then one JSON line.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { WEB_DIST } from '../../src/api/console.ts';
import { ensureConsoleBuilt, launchBrowser, startStack } from '../web/support.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

ensureConsoleBuilt();
const indexHtml = readFileSync(join(WEB_DIST, 'index.html'), 'utf8');
const initialFiles = [
  ...indexHtml.matchAll(/<script[^>]+src="\/(assets\/[^"]+\.js)"/g),
  ...indexHtml.matchAll(/<link rel="modulepreload"[^>]+href="\/(assets\/[^"]+\.js)"/g),
].map((m) => m[1]);

function sizes(file: string) {
  const body = readFileSync(join(WEB_DIST, file));
  return {
    raw: body.length,
    gzip: gzipSync(body, { level: 9 }).length,
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }).length,
  };
}
const initial = initialFiles
  .map(sizes)
  .reduce((t, s) => ({ raw: t.raw + s.raw, gzip: t.gzip + s.gzip, br: t.br + s.br }), {
    raw: 0,
    gzip: 0,
    br: 0,
  });
const chunk = (prefix: string) => {
  const file = readdirSync(join(WEB_DIST, 'assets')).find(
    (f) => f.startsWith(prefix) && f.endsWith('.js'),
  );
  return file ? sizes(`assets/${file}`) : null;
};
const lazy = { charts: chunk('EChart-'), playground: chunk('Playground-') };

const stack = await startStack();
const browser = await launchBrowser();
try {
  const gov = await stack.key('governance', 'bench governance');
  const people = await stack.gql(
    gov,
    '{ people(first: 50) { edges { node { id role team { sensitivity } } } } }',
  );
  const person = people.people.edges.find(
    (e: { node: { role: string; team: { sensitivity: string } | null } }) =>
      e.node.role === 'engineer' && e.node.team?.sensitivity === 'normal',
  ).node.id;
  const memberKey = await stack.key('member', 'bench member', person);

  /** ms from navigation to each selector shown, in order */
  async function timeView(path: string, ready: string[]): Promise<number[]> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // sign in through the API (the cookie), so the timing is the view alone
    const res = await page.request.post(`${stack.url}/auth/session`, {
      data: { key: memberKey },
      headers: { origin: stack.url },
    });
    if (!res.ok()) throw new Error(`sign-in failed: ${res.status()}`);
    const started = performance.now();
    await page.goto(`${stack.url}${path}`);
    const marks: number[] = [];
    for (const selector of ready) {
      await page.locator(selector).first().waitFor();
      marks.push(performance.now() - started);
    }
    await context.close();
    return marks;
  }

  const me: number[] = [];
  const meData: number[] = [];
  const boards: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const [tier, chart] = await timeView('/me', ['[data-testid=tier]', '[data-chart] svg']);
    meData.push(tier);
    me.push(chart);
    // the window line renders with the board's answer, in the same render as its rows
    boards.push((await timeView('/leaderboards', ['[data-testid=board-window]']))[0]);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `console bench (machine shared with other engineers: load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
  );
  console.log(
    `initial JS (${initialFiles.length} files): ${kb(initial.raw)} raw, ${kb(initial.gzip)} gzip, ${kb(initial.br)} brotli (target < 300 KB compressed)`,
  );
  console.log(
    `lazy: charts ${kb(lazy.charts?.gzip ?? 0)} gzip, playground ${kb(lazy.playground?.gzip ?? 0)} gzip`,
  );
  console.log(`Me view, quota shown:       median ${median(meData).toFixed(0)} ms`);
  console.log(
    `Me view rendered:           median ${median(me).toFixed(0)} ms, first ${me[0].toFixed(0)} ms, all ${me.map((m) => m.toFixed(0)).join(' ')}`,
  );
  console.log(
    `Leaderboards view rendered: median ${median(boards).toFixed(0)} ms, first ${boards[0].toFixed(0)} ms, all ${boards.map((m) => m.toFixed(0)).join(' ')}`,
  );
  console.log(
    JSON.stringify({
      bench: 'console',
      initialJsFiles: initialFiles.length,
      initialJsBytes: initial.raw,
      initialJsGzipBytes: initial.gzip,
      initialJsBrotliBytes: initial.br,
      chartsChunkGzipBytes: lazy.charts?.gzip ?? null,
      playgroundChunkGzipBytes: lazy.playground?.gzip ?? null,
      runs: RUNS,
      loadAverage1m: Number(loadavg()[0].toFixed(1)),
      cores: cpus().length,
      meQuotaShownMsMedian: Math.round(median(meData)),
      meViewMsMedian: Math.round(median(me)),
      meViewMsFirst: Math.round(me[0]),
      leaderboardsViewMsMedian: Math.round(median(boards)),
      leaderboardsViewMsFirst: Math.round(boards[0]),
    }),
  );
} finally {
  await browser.close();
  await stack.stop();
}
