// Webhook endpoints (admin) and the outbox's deliveries.
import { randomBytes } from 'node:crypto';
import { WEBHOOK_AUDIENCES } from '../engine/escalations.ts';
import type { Store } from '../store/db.ts';
import {
  addWebhook,
  type DeliveryFilter,
  listDeliveries,
  listWebhooks,
  type OutboxRow,
  removeWebhook,
  type WebhookRow,
} from '../store/webhooks.ts';
import type { Session } from './caller.ts';
import { type FieldProblem, InvalidRequestError } from './errors.ts';
import { MAX_ADDRESS_CHARS } from './notifications.ts';

export type WebhookView = Omit<WebhookRow, 'secret'> & { secret?: string };

export type Webhooks = {
  /** Adds an endpoint; the signing secret is returned this once. */
  add(session: Session, audience: string, url: string, secret: string | null): Promise<WebhookView>;
  remove(session: Session, idOrUrl: string): Promise<number>;
  list(): Promise<WebhookView[]>;
  deliveries(
    filter: DeliveryFilter,
    page: { beforeId: string | null; limit: number },
  ): Promise<OutboxRow[]>;
};

export function webhooksFor(store: Store): Webhooks {
  return {
    async add({ audit }, audience, rawUrl, secretArg) {
      const problems: FieldProblem[] = [];
      if (!WEBHOOK_AUDIENCES.includes(audience))
        problems.push({
          field: 'audience',
          message: `unknown audience "${audience}": use one of ${WEBHOOK_AUDIENCES.join(', ')}`,
        });
      let url: URL | null = null;
      try {
        url = new URL(rawUrl);
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          problems.push({
            field: 'url',
            message: `the URL must be http or https, not ${url.protocol}`,
          });
        // as stored: percent-encoding can make a URL several times longer than it was sent
        const stored = url.toString().length;
        if (stored > MAX_ADDRESS_CHARS)
          problems.push({
            field: 'url',
            message: `is ${stored} characters long; at most ${MAX_ADDRESS_CHARS} are allowed`,
          });
      } catch {
        problems.push({ field: 'url', message: `not a URL: ${rawUrl.slice(0, 200)}` });
      }
      if (secretArg != null && secretArg.length < 8)
        problems.push({ field: 'secret', message: 'must be at least 8 characters' });
      if (problems.length || !url) throw new InvalidRequestError(problems);
      // the Standard Webhooks form: whsec_ + base64 key material (src/notify/webhook.ts)
      const secret = secretArg ?? `whsec_${randomBytes(32).toString('base64')}`;
      const hook = await addWebhook(store, audience, url.toString(), secret);
      await audit.record({
        action: 'webhook.add',
        subject: hook.id,
        detail: { audience: hook.audience, url: hook.url },
      });
      return hook;
    },
    async remove({ audit }, idOrUrl) {
      const removed = await removeWebhook(store, idOrUrl);
      if (removed) await audit.record({ action: 'webhook.remove', subject: idOrUrl });
      return removed;
    },
    async list() {
      return (await listWebhooks(store)).map(({ secret: _secret, ...rest }) => rest);
    },
    deliveries(filter, page) {
      return listDeliveries(store, filter, page);
    },
  };
}
