// Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received",
// then "Post card in a chat or channel"): a POST of a message activity whose one attachment
// is an Adaptive Card (contentType application/vnd.microsoft.card.adaptive, card schema
// adaptivecards.io/schemas/adaptive-card.json, version 1.4 as Teams renders it). The card
// has the title, the summary, the facts as a FactSet and the console link as an
// Action.OpenUrl. Workflows answer 202 Accepted.
import type { Message } from '../app/notifications.ts';
import { type Delivered, postJson } from './http.ts';

export function teamsPayload(message: Message): Record<string, unknown> {
  const body: unknown[] = [
    {
      type: 'TextBlock',
      text: message.title,
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      style: 'heading',
      color:
        message.severity === 'critical'
          ? 'Attention'
          : message.severity === 'warning'
            ? 'Warning'
            : 'Default',
    },
    { type: 'TextBlock', text: message.summary, wrap: true },
  ];
  if (message.facts.length > 0)
    body.push({
      type: 'FactSet',
      facts: message.facts.map(([title, value]) => ({ title, value })),
    });
  for (const item of message.items ?? [])
    body.push({
      type: 'TextBlock',
      text: `- [${item.title}](${item.url})`,
      wrap: true,
      spacing: 'Small',
    });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: message.action
            ? [{ type: 'Action.OpenUrl', title: message.action.label, url: message.action.url }]
            : [],
        },
      },
    ],
  };
}

export function sendTeams(url: string, message: Message, timeoutMs: number): Promise<Delivered> {
  return postJson(url, JSON.stringify(teamsPayload(message)), timeoutMs);
}
