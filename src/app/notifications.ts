// Who hears about an escalation, on which channel, now or in a digest, and what they are
// told to do. The rules are pure (planNotifications, messageFor, digestMessage); fanOut
// and collectDigests run them over the store. Sending is the channel adapters' work
// (src/notify/), driven by the delivery worker.
//
// Recipients come from the policy's action and the directory: `person` is the subject,
// `manager` their manager, `team_owner` the owner of the subject's team, an approval's
// approver is told to decide, and a block also tells the manager. Named groups (finance,
// security, legal, …) are mapped in configuration to channels and addresses. A person's
// preference picks the channel (email by default, to their directory id when it is an
// address; on Slack with a bot token, a DM to the Slack user with their directory address)
// and immediate or daily-digest delivery; notices to a person as a manager or
// team owner default to the daily digest, so a ladder over a large team does not flood
// them, while an approval request is sent at once. One address hears about one
// escalation once, however many audiences lead to it.
//
// withRecipients names the people behind the person, manager and team_owner audiences
// for the webhook payloads.
import { audiencesOf, type EscalationDraft } from '../engine/escalations.ts';
import type { Store } from '../store/db.ts';
import type { EscalationToRecord } from '../store/escalations.ts';
import {
  claimUnnotifiedEscalations,
  type EscalationToNotify,
  insertNotifications,
  markNotified,
  readPreferences,
  setPreference,
  takeHeldNotifications,
} from '../store/notifications.ts';
import { queryableOf } from '../store/sql-text.ts';
import { ForbiddenError, InvalidRequestError } from './errors.ts';
import { type Role as AppRole, seesNames } from './roles.ts';

export type RecipientDirectory = {
  people: { id: string; manager: string | null; team: string | null }[];
  teams: { id: string; owner: string | null }[];
};

export function withRecipients(
  drafts: readonly EscalationDraft[],
  directory: RecipientDirectory,
): EscalationToRecord[] {
  const owners = new Map(directory.teams.map((t) => [t.id, t.owner]));
  const people = new Map(directory.people.map((p) => [p.id, p]));
  return drafts.map((d) => {
    const recipients: Record<string, string | null> = {};
    if (d.subject.kind === 'person') {
      const p = people.get(d.subject.id);
      recipients.person = d.subject.id;
      recipients.manager = p?.manager ?? null;
      recipients.team_owner = p?.team ? (owners.get(p.team) ?? null) : null;
    } else if (d.subject.kind === 'team') {
      recipients.team_owner = owners.get(d.subject.id) ?? null;
    }
    return { ...d, audiences: audiencesOf(d.action), recipients };
  });
}

export type Channel = 'email' | 'slack' | 'teams';
export const CHANNELS: readonly Channel[] = ['email', 'slack', 'teams'];

export type Destination = { channel: Channel; address: string };

/**
 * Where a Slack notice goes: an incoming-webhook URL; with a bot token, a conversation the
 * Web API's chat.postMessage takes (a #channel name, or a channel or user ID: a user ID is
 * the bot's DM with them), or an email address the bot looks up (users.lookupByEmail).
 */
export type SlackAddress =
  | { kind: 'webhook'; url: string }
  | { kind: 'conversation'; channel: string }
  | { kind: 'email'; email: string };

export function slackAddress(address: string): SlackAddress | null {
  if (/^https?:\/\//.test(address)) return { kind: 'webhook', url: address };
  if (/^#[a-z0-9][a-z0-9._-]{0,79}$/.test(address) || /^[CGDUW][A-Z0-9]{2,}$/.test(address))
    return { kind: 'conversation', channel: address };
  if (EMAIL.test(address)) return { kind: 'email', email: address };
  return null;
}

/**
 * Longest address or webhook URL: addresses and URLs are index keys (a btree entry holds at
 * most 2,704 bytes), and no real one comes near this.
 */
export const MAX_ADDRESS_CHARS = 2_048;

/** An address of the channel, or why not (for configuration and preference errors). */
function addressProblem(channel: Channel, address: string): string | null {
  if (address.length > MAX_ADDRESS_CHARS)
    return `is ${address.length} characters long; at most ${MAX_ADDRESS_CHARS} are allowed`;
  if (channel === 'email') return EMAIL.test(address) ? null : 'is not an email address';
  if (channel === 'slack')
    return slackAddress(address)
      ? null
      : 'is not a Slack webhook URL, #channel, channel or user ID, or email address';
  return /^https?:\/\//.test(address) ? null : 'is not an http(s) URL';
}

/** Whether the destination can be sent with the channels configured. */
function reachable(destination: Destination, settings: NotificationSettings): boolean {
  if (destination.channel === 'email') return settings.email;
  if (destination.channel === 'slack')
    return settings.slackBot || slackAddress(destination.address)?.kind === 'webhook';
  return true;
}

export type Preference = {
  channel: Channel | 'none';
  /** email address or webhook URL; null: the person's id, when it is an email address */
  address: string | null;
  mode: 'immediate' | 'digest';
};

export type NotificationSettings = {
  /** base URL of the console, for the links in messages */
  consoleUrl: string;
  /** named groups (finance, security, legal, …) → where their notices go */
  groups: Record<string, Destination[]>;
  /** false when no SMTP server is configured: email destinations are then skipped */
  email: boolean;
  /** true when a Slack bot token is configured: without it only Slack webhooks are sent */
  slackBot: boolean;
};

/**
 * Parses the group map of the configuration:
 * `finance=email:finance@acme.test,slack:https://hooks.slack.com/…;security=slack:#security,teams:https://…`.
 * Throws naming the part that is wrong.
 */
export function parseGroups(text: string): Record<string, Destination[]> {
  const groups: Record<string, Destination[]> = {};
  for (const part of text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new Error(`notification group "${part}": expected <group>=<channel>:<address>,…`);
    const group = part.slice(0, eq).trim();
    groups[group] = part
      .slice(eq + 1)
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const colon = d.indexOf(':');
        const channel = d.slice(0, colon) as Channel;
        const address = d.slice(colon + 1);
        if (colon <= 0 || !CHANNELS.includes(channel))
          throw new Error(
            `notification group ${group}: "${d}" should start with email:, slack: or teams:`,
          );
        const problem = colon > 0 ? addressProblem(channel, address) : null;
        if (problem) throw new Error(`notification group ${group}: "${address}" ${problem}`);
        return { channel, address };
      });
  }
  return groups;
}

export type Role = 'person' | 'approver' | 'manager' | 'team_owner' | 'group';

export type Message = {
  /** one line: what happened */
  title: string;
  /** what it means for the reader */
  summary: string;
  /** the action to take, with a link into the console */
  action: { label: string; url: string } | null;
  facts: [label: string, value: string][];
  severity: 'info' | 'warning' | 'critical';
  /** digests: one line per escalation held for the digest */
  items?: { title: string; url: string }[];
};

export type PlannedNotification = {
  escalationId: string;
  recipient: string;
  role: Role;
  channel: Channel;
  address: string;
  held: boolean;
  dedupKey: string;
  message: Message;
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Audiences an escalation speaks to, with the role each reader has. */
export function readersOf(
  action: EscalationToNotify['action'],
): { audience: string; role: Role }[] {
  switch (action.kind) {
    case 'notify':
      return action.audiences.map((audience) => ({ audience, role: roleOf(audience) }));
    case 'require_justification':
      return [{ audience: 'person', role: 'person' }];
    case 'require_approval':
      return [
        { audience: 'person', role: 'person' },
        { audience: action.approver, role: 'approver' },
      ];
    case 'block':
      return [
        { audience: 'person', role: 'person' },
        { audience: 'manager', role: 'manager' },
      ];
  }
}

function roleOf(audience: string): Role {
  if (audience === 'person' || audience === 'manager' || audience === 'team_owner') return audience;
  return 'group';
}

/** Earlier roles win when two audiences reach the same address. */
const ROLE_ORDER: Role[] = ['approver', 'person', 'manager', 'team_owner', 'group'];

export function planNotifications(
  escalation: EscalationToNotify,
  preferences: ReadonlyMap<string, Preference>,
  settings: NotificationSettings,
): PlannedNotification[] {
  const planned: PlannedNotification[] = [];
  const audiences = readersOf(escalation.action).sort(
    (a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role),
  );
  const seen = new Set<string>();
  const add = (recipient: string, role: Role, destination: Destination, held: boolean) => {
    const dedupKey = `${destination.channel}:${destination.address.toLowerCase()}|${escalation.key}`;
    if (seen.has(dedupKey)) return;
    seen.add(dedupKey);
    planned.push({
      escalationId: escalation.id,
      recipient,
      role,
      ...destination,
      held,
      dedupKey,
      message: messageFor(escalation, role, settings.consoleUrl),
    });
  };
  for (const { audience, role } of audiences) {
    const group = settings.groups[audience];
    if (role === 'group' || (group && !personAudience(audience))) {
      for (const destination of group ?? [])
        if (reachable(destination, settings)) add(audience, 'group', destination, false);
      continue;
    }
    const person = personFor(audience, escalation);
    if (!person) continue;
    const found = personDestination(person, role, preferences.get(person), settings);
    if (found) add(person, role, found.destination, found.held);
  }
  return planned;
}

/**
 * Where a notice to a person goes, by their preference (email to their id by default), and
 * whether it waits for the digest; null when they chose none or it cannot be sent.
 */
export function personDestination(
  person: string,
  role: Role,
  preference: Preference | undefined,
  settings: NotificationSettings,
): { destination: Destination; held: boolean } | null {
  const channel = preference?.channel ?? 'email';
  if (channel === 'none') return null;
  // no address of their own: their directory id, when it is an email address (the Slack
  // bot finds the person's Slack user by it)
  const address =
    preference?.address ?? (channel !== 'teams' && EMAIL.test(person) ? person : null);
  if (!address || !reachable({ channel, address }, settings)) return null;
  const mode =
    preference?.mode ?? (role === 'manager' || role === 'team_owner' ? 'digest' : 'immediate');
  return { destination: { channel, address }, held: mode === 'digest' };
}

function personAudience(audience: string): boolean {
  return audience === 'person' || audience === 'manager' || audience === 'team_owner';
}

function personFor(audience: string, e: EscalationToNotify): string | null {
  if (audience === 'person') return e.subjectKind === 'person' ? e.subjectId : null;
  if (audience === 'manager') return e.manager;
  if (audience === 'team_owner') return e.teamOwner;
  return null;
}

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

/** What one reader is told about one escalation. */
export function messageFor(e: EscalationToNotify, role: Role, consoleUrl: string): Message {
  const url = `${consoleUrl.replace(/\/$/, '')}/?escalation=${encodeURIComponent(e.id)}`;
  const about = role === 'person' ? 'your' : `${e.subjectId}'s`;
  const facts: [string, string][] = [];
  const f = e.facts as Record<string, unknown>;
  let title: string;
  if (e.source === 'ladder' && e.ladder === 'quota') {
    const when = e.trigger === 'forecast' ? 'projected to reach' : 'reached';
    title = `${capitalise(about)} token quota ${when} ${e.threshold}%`;
    if (typeof f.used === 'number') facts.push(['Used', `${number.format(f.used)} tokens`]);
    if (typeof f.limit === 'number') facts.push(['Limit', `${number.format(f.limit)} tokens`]);
    if (typeof f.tier === 'string') facts.push(['Tier', f.tier]);
  } else if (e.source === 'ladder') {
    const when = e.trigger === 'forecast' ? 'is projected to reach' : 'reached';
    title = `Budget ${e.of ?? ''} of ${e.subjectKind} ${e.subjectId} ${when} ${e.threshold}%`;
    if (typeof f.spent === 'number') facts.push(['Spent', number.format(f.spent)]);
    if (typeof f.limit === 'number') facts.push(['Limit', number.format(f.limit)]);
  } else {
    title = `Rule ${e.rule}${e.severity ? ` (${e.severity})` : ''} fired for ${e.subjectKind === 'person' && role === 'person' ? 'you' : e.subjectId}`;
    const detector = f.detector as { detector?: string; window?: string; text?: string } | null;
    // a person's own figures go to them and their manager; a group's stay with governance (R16)
    if (detector?.text && e.subjectKind === 'person') facts.push(['Detected', detector.text]);
    else if (detector?.detector)
      facts.push(['Detector', `${detector.detector} within ${detector.window ?? ''}`]);
  }
  if (typeof f.percent === 'number') facts.push(['Percent', `${number.format(f.percent)}%`]);
  facts.push(['Period', `${e.periodStart.slice(0, 10)} to ${e.periodEnd.slice(0, 10)}`]);

  const a = e.action;
  let summary: string;
  let action: Message['action'];
  let severity: Message['severity'] = 'info';
  switch (a.kind) {
    case 'notify':
      summary = a.message ?? title;
      action = { label: 'Open in Quotient', url };
      severity = e.severity === 'high' || e.severity === 'critical' ? 'critical' : 'info';
      break;
    case 'require_justification':
      summary =
        role === 'person'
          ? 'From now on each request needs a short justification. Give it in the console.'
          : `${e.subjectId} now needs to justify each request.`;
      action = { label: 'Give a justification', url };
      severity = 'warning';
      break;
    case 'require_approval':
      summary =
        role === 'approver'
          ? `${e.subjectId} needs your approval to go on using AI models this period.`
          : `Further requests need approval by your ${a.approver.replace('_', ' ')}. Ask for it, or request an exception, in the console.`;
      action = { label: role === 'approver' ? 'Review and decide' : 'Request approval', url };
      severity = 'warning';
      break;
    case 'block':
      summary =
        role === 'person'
          ? 'Requests are blocked until the period ends or an exception is approved.'
          : `Requests by ${e.subjectId} are blocked until the period ends or an exception is approved.`;
      action = { label: role === 'person' ? 'Request an exception' : 'Review exceptions', url };
      severity = 'critical';
      break;
  }
  return { title, summary, action, facts, severity };
}

/** One message listing the notices held for a reader's daily digest. */
export function digestMessage(held: Message[], consoleUrl: string, day: string): Message {
  return {
    title: `Quotient daily digest for ${day}: ${held.length} notice${held.length === 1 ? '' : 's'}`,
    summary: 'Escalations in your teams since the last digest.',
    action: { label: 'Open Quotient', url: `${consoleUrl.replace(/\/$/, '')}/` },
    facts: [],
    severity: held.some((m) => m.severity === 'critical') ? 'critical' : 'info',
    items: held.map((m) => ({ title: `${m.title}: ${m.summary}`, url: m.action?.url ?? '' })),
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Turns escalations not yet announced into notifications, in one transaction per batch:
 * concurrent instances take disjoint escalations (SKIP LOCKED), and an escalation is
 * marked announced with its notifications or not at all.
 */
export async function fanOut(
  store: Store,
  settings: NotificationSettings,
  now: Date,
  limit = 200,
): Promise<{ escalations: number; notifications: number }> {
  return store.transaction(async (client) => {
    const db = queryableOf(client);
    const escalations = await claimUnnotifiedEscalations(db as never, limit);
    if (escalations.length === 0) return { escalations: 0, notifications: 0 };
    const people = new Set<string>();
    for (const e of escalations) {
      if (e.subjectKind === 'person') people.add(e.subjectId);
      if (e.manager) people.add(e.manager);
      if (e.teamOwner) people.add(e.teamOwner);
    }
    const preferences = await readPreferences(db as never, [...people]);
    const planned = escalations.flatMap((e) => planNotifications(e, preferences, settings));
    const inserted = await insertNotifications(db as never, planned, now);
    await markNotified(
      db as never,
      escalations.map((e) => e.id),
      now,
    );
    return { escalations: escalations.length, notifications: inserted };
  });
}

/**
 * Gathers every held notice into one digest per address and channel, queued for delivery
 * at once. Returns the digests queued.
 */
export async function collectDigests(
  store: Store,
  settings: NotificationSettings,
  now: Date,
): Promise<number> {
  const day = now.toISOString().slice(0, 10);
  return takeHeldNotifications(store, now, (held) => digestMessage(held, settings.consoleUrl, day));
}

/**
 * Sets a person's notification preference. A member sets only their own; governance and
 * admin roles anyone's. Addresses are checked for the channel.
 */
export async function setNotificationPreference(
  store: Store,
  caller: { role: AppRole; person: string | null },
  input: { person: string | null; channel: string; address: string | null; mode: string },
): Promise<{ person: string } & Preference> {
  const person = input.person ?? caller.person;
  if (!person)
    throw new InvalidRequestError([{ field: 'person', message: 'is required for this key' }]);
  if (person !== caller.person && !seesNames(caller.role))
    throw new ForbiddenError('a member key sets only its own person’s notification preference');
  const problems: { field: string; message: string }[] = [];
  const channel = input.channel as Preference['channel'];
  if (!['email', 'slack', 'teams', 'none'].includes(channel))
    problems.push({ field: 'channel', message: 'use email, slack, teams or none' });
  if (input.mode !== 'immediate' && input.mode !== 'digest')
    problems.push({ field: 'mode', message: 'use immediate or digest' });
  const address = input.address?.trim() || null;
  const problem =
    address && CHANNELS.includes(channel as Channel)
      ? addressProblem(channel as Channel, address)
      : null;
  if (problem) problems.push({ field: 'address', message: problem });
  if (channel === 'teams' && !address)
    problems.push({ field: 'address', message: 'a teams webhook URL (http or https) is required' });
  if (problems.length > 0) throw new InvalidRequestError(problems);
  const preference: Preference = { channel, address, mode: input.mode as Preference['mode'] };
  await setPreference(store, person, preference);
  return { person, ...preference };
}
