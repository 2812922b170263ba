// Recording what an evaluation found: recipients from the directory, rows in batches
// (idempotent by escalation key, so a step found twice is recorded once), and the new
// ones announced to subscribers and webhooks.
import type { EscalationDraft } from '../engine/escalations.ts';
import type { Store } from '../store/db.ts';
import { type EscalationRow, recordEscalations } from '../store/escalations.ts';
import { escalationEventsFor } from './escalation-events.ts';
import { withRecipients } from './notifications.ts';

export async function recordFound(
  store: Store,
  drafts: readonly EscalationDraft[],
  directory: Parameters<typeof withRecipients>[1],
  now: Date,
): Promise<EscalationRow[]> {
  const full = withRecipients(drafts, directory);
  const created: EscalationRow[] = [];
  for (let i = 0; i < full.length; i += 1000) {
    created.push(...(await recordEscalations(store, full.slice(i, i + 1000), now)));
  }
  await escalationEventsFor(store).announce(created);
  return created;
}
