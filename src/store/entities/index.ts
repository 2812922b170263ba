// Every entity the store registers with MikroORM. Other layers pass extra entities to
// openStore({ entities }) rather than editing this list.
import { DailyRollup } from './daily-rollup.ts';
import { ComplianceEvent, OutcomeEvent, UsageEvent } from './events.ts';
import { Person } from './person.ts';
import { PolicyVersion } from './policy-version.ts';
import { Team } from './team.ts';

export { ComplianceEvent, DailyRollup, OutcomeEvent, Person, PolicyVersion, Team, UsageEvent };
export const storeEntities = [
  Team,
  Person,
  UsageEvent,
  OutcomeEvent,
  ComplianceEvent,
  DailyRollup,
  PolicyVersion,
];
