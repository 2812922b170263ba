// Slack incoming webhooks (api.slack.com/messaging/webhooks): a POST of {text, blocks}.
// The blocks are Block Kit (api.slack.com/reference/block-kit/blocks): a header, a mrkdwn
// section with the summary, the facts as section fields, the console link as a button in
// an actions block. `text` is the notification fallback. Texts are cut to Slack's limits
// (header 150, section text 3000, field 2000, button label 75 characters).
import type { Message } from '../app/notifications.ts';
import { type Delivered, postJson } from './http.ts';

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

export function sendSlack(url: string, message: Message, timeoutMs: number): Promise<Delivered> {
  return postJson(url, JSON.stringify(slackPayload(message)), timeoutMs);
}
