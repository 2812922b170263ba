import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * Sums per UTC day × person × model × project × environment, maintained in the same
 * transaction as the events. Outcome and compliance facts have model = project =
 * environment = '', and so does Claude Code activity (sessions, lines, commits, pull
 * requests: the provider's latest figures for the day, replaced when restated). `tasks`
 * counts outcome events (one reported outcome = one task).
 */
export const DailyRollup = defineEntity({
  name: 'DailyRollup',
  tableName: 'daily_rollups',
  primaryKeys: ['personId', 'day', 'model', 'project', 'environment'],
  properties: {
    day: p.string().columnType('date').primary(),
    personId: p.string().primary(),
    model: p.string().primary(),
    project: p.string().primary(),
    environment: p.string().primary(),
    inputTokens: p.bigint('number'),
    outputTokens: p.bigint('number'),
    cacheReadTokens: p.bigint('number'),
    cacheWriteTokens: p.bigint('number'),
    cost: p.decimal('string'),
    requests: p.bigint('number'),
    unpricedRequests: p.bigint('number'),
    tasks: p.bigint('number'),
    accepted: p.bigint('number'),
    rejected: p.bigint('number'),
    reworked: p.bigint('number'),
    completed: p.bigint('number'),
    minutesSaved: p.decimal('string'),
    redactionFailures: p.bigint('number'),
    sensitiveFlags: p.bigint('number'),
    policyExceptions: p.bigint('number'),
    /** Claude Code activity (core_metrics) of the day, in the row without a model */
    sessions: p.bigint('number'),
    linesAdded: p.bigint('number'),
    linesRemoved: p.bigint('number'),
    commits: p.bigint('number'),
    pullRequests: p.bigint('number'),
  },
});
export type IDailyRollup = InferEntity<typeof DailyRollup>;
