// How each table would be placed on a Citus cluster (docs/scale.md): distributed by the
// person (colocated, so a person's events, rollups and month totals sit on one worker),
// distributed by its own id (idempotency ledgers and raw facts that are never joined by
// key), replicated to every worker (small tables that distributed ones reference), or kept
// on the coordinator (the control plane). test/store/distribution.test.ts checks the
// migrated schema against it: every table placed, every unique constraint of a distributed
// table holding its distribution column, and no foreign key Citus would refuse.
export type Placement =
  | { kind: 'distributed'; column: string; colocation: 'person' | 'own' }
  | { kind: 'reference' }
  | { kind: 'coordinator' };

const byPerson = (column: string): Placement => ({
  kind: 'distributed',
  column,
  colocation: 'person',
});
const byOwnId: Placement = { kind: 'distributed', column: 'id', colocation: 'own' };
const reference: Placement = { kind: 'reference' };
const coordinator: Placement = { kind: 'coordinator' };

export const DISTRIBUTION: Record<string, Placement> = {
  // the person's data: the big tables, colocated on the person
  people: byPerson('id'),
  usage_events: byPerson('person_id'),
  daily_rollups: byPerson('person_id'),
  person_months: byPerson('person_id'),
  measure_rollups: byPerson('person_id'),
  enforcement_person_costs: byPerson('person_id'),
  claude_code_activity: byPerson('person_id'),
  notification_preferences: byPerson('person_id'),
  // keyed by their own id: the id is what makes a write idempotent
  usage_event_ids: byOwnId,
  outcome_events: byOwnId,
  compliance_events: byOwnId,
  // small, read with every board and joined to people
  teams: reference,
  policy_versions: reference,
  // the control plane: keys, audit, jobs, enforcement state, notifications, migrations
  api_keys: coordinator,
  audit_log: coordinator,
  badge_announcements: coordinator,
  board_snapshots: coordinator,
  enforcement_cost_deltas: coordinator,
  enforcement_cost_periods: coordinator,
  enforcement_dirty: coordinator,
  enforcement_holds: coordinator,
  enforcement_team_costs: coordinator,
  enforcement_team_costs_version: coordinator,
  engine_change_counters: coordinator,
  engine_change_marks: coordinator,
  engine_period_counters: coordinator,
  engine_period_marks: coordinator,
  escalations: coordinator,
  exceptions: coordinator,
  job_leases: coordinator,
  mikro_orm_migrations: coordinator,
  notifications: coordinator,
  outbox: coordinator,
  pull_cursors: coordinator,
  quota_changes: coordinator,
  season_standings: coordinator,
  server_secrets: coordinator,
  webhooks: coordinator,
};

/** The Citus statements that place the tables (run once on the coordinator after migrating). */
export function citusPlacementSql(): string[] {
  const out: string[] = [];
  const entries = Object.entries(DISTRIBUTION);
  for (const [table, p] of entries) {
    if (p.kind === 'reference') out.push(`select create_reference_table('${table}');`);
  }
  // people first: the other person tables colocate with it
  const person = entries.filter(([, p]) => p.kind === 'distributed' && p.colocation === 'person');
  person.sort(([a], [b]) => (a === 'people' ? -1 : b === 'people' ? 1 : a.localeCompare(b)));
  for (const [table, p] of person) {
    if (p.kind !== 'distributed') continue;
    const colocate = table === 'people' ? "'none'" : "'people'";
    out.push(
      `select create_distributed_table('${table}', '${p.column}', colocate_with => ${colocate});`,
    );
  }
  for (const [table, p] of entries) {
    if (p.kind === 'distributed' && p.colocation === 'own') {
      out.push(
        `select create_distributed_table('${table}', '${p.column}', colocate_with => 'none');`,
      );
    }
  }
  return out;
}
