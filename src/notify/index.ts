// The channel senders behind one call, for the delivery worker.
import type { Channel, Message } from '../app/notifications.ts';
import { createMailer, type Mailer, type SmtpSettings } from './email.ts';
import type { Delivered } from './http.ts';
import { createSlackSender, type SlackBotSettings } from './slack.ts';
import { sendTeams } from './teams.ts';

export type Senders = {
  send(channel: Channel, address: string, message: Message): Promise<Delivered>;
  close(): void;
};

export function createSenders(options: {
  smtp: SmtpSettings | null;
  slackBot?: SlackBotSettings | null;
  timeoutMs?: number;
}): Senders {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const slack = createSlackSender(options.slackBot ?? null, timeoutMs);
  let mailer: Mailer | null = null;
  return {
    send(channel, address, message) {
      if (channel === 'slack') return slack.send(address, message);
      if (channel === 'teams') return sendTeams(address, message, timeoutMs);
      if (!options.smtp)
        return Promise.resolve({
          status: null,
          error: 'no SMTP server configured (QUOTIENT_SMTP_URL)',
        });
      mailer ??= createMailer(options.smtp);
      return mailer.send(address, message);
    },
    close() {
      mailer?.close();
    },
  };
}
