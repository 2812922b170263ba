// Named diagnostics channels (node:diagnostics_channel) through which the engine, store and
// delivery code report what happened, for whoever listens: the /metrics registry today.
// Publishing costs one property check when nobody subscribes, and the publishers need not
// know about Prometheus (layers stay one-way: src/api subscribes, lower layers publish).
import { channel } from 'node:diagnostics_channel';

export type IngestReport = {
  /** the loader's source label: api, otlp, import, seed, … */
  source: string;
  accepted: number;
  duplicates: number;
  rejected: number;
};

export type QuotaDecisionReport = {
  decision: string;
  /** answered from the in-memory quota state, or read from the database */
  source: 'memory' | 'database';
};

export type EscalationsOpenedReport = {
  /** one entry per escalation created: the step that opened it */
  steps: { step: string; action: string }[];
};

export type DeliveryReportEvent = {
  /** webhook, slack, teams, email */
  channel: string;
  outcome: 'delivered' | 'failed' | 'gave_up' | 'suppressed';
};

export type BudgetPassReport = {
  seconds: number;
  /** people and teams weighed */
  people: number;
  teams: number;
};

export const ingestChannel = channel('quotient:ingest');
export const budgetPassChannel = channel('quotient:budget-pass');
export const quotaDecisionChannel = channel('quotient:quota-decision');
export const quotaCacheRefreshChannel = channel('quotient:quota-cache-refresh');
export const escalationsOpenedChannel = channel('quotient:escalations-opened');
export const deliveryChannel = channel('quotient:delivery');

export function reportIngest(report: IngestReport): void {
  if (ingestChannel.hasSubscribers) ingestChannel.publish(report);
}

export function reportQuotaDecision(decision: string, source: QuotaDecisionReport['source']): void {
  if (quotaDecisionChannel.hasSubscribers)
    quotaDecisionChannel.publish({ decision, source } satisfies QuotaDecisionReport);
}

export function reportQuotaCacheRefresh(seconds: number): void {
  if (quotaCacheRefreshChannel.hasSubscribers) quotaCacheRefreshChannel.publish({ seconds });
}

export function reportEscalationsOpened(steps: EscalationsOpenedReport['steps']): void {
  if (steps.length > 0 && escalationsOpenedChannel.hasSubscribers)
    escalationsOpenedChannel.publish({ steps } satisfies EscalationsOpenedReport);
}

export function reportDelivery(event: DeliveryReportEvent): void {
  if (deliveryChannel.hasSubscribers) deliveryChannel.publish(event);
}

export function reportBudgetPass(report: BudgetPassReport): void {
  if (budgetPassChannel.hasSubscribers) budgetPassChannel.publish(report);
}
