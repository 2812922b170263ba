// Notifications to people: the delivery queue (admin), re-driving failed deliveries of
// both notifications and webhooks (admin), and per-person preferences (a member for
// themselves, governance and admin for anyone). Rules live in src/app/notifications.ts.
import { ForbiddenError, InvalidRequestError } from '../../app/errors.ts';
import { setNotificationPreference } from '../../app/notifications.ts';
import {
  listNotifications,
  type NotificationRow,
  redriveFailed,
} from '../../store/notifications.ts';
import { builder } from '../builder.ts';
import { readService } from '../loaders.ts';
import { DateTimeResolver, JSONResolver } from './scalars.ts';

const NotificationRef = builder.objectRef<NotificationRow>('NotificationDelivery').implement({
  description: 'One notification to a person or group on email, Slack or Teams.',
  fields: (t) => ({
    id: t.exposeID('id'),
    escalationId: t.exposeID('escalationId', { nullable: true }),
    recipient: t.exposeString('recipient', { description: 'A person id, or a group name.' }),
    role: t.exposeString('role', {
      description: 'person, approver, manager, team_owner, group, or digest.',
    }),
    channel: t.exposeString('channel'),
    address: t.exposeString('address'),
    status: t.exposeString('status', {
      description:
        '`pending`, `held` (for the daily digest), `sent`, `failed` (gave up) or `digested`.',
    }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextAttemptAt: t.field({
      type: DateTimeResolver,
      nullable: true,
      resolve: (n) => n.nextAttemptAt,
    }),
    sentAt: t.field({ type: DateTimeResolver, nullable: true, resolve: (n) => n.sentAt }),
    createdAt: t.field({ type: DateTimeResolver, resolve: (n) => n.createdAt }),
    message: t.field({ type: JSONResolver, resolve: (n) => n.message }),
  }),
});

builder.queryField('notificationDeliveries', (t) =>
  t.field({
    type: [NotificationRef],
    description: 'The newest notifications (up to `limit`, default 100), optionally of one status.',
    authScopes: { admin: true },
    args: {
      status: t.arg.string({ required: false }),
      limit: t.arg.int({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      listNotifications(ctx.store, {
        status: args.status ?? null,
        limit: Math.min(Math.max(args.limit ?? 100, 1), 1000),
      }),
  }),
);

const RedriveRef = builder
  .objectRef<{ notifications: number; webhooks: number }>('RedriveResult')
  .implement({
    fields: (t) => ({
      notifications: t.exposeInt('notifications', { description: 'Notifications queued again.' }),
      webhooks: t.exposeInt('webhooks', { description: 'Webhook deliveries queued again.' }),
    }),
  });

const PreferenceRef = builder
  .objectRef<{ person: string; channel: string; address: string | null; mode: string }>(
    'NotificationPreference',
  )
  .implement({
    fields: (t) => ({
      person: t.exposeString('person'),
      channel: t.exposeString('channel'),
      address: t.exposeString('address', { nullable: true }),
      mode: t.exposeString('mode'),
    }),
  });

builder.mutationFields((t) => ({
  redriveDeliveries: t.field({
    type: RedriveRef,
    description:
      'Send failed (given-up) deliveries again now: notification ids as `n<id>`, webhook deliveries as `w<id>`; no ids re-drives every failure. Same as `quotient webhooks redrive`.',
    authScopes: { admin: true },
    args: { ids: t.arg.stringList({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const result = await redriveFailed(ctx.store, readService(ctx).now(), args.ids ?? null);
      await ctx.audit.record({
        action: 'notifications.redrive',
        subject: args.ids?.join(',') ?? 'all',
        detail: result,
      });
      return result;
    },
  }),
  setNotificationPreference: t.field({
    type: PreferenceRef,
    description:
      'Where and how a person hears about escalations: channel `email` (default), `slack`, `teams` or `none`, with an address (email address or webhook URL), and `immediate` or `digest` (one daily message). Members set their own.',
    authScopes: { self: true },
    args: {
      person: t.arg.string({ required: false, description: 'Default: the key’s person.' }),
      channel: t.arg.string({ required: true }),
      address: t.arg.string({ required: false }),
      mode: t.arg.string({ required: false, description: '`immediate` (default) or `digest`.' }),
    },
    errors: { types: [InvalidRequestError, ForbiddenError], directResult: true },
    resolve: (_root, args, ctx) =>
      setNotificationPreference(ctx.store, ctx.caller, {
        person: args.person ?? null,
        channel: args.channel,
        address: args.address ?? null,
        mode: args.mode ?? 'immediate',
      }),
  }),
}));
