// The providers' usage APIs, as `quotient pull` reads them: each source pages through a time
// window with the API's documented pagination and yields the page bodies, which the import
// adapters (src/store/ingest/*.ts) turn into rows. Sources of the request shapes:
// - Anthropic Admin API: GET /v1/organizations/usage_report/messages (starting_at,
//   ending_at, bucket_width, group_by[], limit; has_more / next_page → page) and
//   GET /v1/organizations/usage_report/claude_code (one starting_at day per call; limit,
//   page), headers x-api-key and anthropic-version (docs.claude.com/en/api/admin-api)
// - OpenAI: GET /v1/organization/usage/completions (start_time, end_time, bucket_width,
//   group_by, limit; has_more / next_page → page), Authorization: Bearer
//   (platform.openai.com/docs/api-reference/usage)
// - LiteLLM proxy: GET /spend/logs/v2 (start_date, end_date, page, page_size; total_pages),
//   Authorization: Bearer (BerriAI/litellm, litellm/proxy/spend_tracking/spend_management_endpoints.py)
import { getJson, PullError, type PullHttp } from './http.ts';

export const PULL_SOURCES = ['anthropic', 'openai', 'litellm', 'claude-code'] as const;
export type PullSource = (typeof PULL_SOURCES)[number];

/** Where a source lives and its credential, from the configuration (never stored or logged). */
export type SourceConfig = { baseUrl: string; key: string };

/** Each provider's endpoint and key as configured (src/config.ts), with the settings' names. */
export type ProviderEndpoints = Record<
  'anthropic' | 'openai' | 'litellm',
  { key: string | undefined; baseUrl: string | undefined; keySetting: string; urlSetting: string }
>;

const PROVIDER: Record<PullSource, keyof ProviderEndpoints> = {
  anthropic: 'anthropic',
  'claude-code': 'anthropic',
  openai: 'openai',
  litellm: 'litellm',
};

export function sourceConfig(source: PullSource, providers: ProviderEndpoints): SourceConfig {
  const { key, baseUrl, keySetting, urlSetting } = providers[PROVIDER[source]];
  if (!key) throw new PullError(`${source}: set ${keySetting} to the API key to pull with`);
  if (!baseUrl) throw new PullError(`${source}: set ${urlSetting} to the LiteLLM proxy's URL`);
  return { key, baseUrl: baseUrl.replace(/\/+$/, '') };
}

/** Report sources re-pull this far back, so a bucket still open last time is restated. */
export const REOPEN_MS: Record<PullSource, number> = {
  anthropic: 2 * 86_400_000,
  openai: 2 * 86_400_000,
  'claude-code': 2 * 86_400_000,
  // events: a little overlap for late writes; ids make the overlap free
  litellm: 10 * 60_000,
};

export type Window = { from: Date; to: Date };

const DAY_MS = 86_400_000;
const startOfDay = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);

/** The page bodies of one source over a window, in order. */
export async function* pages(
  source: PullSource,
  config: SourceConfig,
  window: Window,
  http: PullHttp = {},
): AsyncGenerator<unknown> {
  if (source === 'anthropic') yield* anthropicMessages(config, window, http);
  else if (source === 'claude-code') yield* claudeCode(config, window, http);
  else if (source === 'openai') yield* openaiCompletions(config, window, http);
  else yield* litellmLogs(config, window, http);
}

const anthropicHeaders = (config: SourceConfig) => ({
  'x-api-key': config.key,
  'anthropic-version': '2023-06-01',
});

type Cursored = { has_more?: boolean; next_page?: string | null };

async function* anthropicMessages(config: SourceConfig, window: Window, http: PullHttp) {
  let page: string | null = null;
  do {
    const url = new URL(`${config.baseUrl}/v1/organizations/usage_report/messages`);
    url.searchParams.set('starting_at', startOfDay(window.from).toISOString());
    url.searchParams.set('ending_at', window.to.toISOString());
    url.searchParams.set('bucket_width', '1d');
    for (const key of ['api_key_id', 'workspace_id', 'model', 'service_tier', 'context_window'])
      url.searchParams.append('group_by[]', key);
    url.searchParams.set('limit', '31');
    if (page) url.searchParams.set('page', page);
    const body = (await getJson(url, anthropicHeaders(config), http)) as Cursored;
    yield body;
    page = body.has_more && body.next_page ? body.next_page : null;
  } while (page);
}

async function* claudeCode(config: SourceConfig, window: Window, http: PullHttp) {
  for (let day = startOfDay(window.from); day < window.to; day = new Date(day.getTime() + DAY_MS)) {
    let page: string | null = null;
    do {
      const url = new URL(`${config.baseUrl}/v1/organizations/usage_report/claude_code`);
      url.searchParams.set('starting_at', day.toISOString().slice(0, 10));
      url.searchParams.set('limit', '1000');
      if (page) url.searchParams.set('page', page);
      const body = (await getJson(url, anthropicHeaders(config), http)) as Cursored;
      yield body;
      page = body.has_more && body.next_page ? body.next_page : null;
    } while (page);
  }
}

async function* openaiCompletions(config: SourceConfig, window: Window, http: PullHttp) {
  let page: string | null = null;
  do {
    const url = new URL(`${config.baseUrl}/v1/organization/usage/completions`);
    url.searchParams.set(
      'start_time',
      String(Math.floor(startOfDay(window.from).getTime() / 1000)),
    );
    url.searchParams.set('end_time', String(Math.ceil(window.to.getTime() / 1000)));
    url.searchParams.set('bucket_width', '1d');
    for (const key of ['user_id', 'project_id', 'model', 'batch'])
      url.searchParams.append('group_by', key);
    url.searchParams.set('limit', '31');
    if (page) url.searchParams.set('page', page);
    const body = (await getJson(url, { authorization: `Bearer ${config.key}` }, http)) as Cursored;
    yield body;
    page = body.has_more && body.next_page ? body.next_page : null;
  } while (page);
}

/** LiteLLM writes naive UTC timestamps: "2026-11-10 09:00:00". */
const litellmTime = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

async function* litellmLogs(config: SourceConfig, window: Window, http: PullHttp) {
  for (let page = 1, pagesTotal = 1; page <= pagesTotal; page++) {
    const url = new URL(`${config.baseUrl}/spend/logs/v2`);
    url.searchParams.set('start_date', litellmTime(window.from));
    url.searchParams.set('end_date', litellmTime(window.to));
    url.searchParams.set('page', String(page));
    url.searchParams.set('page_size', '100');
    const body = (await getJson(url, { authorization: `Bearer ${config.key}` }, http)) as {
      total_pages?: number;
    };
    yield body;
    pagesTotal = typeof body.total_pages === 'number' ? body.total_pages : page;
  }
}
