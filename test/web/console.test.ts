// The console end to end: a real `quotient serve` on the seeded demo, a real OpenID
// provider and Debian's Chromium. Each view as member, manager, viewer and governance;
// sign-in by key and by OpenID Connect; an approval from request to decision; the CSV
// download; playground diagnostics; axe-core on every view. Screenshots go to
// test-artifacts/console/.
import { readFileSync } from 'node:fs';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  launchBrowser,
  newContext,
  type Stack,
  shot,
  signInWithKey,
  startStack,
  waitUntil,
} from './support.ts';

// a browser test waits on the page; on a loaded machine a test may take minutes
vi.setConfig({ testTimeout: 300_000 });
/** expect.poll gives up after 1 s by default: far too soon on a shared machine */
const POLL = { timeout: 120_000, interval: 200 };

let stack: Stack;
let browser: Browser;
const keys: Record<string, string> = {};
let member = '';
let manager = '';

beforeAll(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  const gov = await stack.key('governance', 'e2e governance');
  // the member: the person furthest over quota who has a manager (deterministic seed)
  const people = await stack.gql(
    gov,
    `{ people(first: 100) { edges { node { id quotaPercent role manager { id } team { sensitivity } } } } }`,
  );
  const candidates = people.people.edges
    .map((e: { node: unknown }) => e.node)
    .filter(
      (p: { manager: unknown; team: { sensitivity: string } | null }) =>
        p.manager && p.team?.sensitivity === 'normal',
    )
    .sort(
      (a: { quotaPercent: number | null }, b: { quotaPercent: number | null }) =>
        (b.quotaPercent ?? 0) - (a.quotaPercent ?? 0),
    );
  member = candidates[0].id;
  manager = candidates[0].manager.id;
  keys.governance = gov;
  keys.member = await stack.key('member', 'e2e member', member);
  keys.manager = await stack.key('member', 'e2e manager', manager);
  keys.viewer = await stack.key('viewer', 'e2e viewer');
  keys.ingest = await stack.key('ingest', 'e2e ingest');
  // take the member to 95% of their quota, as real usage would: the ingest-driven
  // re-evaluation then opens the 70% and 90% steps (whatever the day of the month)
  const quota = await stack.gql(
    gov,
    'query($p: String) { quota(person: $p) { ... on Quota { used effectiveLimit } } }',
    { p: member },
  );
  const needed = Math.ceil(quota.quota.effectiveLimit * 0.95 - quota.quota.used);
  if (needed > 0) {
    const written = await stack.gql(
      keys.ingest,
      'mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) { ... on IngestSummary { accepted } } }',
      {
        rows: [
          {
            id: 'e2e-push-to-95',
            ts: new Date().toISOString(),
            person: member,
            model: 'gpt-4o',
            provider: 'openai',
            inputTokens: needed,
            outputTokens: 0,
            environment: 'production',
          },
        ],
      },
    );
    expect(written.recordUsage.accepted).toBe(1);
  }
  // the re-evaluation runs in the background: wait (bounded) until the step is open
  await waitUntil('the 90% step opens for the member', async () => {
    const open = await stack.gql(
      gov,
      'query($p: String) { escalations(subject: $p, status: [open], first: 20) { edges { node { actionKind } } } }',
      { p: member },
    );
    return open.escalations.edges.some(
      (e: { node: { actionKind: string } }) => e.node.actionKind === 'require_justification',
    );
  });
}, 360_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const views = (page: Page) =>
  page.getByRole('navigation', { name: 'Views' }).getByRole('link').allTextContents();

async function open(page: Page, view: string) {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view }).click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

async function axeViolations(page: Page) {
  await page.addScriptTag({ content: axe.source });
  const result = await page.evaluate(async () => {
    const run = (window as unknown as { axe: typeof axe }).axe.run;
    return run(document, { resultTypes: ['violations'] });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

describe('sign-in', () => {
  it('refuses a wrong key in plain words and accepts the right one into an HttpOnly session', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${stack.url}/me`);
    await page.getByLabel('API key').fill('qk_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'invalid API key' }).waitFor();
    await page.getByLabel('API key').fill(keys.member);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'quotient_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    // the page cannot read the session cookie
    expect(await page.evaluate(() => document.cookie)).not.toContain('quotient_session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    await context.close();
  });

  it('signs in through the OpenID provider (code + PKCE), role from the group claim', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await page.getByRole('link', { name: 'Sign in with your company account' }).click();
    // oidc-provider's development login and consent pages
    await page.locator('input[name="login"]').fill('gov-lead');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click();
    await page.getByTestId('who').waitFor();
    expect(await page.getByTestId('who').textContent()).toContain('governance');
    expect(await page.getByTestId('who').textContent()).toContain('gov.lead@halcyon.test');
    expect(await views(page)).toContain('Policies');
    await shot(page, 'oidc-signed-in');
    await context.close();
  });

  it('refuses an account whose claims map to no role', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await page.getByRole('link', { name: 'Sign in with your company account' }).click();
    await page.locator('input[name="login"]').fill('outsider');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click();
    await page.getByRole('alert').filter({ hasText: 'no Quotient role' }).waitFor();
    await context.close();
  });
});

describe('member', () => {
  it('sees their tier, quota with the ladder, band and why, steps and ranks on Me', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.member);
    expect(await views(page)).toEqual([
      'Me',
      'Leaderboards',
      'Budgets',
      'Inbox',
      'Usage',
      'Policies',
      'Playground',
    ]);
    await page.getByTestId('tier').waitFor();
    expect(await page.getByTestId('quota-percent').textContent()).toMatch(/%$/);
    expect(await page.getByTestId('band-reason').textContent()).toMatch(/^Why (green|yellow|red):/);
    await page.getByRole('figure', { name: 'Escalation ladder' }).waitFor();
    await page.locator('[data-chart]').first().waitFor();
    await page.locator('[data-testid^="rank-"], [data-testid^="not-ranked-"]').first().waitFor();
    expect(await page.getByTestId('band-reason').textContent()).toMatch(/^Why red:/);
    await shot(page, 'me-member');
    expect(await axeViolations(page)).toEqual([]);

    // the open 90% step asks for a justification: give it, and the step closes
    const step = page.locator('li.step', { hasText: 'quota reached 90%' });
    await step.getByLabel('Why do you need this usage?').fill('load test of the new router');
    await step.getByRole('button', { name: 'Send justification' }).click();
    await step.waitFor({ state: 'detached' });
    const after = await stack.gql(
      keys.governance,
      'query($p: String) { escalations(subject: $p, first: 20) { edges { node { threshold status justification } } } }',
      { p: member },
    );
    expect(after.escalations.edges.map((e: { node: unknown }) => e.node)).toContainEqual({
      threshold: 90,
      status: 'justified',
      justification: 'load test of the new router',
    });
    await context.close();
  });

  it('is keyboard navigable: skip link, then the views as links', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.member);
    await page.getByTestId('tier').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Leaderboards');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Leaderboards', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/leaderboards');
    await context.close();
  });

  it('is usable at phone width on Me', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.member, {
      width: 390,
      height: 844,
    });
    await page.getByTestId('tier').waitFor();
    await page.locator('[data-chart]').first().waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'me-member-phone');
    await context.close();
  });

  it('sees others masked on a board, and may opt out and in', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.member);
    await open(page, 'Leaderboards');
    await page.getByLabel('Board', { exact: true }).selectOption({ label: 'Value per token' });
    const board = page.locator('[data-testid=board][data-board=value_per_token]');
    await board.waitFor();
    const cells = await board
      .locator('td[data-masked]')
      .evaluateAll((tds) =>
        tds.map((td) => ({ masked: td.getAttribute('data-masked'), text: td.textContent ?? '' })),
      );
    const others = cells.filter((c) => !c.text.includes('(you)'));
    expect(others.length).toBeGreaterThan(0);
    for (const c of others) {
      expect(c.masked).toBe('true');
      expect(c.text).not.toContain('@');
    }
    await shot(page, 'leaderboards-member');
    const toggle = page.getByLabel('Show me on boards that need opt-in');
    const before = await toggle.isChecked();
    await toggle.click();
    await expect.poll(() => toggle.isChecked(), POLL).toBe(!before);
    await toggle.click();
    await expect.poll(() => toggle.isChecked(), POLL).toBe(before);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('sees only their own usage, and the playground checks policy text in the browser', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.member);
    await open(page, 'Playground');
    await page.getByTestId('test-summary').waitFor();
    expect(await page.getByTestId('test-summary').textContent()).toMatch(/^\d+ passed, 0 failed$/);
    // break the policy: an unknown name in a metric
    const graphqlPosts: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/graphql')) graphqlPosts.push(r.postData() ?? '');
    });
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nmetric broken = no_such_fact / 2\n');
    await page.getByTestId('diagnostics').waitFor();
    const text = await page.getByTestId('diagnostics').textContent();
    expect(text).toMatch(/line \d+:\d+/);
    expect(text).toMatch(/error Q3\d{3}/);
    expect(text).toContain('no_such_fact');
    await page.locator('.cm-lint-marker-error').first().waitFor();
    // computed in the browser: no GraphQL request while typing
    expect(graphqlPosts).toEqual([]);
    await shot(page, 'playground-broken');
    await context.close();
  });
});

describe('viewer', () => {
  it('has no Me or Inbox, sees boards masked and budgets with small groups suppressed', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.viewer);
    expect(await views(page)).toEqual([
      'Leaderboards',
      'Budgets',
      'Usage',
      'Policies',
      'Playground',
    ]);
    await page.getByLabel('Board', { exact: true }).selectOption({ label: 'Value per token' });
    const board = page.locator('[data-testid=board][data-board=value_per_token]');
    await board.waitFor();
    const masked = await board
      .locator('td[data-masked]')
      .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-masked')));
    expect(masked.length).toBeGreaterThan(0);
    expect(masked.every((m) => m === 'true')).toBe(true);
    expect(await page.locator('main').textContent()).not.toMatch(/@halcyon\.test/);
    await shot(page, 'leaderboards-viewer');
    await open(page, 'Budgets');
    await page.getByTestId('budgets').waitFor();
    await page.locator('[data-chart]').first().waitFor();
    expect(await page.locator('main').textContent()).not.toMatch(/@halcyon\.test/);
    await shot(page, 'budgets-viewer');
    expect(await axeViolations(page)).toEqual([]);
    await open(page, 'Policies');
    await page.getByTestId('versions').waitFor();
    // activation is governance work
    expect(await page.getByRole('button', { name: /Activate|Roll back/ }).count()).toBe(0);
    await context.close();
  });

  it('refuses the ingest role with a plain sentence', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.ingest);
    expect(await views(page)).toEqual([]);
    expect(await page.locator('main').textContent()).toContain('writes events only');
    await context.close();
  });
});

describe('approval end to end', () => {
  it('a member asks for extra tokens, the manager approves with a reason, the member sees it', async () => {
    const asked = await signInWithKey(browser, stack.url, keys.member);
    await asked.page.getByRole('button', { name: 'Request approval or an exception…' }).click();
    await asked.page.getByLabel('Extra tokens').fill('2500000');
    await asked.page.getByLabel('For how many days').fill('5');
    await asked.page.getByLabel('Justification').fill('migration of the routing service this week');
    await asked.page.getByRole('button', { name: 'Send request' }).click();
    await asked.page.getByRole('table', { name: 'Your exception requests' }).waitFor();
    expect(
      await asked.page.getByRole('table', { name: 'Your exception requests' }).textContent(),
    ).toContain('requested');

    const boss = await signInWithKey(browser, stack.url, keys.manager);
    await open(boss.page, 'Inbox');
    const waiting = boss.page.getByTestId('waiting');
    await waiting.waitFor();
    const request = waiting.locator('li', { hasText: 'migration of the routing service' });
    expect(await request.textContent()).toContain(member);
    expect(await request.textContent()).toContain('2.5M extra tokens');
    await shot(boss.page, 'inbox-manager');
    expect(await axeViolations(boss.page)).toEqual([]);
    await request.getByLabel('Reason for your decision').fill('release week, agreed');
    await request.getByRole('button', { name: 'Approve' }).click();
    await boss.page.getByTestId('decided').waitFor();
    const decided = await boss.page.getByTestId('decided').textContent();
    expect(decided).toContain('approved');
    expect(decided).toContain('release week, agreed');

    // the member's Me view reflects it, and the server agrees
    await asked.page.reload();
    await asked.page.getByRole('table', { name: 'Your exception requests' }).waitFor();
    expect(
      await asked.page.getByRole('table', { name: 'Your exception requests' }).textContent(),
    ).toContain('approved');
    const data = await stack.gql(
      keys.governance,
      `query($p: String) { quota(person: $p) { ... on Quota { activeExceptions { extraTokens justification } } } }`,
      { p: member },
    );
    expect(data.quota.activeExceptions).toContainEqual({
      extraTokens: 2_500_000,
      justification: 'migration of the routing service this week',
    });
    await asked.context.close();
    await boss.context.close();
  });

  it('a viewer has no inbox and a member cannot decide their own request', async () => {
    const data = await stack.gql(
      keys.member,
      `{ exceptions(awaitingMe: true, status: [requested], first: 5) { edges { node { id } } } }`,
    );
    expect(data.exceptions.edges).toEqual([]);
  });
});

describe('governance', () => {
  it('sees names on boards and every view; Usage downloads the table as CSV', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.governance);
    expect(await views(page)).toEqual([
      'Leaderboards',
      'Budgets',
      'Inbox',
      'Usage',
      'Policies',
      'Playground',
    ]);
    await page.getByLabel('Board', { exact: true }).selectOption({ label: 'Value per token' });
    const board = page.locator('[data-testid=board][data-board=value_per_token]');
    await board.waitFor();
    const masked = await board
      .locator('td[data-masked]')
      .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-masked')));
    expect(masked.every((m) => m === 'false')).toBe(true);
    await shot(page, 'leaderboards-governance');
    await board.getByRole('button', { name: 'Explain rank 1' }).first().click();
    await page.getByRole('complementary', { name: /Explanation of rank 1/ }).waitFor();

    await open(page, 'Usage');
    const table = page.getByTestId('usage-table');
    await table.waitFor();
    await page.locator('[data-chart]').first().waitFor();
    await shot(page, 'usage-governance');
    expect(await axeViolations(page)).toEqual([]);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('csv').click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'bucket,team,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,tokens,requests,cost_USD',
    );
    // the same figures the API gives for the same grouping
    const from = await page.getByLabel('From').inputValue();
    const to = await page.getByLabel('To (exclusive)').inputValue();
    const api = await stack.gql(
      keys.governance,
      `query($f: UsageFilter) { usage(groupBy: [team], bucket: month, filter: $f, first: 100) {
        ... on UsageConnection { edges { node { bucket team tokens cost { amount } } } } } }`,
      { f: { from, to } },
    );
    const rows = api.usage.edges.map(
      (e: {
        node: { bucket: string; team: string; tokens: number; cost: { amount: string } };
      }) => ({
        ...e.node,
        cost: e.node.cost.amount,
      }),
    );
    expect(lines.length - 1).toBe(rows.length);
    for (const row of rows) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${row.bucket},${row.team},.*,${row.tokens},\\d+,${row.cost.replace('.', '\\.')}$`,
          ),
        ),
      );
    }
    await context.close();
  });

  it('compares two versions side by side, replays the impact and rolls back with a confirmation', async () => {
    // a second version, as a reviewer would find it
    const source = readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8')
      .replace(/version "([^"]+)"/, 'version "$1-review"')
      .replace('output 75.00', 'output 60.00');
    const published = await stack.gql(
      keys.governance,
      `mutation($s: String!) { publishPolicy(source: $s, activate: true, message: "lower the justification step") {
        __typename ... on PolicyVersion { id } ... on Problem { message } } }`,
      { s: source },
    );
    expect(published.publishPolicy.__typename).toBe('PolicyVersion');
    const { context, page } = await signInWithKey(browser, stack.url, keys.governance);
    await open(page, 'Policies');
    await page.getByTestId('diff').waitFor();
    expect(await page.getByTestId('diff').textContent()).toContain('output 60');
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByTestId('impact').waitFor({ timeout: 120_000 });
    await shot(page, 'policies-governance');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Yes, roll back to v1' }).click();
    await expect
      .poll(
        async () => (await stack.gql(keys.governance, '{ activePolicy { id } }')).activePolicy.id,
        POLL,
      )
      .toBe(1);
    await context.close();
  });
});

describe('GraphiQL', () => {
  it('is bundled: it loads with no request off this server and opens with example tabs', async () => {
    const { context, page } = await signInWithKey(browser, stack.url, keys.viewer);
    const elsewhere: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(stack.url) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    await page.goto(`${stack.url}/graphql`);
    await page.locator('.graphiql-tab').first().waitFor();
    const tabs = await page.locator('.graphiql-tab').allTextContents();
    expect(tabs).toHaveLength(3);
    ['WhoAmI', 'FirstLook', 'PersonQuota'].forEach((name, i) => {
      expect(tabs[i].startsWith(name)).toBe(true);
    });
    expect(elsewhere).toEqual([]);
    await context.close();
  });
});
