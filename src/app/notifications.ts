// Who hears about an escalation: the audiences its action names, resolved to people from
// the directory (the person, their manager, their team's owner).
import { audiencesOf, type EscalationDraft } from '../engine/escalations.ts';
import type { EscalationToRecord } from '../store/escalations.ts';

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
