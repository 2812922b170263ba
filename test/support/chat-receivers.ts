// Local stand-ins for the services notifications go to, each checking what it receives the
// way the real one documents it, and refusing what it would refuse:
// - Slack incoming webhooks (api.slack.com/messaging/webhooks) take {text, blocks}; the
//   Block Kit reference (api.slack.com/reference/block-kit/blocks, …/block-elements,
//   …/composition-objects) limits: ≤ 50 blocks; header text plain_text ≤ 150; section text
//   ≤ 3000 or ≤ 10 fields of ≤ 2000; actions ≤ 25 elements; a button's text plain_text
//   ≤ 75, url ≤ 3000, action_id ≤ 255, style primary or danger. Slack answers 400
//   `invalid_blocks` otherwise, and 200 `ok`.
// - Slack's Web API with a bot token (api.slack.com/web): paths under /api/ act as
//   https://slack.com/api/. chat.postMessage is a POST of JSON (content-type
//   application/json) with `Authorization: Bearer xoxb-…`, a `channel` (an ID, or a #name),
//   and `text` or `blocks` (the same Block Kit rules as above); users.lookupByEmail a GET
//   with ?email=. The Web API answers HTTP 200 with {ok: true, …} or {ok: false, error}:
//   not_authed (no token), invalid_auth (a wrong one), channel_not_found, no_text,
//   invalid_blocks, users_not_found.
// - Teams Workflows webhooks take a message activity with attachments of contentType
//   application/vnd.microsoft.card.adaptive whose content is an Adaptive Card
//   (adaptivecards.io/schemas/adaptive-card.json: type AdaptiveCard, version, body of
//   elements such as TextBlock{text} and FactSet{facts[{title, value}]}, actions such as
//   Action.OpenUrl{title, url}). They answer 202.
// - SMTP: the smtp-server package, which receives the whole message.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export type ChatPost = { path: string; body: Record<string, unknown> };

const text = (v: unknown, max: number, kinds = ['plain_text', 'mrkdwn']) => {
  const o = v as { type?: string; text?: unknown };
  if (!o || !kinds.includes(o.type ?? '') || typeof o.text !== 'string' || o.text.length === 0)
    return `a text object of type ${kinds.join('/')}`;
  if (o.text.length > max) return `text over ${max} characters`;
  return null;
};

/** Problems with a Slack incoming-webhook payload, or [] when Slack would take it. */
export function slackProblems(payload: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof payload.text !== 'string' || payload.text === '')
    problems.push('text: required fallback');
  const blocks = payload.blocks;
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > 50)
    return [...problems, 'blocks: 1 to 50 blocks'];
  blocks.forEach((b: Record<string, unknown>, i) => {
    const at = `blocks[${i}]`;
    if (b.type === 'header') {
      const p = text(b.text, 150, ['plain_text']);
      if (p) problems.push(`${at}.text: ${p}`);
    } else if (b.type === 'section') {
      if (b.text === undefined && b.fields === undefined) problems.push(`${at}: text or fields`);
      if (b.text !== undefined) {
        const p = text(b.text, 3000);
        if (p) problems.push(`${at}.text: ${p}`);
      }
      if (b.fields !== undefined) {
        const fields = b.fields as unknown[];
        if (!Array.isArray(fields) || fields.length > 10) problems.push(`${at}.fields: at most 10`);
        else
          fields.forEach((f, j) => {
            const p = text(f, 2000);
            if (p) problems.push(`${at}.fields[${j}]: ${p}`);
          });
      }
    } else if (b.type === 'actions') {
      const elements = b.elements as Record<string, unknown>[];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25)
        problems.push(`${at}.elements: 1 to 25`);
      else
        elements.forEach((e, j) => {
          const where = `${at}.elements[${j}]`;
          if (e.type !== 'button') {
            problems.push(`${where}: only buttons are sent`);
            return;
          }
          const p = text(e.text, 75, ['plain_text']);
          if (p) problems.push(`${where}.text: ${p}`);
          if (typeof e.url !== 'string' || e.url.length > 3000 || !/^https?:\/\//.test(e.url))
            problems.push(`${where}.url: an http(s) URL ≤ 3000 characters`);
          if (
            e.action_id !== undefined &&
            (typeof e.action_id !== 'string' || e.action_id.length > 255)
          )
            problems.push(`${where}.action_id: ≤ 255 characters`);
          if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger')
            problems.push(`${where}.style: primary or danger`);
        });
    } else if (b.type !== 'divider' && b.type !== 'context') {
      problems.push(`${at}.type: unknown block type ${String(b.type)}`);
    }
  });
  return problems;
}

/** Problems with a Teams Workflows payload carrying an Adaptive Card, or []. */
export function teamsProblems(payload: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (payload.type !== 'message') problems.push('type: "message"');
  const attachments = payload.attachments as Record<string, unknown>[];
  if (!Array.isArray(attachments) || attachments.length === 0)
    return [...problems, 'attachments: required'];
  attachments.forEach((a, i) => {
    const at = `attachments[${i}]`;
    if (a.contentType !== 'application/vnd.microsoft.card.adaptive')
      problems.push(`${at}.contentType: application/vnd.microsoft.card.adaptive`);
    const card = a.content as Record<string, unknown>;
    if (card?.type !== 'AdaptiveCard') {
      problems.push(`${at}.content.type: AdaptiveCard`);
      return;
    }
    if (typeof card.version !== 'string' || !/^1\.\d$/.test(card.version))
      problems.push(`${at}.content.version: "1.x"`);
    const body = card.body as Record<string, unknown>[];
    if (!Array.isArray(body) || body.length === 0) problems.push(`${at}.content.body: elements`);
    (body ?? []).forEach((e, j) => {
      const where = `${at}.content.body[${j}]`;
      if (e.type === 'TextBlock') {
        if (typeof e.text !== 'string' || e.text === '') problems.push(`${where}.text: required`);
      } else if (e.type === 'FactSet') {
        const facts = e.facts as Record<string, unknown>[];
        if (
          !Array.isArray(facts) ||
          facts.some((f) => typeof f.title !== 'string' || typeof f.value !== 'string')
        )
          problems.push(`${where}.facts: [{title, value}] strings`);
      } else problems.push(`${where}.type: unexpected ${String(e.type)}`);
    });
    for (const [j, action] of ((card.actions as Record<string, unknown>[]) ?? []).entries()) {
      if (
        action.type !== 'Action.OpenUrl' ||
        typeof action.title !== 'string' ||
        typeof action.url !== 'string'
      )
        problems.push(`${at}.content.actions[${j}]: Action.OpenUrl with title and url`);
    }
  });
  return problems;
}

/** What the Slack Web API stand-in knows: the bot token, the workspace's people and channels. */
export type SlackWorkspace = {
  token: string;
  /** email → user ID */
  users: Record<string, string>;
  /** channel IDs and #names the bot is in */
  channels: string[];
};

export type SlackApiPost = { channel: string; body: Record<string, unknown> };

export type ChatReceiver = {
  url: string;
  slack: ChatPost[];
  /** messages the bot posted with chat.postMessage, to a channel or a user ID (a DM) */
  slackApi: SlackApiPost[];
  /** users.lookupByEmail calls, by email */
  slackLookups: string[];
  teams: ChatPost[];
  /** paths that answer 500 (a receiver that is down) */
  down: Set<string>;
  close(): Promise<void>;
};

/** One HTTP server: paths under /slack/ act as Slack webhooks, under /teams/ as Teams ones. */
export async function startChatReceiver(
  workspace: SlackWorkspace = { token: 'xoxb-none', users: {}, channels: [] },
): Promise<ChatReceiver> {
  const receiver: Omit<ChatReceiver, 'url' | 'close'> = {
    slack: [],
    slackApi: [],
    slackLookups: [],
    teams: [],
    down: new Set(),
  };
  const slackApi = (
    method: string,
    req: { method?: string; headers: Record<string, string | string[] | undefined> },
    query: URLSearchParams,
    raw: string,
  ): Record<string, unknown> => {
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !auth.startsWith('Bearer '))
      return { ok: false, error: 'not_authed' };
    if (auth !== `Bearer ${workspace.token}`) return { ok: false, error: 'invalid_auth' };
    if (method === 'users.lookupByEmail') {
      if (req.method !== 'GET') return { ok: false, error: 'invalid_request' };
      const email = query.get('email') ?? '';
      receiver.slackLookups.push(email);
      const id = workspace.users[email.toLowerCase()];
      return id
        ? { ok: true, user: { id, profile: { email } } }
        : { ok: false, error: 'users_not_found' };
    }
    if (method === 'chat.postMessage') {
      if (req.method !== 'POST') return { ok: false, error: 'invalid_request' };
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
        return { ok: false, error: 'invalid_form_data' };
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw);
      } catch {
        return { ok: false, error: 'invalid_json' };
      }
      const channel = body.channel;
      const users = Object.values(workspace.users);
      if (
        typeof channel !== 'string' ||
        !(workspace.channels.includes(channel) || users.includes(channel))
      )
        return { ok: false, error: 'channel_not_found' };
      if (body.blocks === undefined && (typeof body.text !== 'string' || body.text === ''))
        return { ok: false, error: 'no_text' };
      if (body.blocks !== undefined) {
        const problems = slackProblems(body);
        if (problems.length > 0) return { ok: false, error: 'invalid_blocks', errors: problems };
      }
      receiver.slackApi.push({ channel, body });
      return { ok: true, channel, ts: `${Date.now() / 1000}` };
    }
    return { ok: false, error: 'unknown_method' };
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const path = url.pathname;
      if (receiver.down.has(path)) return res.writeHead(500).end('down');
      if (path.startsWith('/api/')) {
        const answer = slackApi(
          path.slice(5),
          req,
          url.searchParams,
          Buffer.concat(chunks).toString('utf8'),
        );
        return res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(answer));
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return res.writeHead(400).end('invalid_payload');
      }
      if (path.startsWith('/slack/')) {
        const problems = slackProblems(body);
        if (problems.length > 0)
          return res.writeHead(400).end(`invalid_blocks: ${problems.join('; ')}`);
        receiver.slack.push({ path, body });
        return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }
      if (path.startsWith('/teams/')) {
        const problems = teamsProblems(body);
        if (problems.length > 0) return res.writeHead(400).end(problems.join('; '));
        receiver.teams.push({ path, body });
        return res.writeHead(202).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...receiver,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  } as ChatReceiver;
}

export type ReceivedMail = { from: string; to: string[]; raw: string };

/** A local SMTP server (no TLS, no auth) that keeps every message it receives. */
export async function startSmtpInbox(): Promise<{
  url: string;
  mail: ReceivedMail[];
  close(): Promise<void>;
}> {
  const mail: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mail.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mail,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
