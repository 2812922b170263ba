// Generic webhooks, signed in the Standard Webhooks format (standardwebhooks.com) with the
// `standardwebhooks` package: `webhook-id` (the same on every retry of one message, so a
// receiver drops repeats), `webhook-timestamp` (seconds, the time of this attempt) and
// `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`). The
// documented verifier (`new Webhook(secret).verify(body, headers)`) rejects a timestamp
// more than five minutes off, so a captured delivery replayed later fails.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { type Delivered, postJson } from './http.ts';

/** A new signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The signer for a stored secret: a `whsec_…` secret is base64 key material, as the
 * standard says; any other (an operator's own passphrase) is used as raw UTF-8 bytes, and
 * receivers verify it with `new Webhook(secret, { format: 'raw' })`.
 */
export function webhookFor(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
}

export function signedHeaders(
  secret: string,
  messageId: string,
  body: string,
  at: Date,
): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhookFor(secret).sign(messageId, at, body),
  };
}

export async function sendWebhook(input: {
  url: string;
  secret: string;
  messageId: string;
  body: string;
  at: Date;
  extraHeaders?: Record<string, string>;
  timeoutMs: number;
}): Promise<Delivered> {
  return postJson(input.url, input.body, input.timeoutMs, {
    ...signedHeaders(input.secret, input.messageId, input.body, input.at),
    ...input.extraHeaders,
  });
}
