// Email over SMTP with nodemailer: a plain-text part and an HTML part built from the same
// message (title, summary, facts, the action as a link). Values are HTML-escaped.
import { createTransport, type Transporter } from 'nodemailer';
import type { Message } from '../app/notifications.ts';
import type { Delivered } from './http.ts';

export type SmtpSettings = {
  /** smtp://user:pass@host:port or smtps://… */
  url: string;
  from: string;
};

const html = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function emailContent(message: Message): { subject: string; text: string; html: string } {
  const text = [
    message.title,
    '',
    message.summary,
    '',
    ...message.facts.map(([label, value]) => `${label}: ${value}`),
    ...(message.items ?? []).map((item) => `- ${item.title}\n  ${item.url}`),
    ...(message.action ? ['', `${message.action.label}: ${message.action.url}`] : []),
    '',
    '-- Quotient',
  ].join('\n');
  const facts = message.facts
    .map(([label, value]) => `<tr><th align="left">${html(label)}</th><td>${html(value)}</td></tr>`)
    .join('');
  const items = (message.items ?? [])
    .map((item) => `<li><a href="${html(item.url)}">${html(item.title)}</a></li>`)
    .join('');
  const body = [
    `<h2>${html(message.title)}</h2>`,
    `<p>${html(message.summary)}</p>`,
    facts ? `<table>${facts}</table>` : '',
    items ? `<ul>${items}</ul>` : '',
    message.action
      ? `<p><a href="${html(message.action.url)}"><strong>${html(message.action.label)}</strong></a></p>`
      : '',
  ].join('\n');
  return {
    subject: message.title,
    text,
    html: `<!doctype html><html><body>${body}<p style="color:#888">Quotient</p></body></html>`,
  };
}

export type Mailer = { send(to: string, message: Message): Promise<Delivered>; close(): void };

export function createMailer(settings: SmtpSettings): Mailer {
  const transport: Transporter = createTransport(settings.url);
  return {
    async send(to, message) {
      try {
        const info = await transport.sendMail({
          from: settings.from,
          to,
          ...emailContent(message),
        });
        if (info.rejected.length > 0)
          return { status: null, error: `rejected: ${info.rejected.join(', ')}` };
        return { status: 250, error: null };
      } catch (error) {
        return { status: null, error: (error as Error).message };
      }
    },
    close() {
      transport.close();
    },
  };
}
