// Read-side entities for the event tables. Writes go through the bulk loader
// (src/store/loader.ts), which uses set-based SQL for speed and idempotency.
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Person } from './person.ts';

/** One model call (or one pre-aggregated bucket from an export). Partitioned by month on ts. */
export const UsageEvent = defineEntity({
  name: 'UsageEvent',
  tableName: 'usage_events',
  primaryKeys: ['id', 'ts'],
  properties: {
    id: p.string().primary(),
    ts: p.datetime().primary(),
    person: () => p.manyToOne(Person).ref(),
    teamId: p.string().nullable(),
    model: p.string(),
    provider: p.string().nullable(),
    inputTokens: p.bigint('number'),
    outputTokens: p.bigint('number'),
    cacheReadTokens: p.bigint('number'),
    cacheWriteTokens: p.bigint('number'),
    requests: p.integer(),
    /** Exact decimal in the policy currency; null when the model had no price at ingest. */
    cost: p.decimal('string').nullable(),
    project: p.string(),
    environment: p.string(),
    task: p.string().nullable(),
    source: p.string(),
    ingestedAt: p.datetime(),
  },
});
export type IUsageEvent = InferEntity<typeof UsageEvent>;

export const OutcomeEvent = defineEntity({
  name: 'OutcomeEvent',
  tableName: 'outcome_events',
  properties: {
    id: p.string().primary(),
    ts: p.datetime(),
    person: () => p.manyToOne(Person).ref(),
    task: p.string().nullable(),
    outcome: p.enum(['accepted', 'rejected', 'reworked', 'completed'] as const),
    minutesSaved: p.decimal('string'),
    source: p.string(),
    ingestedAt: p.datetime(),
  },
});
export type IOutcomeEvent = InferEntity<typeof OutcomeEvent>;

export const ComplianceEvent = defineEntity({
  name: 'ComplianceEvent',
  tableName: 'compliance_events',
  properties: {
    id: p.string().primary(),
    ts: p.datetime(),
    person: () => p.manyToOne(Person).ref(),
    flag: p.enum(['redaction_failure', 'sensitive_data', 'policy_exception'] as const),
    severity: p.string(),
    source: p.string(),
    ingestedAt: p.datetime(),
  },
});
export type IComplianceEvent = InferEntity<typeof ComplianceEvent>;
