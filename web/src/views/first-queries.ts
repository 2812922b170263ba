// The first query of the views people open most (Me, Leaderboards), kept out of the views'
// chunks: the shell starts it while the view's code is still loading (prefetch.ts).
import type { Client } from '@urql/core';
import { graphql } from '../graphql.ts';
import { seesNames } from '../lib/views.ts';
import { prefetchQuery } from '../prefetch.ts';
import type { SessionView } from '../session.ts';

export const MeQuery = graphql(`
  query Me($person: String, $subject: String) {
    quota(person: $person) {
      __typename
      ... on Quota {
        tier
        tierLabel
        assignedBy
        used
        limit
        effectiveLimit
        percent
        remaining
        band
        bandReason
        period
        periodStart
        periodEnd
        allowedClasses
        forecast { percent value formula }
        nextThreshold { percent action actionKind amount }
        activeExceptions { id extraTokens expiresAt justification }
        person { id optedIn team { id name sensitivity } }
        daily { day tokens }
      }
      ... on Problem { code message }
    }
    activePolicy { id version ir }
    escalations(status: [open], subject: $subject, first: 20) {
      edges { node { id ladder rule actionKind action threshold trigger createdAt of periodEnd } }
    }
    exceptions(subject: $subject, first: 10) {
      edges { node { id status extraTokens expiresAt justification approver createdAt note decidedBy } }
    }
  }
`);

export function meVariables(session: SessionView) {
  const person = session.person ?? '';
  return { person, subject: session.role && seesNames(session.role) ? person : null };
}

export const BoardsQuery = graphql(`
  query Boards { activePolicy { id version ir } }
`);

/** Starts the first query of the view about to open, when it is one of these. */
export function prefetchView(client: Client, view: string, session: SessionView): void {
  if (view === 'me' && session.person) prefetchQuery(client, MeQuery, meVariables(session));
  if (view === 'leaderboards') prefetchQuery(client, BoardsQuery, {});
}
