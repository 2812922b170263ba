// Slack, two ways: incoming webhooks (api.slack.com/messaging/webhooks), a POST of
// {text, blocks} to the hook's URL; or a bot token (xoxb-…) and the Web API's
// chat.postMessage (api.slack.com/methods/chat.postMessage), a POST of {channel, text,
// blocks} with `Authorization: Bearer <token>` to a channel (#name or ID), a user ID (the
// bot's DM with them), or an email address looked up once with users.lookupByEmail (scope
// users:read.email). The Web API answers 200 with {ok: false, error} when it refuses, and
// 429 with Retry-After when rate limited; both are failed deliveries, retried.
// The blocks are Block Kit (api.slack.com/reference/block-kit/blocks): a header, a mrkdwn
// section with the summary, the facts as section fields, the console link as a button in
// an actions block. `text` is the notification fallback. Texts are cut to Slack's limits
// (header 150, section text 3000, field 2000, button label 75 characters).
import { type Message, slackAddress } from '../app/notifications.ts';
import { type Delivered, postJson, sendJson } from './http.ts';

const cut = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** Slack's mrkdwn treats &, < and > as control characters. */
const escapeMrkdwn = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackPayload(message: Message): { text: string; blocks: unknown[] } {
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(message.title, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(message.summary), 3000) } },
  ];
  if (message.facts.length > 0)
    blocks.push({
      type: 'section',
      fields: message.facts.slice(0, 10).map(([label, value]) => ({
        type: 'mrkdwn',
        text: cut(`*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`, 2000),
      })),
    });
  for (const item of (message.items ?? []).slice(0, 40))
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cut(`• <${item.url}|${escapeMrkdwn(item.title)}>`, 3000) },
    });
  if (message.action)
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: cut(message.action.label, 75) },
          url: message.action.url,
          action_id: 'open-quotient',
          ...(message.severity === 'critical' ? { style: 'danger' } : { style: 'primary' }),
        },
      ],
    });
  return { text: cut(`${message.title}: ${message.summary}`, 3000), blocks: blocks.slice(0, 50) };
}

export type SlackBotSettings = {
  /** a bot token, xoxb-… (scopes chat:write, and users:read.email for DMs by address) */
  token: string;
  /** the Web API base, https://slack.com/api (a local stand-in in tests) */
  apiUrl: string;
};

export type SlackSender = {
  /** to an incoming-webhook URL, a channel, a user ID or a person's email address */
  send(address: string, message: Message): Promise<Delivered>;
};

export function createSlackSender(bot: SlackBotSettings | null, timeoutMs: number): SlackSender {
  // email → Slack user ID; people do not change IDs, so a lookup is made once per process
  // (the promise is kept, so notices sent together share it); a failed one is forgotten
  const userIds = new Map<string, Promise<string | Delivered>>();

  async function call(
    { token, apiUrl }: SlackBotSettings,
    method: string,
    request: { method: 'GET' | 'POST'; body?: string; query?: Record<string, string> },
  ): Promise<{ delivered: Delivered; answer: Record<string, unknown> | null }> {
    const query = request.query ? `?${new URLSearchParams(request.query)}` : '';
    const sent = await sendJson(
      `${apiUrl.replace(/\/$/, '')}/${method}${query}`,
      {
        method: request.method,
        body: request.body,
        headers: {
          authorization: `Bearer ${token}`,
          ...(request.body === undefined
            ? {}
            : { 'content-type': 'application/json; charset=utf-8' }),
        },
      },
      timeoutMs,
    );
    if (sent.status === 429)
      return {
        delivered: {
          status: 429,
          error: `Slack ${method}: rate limited (retry after ${sent.retryAfter ?? '?'} s)`,
        },
        answer: null,
      };
    if (sent.error)
      return {
        delivered: { status: sent.status, error: `Slack ${method}: ${sent.error}` },
        answer: null,
      };
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(sent.body);
    } catch {
      return {
        delivered: { status: sent.status, error: `Slack ${method}: not a JSON answer` },
        answer: null,
      };
    }
    if (answer.ok !== true)
      return {
        delivered: {
          status: sent.status,
          error: `Slack ${method}: ${String(answer.error ?? 'not ok')}`,
        },
        answer,
      };
    return { delivered: { status: sent.status, error: null }, answer };
  }

  function userIdOf(bot: SlackBotSettings, email: string): Promise<string | Delivered> {
    const key = email.toLowerCase();
    let lookup = userIds.get(key);
    if (!lookup) {
      lookup = call(bot, 'users.lookupByEmail', { method: 'GET', query: { email } }).then(
        (found) => {
          const user = found.answer?.user as { id?: unknown } | undefined;
          if (found.delivered.error) return found.delivered;
          if (typeof user?.id !== 'string')
            return {
              status: found.delivered.status,
              error: 'Slack users.lookupByEmail: no user id',
            };
          return user.id;
        },
      );
      userIds.set(key, lookup);
      lookup.then((found) => {
        if (typeof found !== 'string') userIds.delete(key);
      });
    }
    return lookup;
  }

  return {
    async send(address, message) {
      const target = slackAddress(address);
      if (!target) return { status: null, error: `not a Slack address: ${address}` };
      if (target.kind === 'webhook')
        return postJson(target.url, JSON.stringify(slackPayload(message)), timeoutMs);
      if (!bot)
        return {
          status: null,
          error: 'no Slack bot token configured (QUOTIENT_SLACK_BOT_TOKEN)',
        };
      let channel: string;
      if (target.kind === 'email') {
        const found = await userIdOf(bot, target.email);
        if (typeof found !== 'string') return found;
        channel = found;
      } else channel = target.channel;
      const posted = await call(bot, 'chat.postMessage', {
        method: 'POST',
        body: JSON.stringify({ channel, ...slackPayload(message), unfurl_links: false }),
      });
      return posted.delivered;
    },
  };
}
