// Webhook endpoints and the outbox's deliveries (admin). The rules are in src/app/webhooks.ts.
import { InvalidRequestError } from '../../app/errors.ts';
import { webhooksFor } from '../../app/webhooks.ts';
import type { OutboxRow } from '../../store/webhooks.ts';
import { builder } from '../builder.ts';
import { pageById } from '../connections.ts';
import { sessionOf } from '../context.ts';
import { DateTimeResolver, JSONResolver } from './scalars.ts';

const DeliveryRef = builder.objectRef<OutboxRow>('WebhookDelivery').implement({
  description: 'One notification in the outbox: delivered, waiting for a retry, or given up.',
  fields: (t) => ({
    id: t.exposeID('id'),
    webhookId: t.exposeID('webhookId'),
    url: t.exposeString('url'),
    audience: t.exposeString('audience'),
    eventType: t.exposeString('eventType'),
    idempotencyKey: t.exposeString('idempotencyKey'),
    attempts: t.exposeInt('attempts'),
    state: t.string({
      description: '`delivered`, `pending` (not yet tried or retrying) or `failed` (gave up).',
      resolve: (d) => (d.deliveredAt ? 'delivered' : d.nextAttemptAt ? 'pending' : 'failed'),
    }),
    nextAttemptAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (d) => (d.deliveredAt ? null : d.nextAttemptAt),
    }),
    deliveredAt: t.field({ type: DateTimeResolver, nullable: true, resolve: (d) => d.deliveredAt }),
    lastError: t.exposeString('lastError', { nullable: true }),
    lastStatus: t.exposeInt('lastStatus', { nullable: true }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (d) => d.createdAt }),
    payload: t.field({ type: JSONResolver, resolve: (d) => d.payload }),
  }),
});

builder.queryField('webhookDeliveries', (t) =>
  t.connection({
    type: DeliveryRef,
    description: 'Outbox rows, newest first. `failed: true` lists those whose last attempt failed.',
    authScopes: { admin: true },
    args: {
      failed: t.arg.boolean({ required: false }),
      delivered: t.arg.boolean({ required: false }),
      webhook: t.arg.id({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      pageById(args, (beforeId, limit) =>
        webhooksFor(ctx.store).deliveries(
          {
            failed: args.failed ?? null,
            delivered: args.delivered ?? null,
            webhookId: args.webhook ? String(args.webhook) : null,
          },
          { beforeId, limit },
        ),
      ),
  }),
);

type WebhookShape = {
  id: string;
  audience: string;
  url: string;
  createdAt: string;
  secret?: string;
};

const WebhookRef = builder.objectRef<WebhookShape>('Webhook').implement({
  description: 'An endpoint that receives the notifications of one audience (or `all`).',
  fields: (t) => ({
    id: t.exposeID('id'),
    audience: t.exposeString('audience'),
    url: t.exposeString('url'),
    createdAt: t.field({ type: DateTimeResolver, resolve: (w) => w.createdAt }),
    secret: t.string({
      nullable: true,
      description: 'The signing secret: returned once, by addWebhook; null afterwards.',
      resolve: (w) => w.secret ?? null,
    }),
  }),
});

builder.queryField('webhooks', (t) =>
  t.field({
    type: [WebhookRef],
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => webhooksFor(ctx.store).list(),
  }),
);

builder.mutationFields((t) => ({
  addWebhook: t.field({
    type: WebhookRef,
    description:
      'Send the notifications of an audience to a URL, signed in the Standard Webhooks format (webhook-id, webhook-timestamp, webhook-signature). Same as `quotient webhooks add`.',
    authScopes: { admin: true },
    args: {
      audience: t.arg.string({ required: true }),
      url: t.arg.string({ required: true }),
      secret: t.arg.string({
        required: false,
        description: 'Default: a random secret, returned once.',
      }),
    },
    errors: { types: [InvalidRequestError], directResult: true },
    resolve: (_root, args, ctx) =>
      webhooksFor(ctx.store).add(sessionOf(ctx), args.audience, args.url, args.secret ?? null),
  }),
  removeWebhook: t.field({
    type: 'Int',
    description: 'Remove endpoints by id or URL; returns how many were removed.',
    authScopes: { admin: true },
    args: { idOrUrl: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => webhooksFor(ctx.store).remove(sessionOf(ctx), args.idOrUrl),
  }),
}));
