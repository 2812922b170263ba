// /metrics in the Prometheus text format (prom-client). Every metric the server exports is
// defined here. Request figures are recorded per endpoint and per GraphQL operation; the
// engine, store and delivery code report ingest, quota decisions, escalations and
// deliveries through diagnostics channels (src/engine/telemetry.ts); queue depths, pool
// usage and budget figures (the budget passes', kept in memory) are read when scraped.
import { timingSafeEqual } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { activePolicyFor } from '../app/active-policy.ts';
import { budgetStandingsFor } from '../app/budget-metrics.ts';
import {
  type BudgetPassReport,
  budgetPassChannel,
  type DeliveryReportEvent,
  deliveryChannel,
  type EscalationsOpenedReport,
  escalationsOpenedChannel,
  type IngestReport,
  ingestChannel,
  type QuotaDecisionReport,
  quotaCacheRefreshChannel,
  quotaDecisionChannel,
} from '../engine/telemetry.ts';
import type { Store } from '../store/db.ts';
import { countEscalationsByStep, readQueueDepths } from '../store/operations.ts';
import { bearerToken, type Caller } from './auth.ts';
import { readServiceFor } from './loaders.ts';

export const METRICS_PATH = '/metrics';

/** Endpoints get their own label value; anything else is `other` (no label per random URL). */
const ENDPOINTS = new Set([
  '/graphql',
  '/v1/traces',
  '/v1/quota/check',
  '/health',
  '/ready',
  METRICS_PATH,
  '/',
]);

/** Distinct operation names kept as labels; later new names count as `other`. */
const MAX_OPERATION_NAMES = 200;

export type MetricsOptions = {
  store: Store;
  log: Logger;
  /** a bearer token that may read /metrics (QUOTIENT_METRICS_KEY); else an admin key */
  key?: string | null;
};

export type Metrics = {
  registry: Registry;
  /** records the GraphQL operation name of a request */
  yogaPlugin(): Plugin;
  /** counts a request and its latency when the response finishes */
  observe(req: IncomingMessage, res: ServerResponse, startedMs: number): void;
  /** whether a bearer token equals the configured metrics key */
  acceptsKey(token: string): boolean;
  hasKey: boolean;
  /** writes the exposition text */
  respond(res: ServerResponse): Promise<void>;
  /** stops listening to the diagnostics channels */
  close(): void;
};

const operationOf = new WeakMap<IncomingMessage, string>();

export function createMetrics(options: MetricsOptions): Metrics {
  const { store, log } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'quotient_http_requests_total',
    help: 'HTTP requests by endpoint, GraphQL operation (or "-") and status code.',
    labelNames: ['endpoint', 'operation', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'quotient_http_request_duration_seconds',
    help: 'Time from request arrival to the end of the response, by endpoint and GraphQL operation.',
    labelNames: ['endpoint', 'operation'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const ingested = new Counter({
    name: 'quotient_ingest_events_total',
    help: 'Ingested rows by source (api, otlp, import, seed) and status (accepted, duplicate, rejected).',
    labelNames: ['source', 'status'] as const,
    registers: [registry],
  });
  // checks are tallied in plain counts and added to the counters when scraped: a labelled
  // inc hashes its labels, which on the quota hot path costs more than the check's arithmetic
  const decisionTally = new Map<string, number>();
  const sourceTally = new Map<string, number>();
  const drain = (tally: Map<string, number>, into: (label: string, n: number) => void) => {
    for (const [label, n] of tally) if (n > 0) into(label, n);
    tally.clear();
  };
  new Counter({
    name: 'quotient_quota_decisions_total',
    help: 'checkQuota answers by decision (allow, allow_with_notice, require_justification, require_approval, block).',
    labelNames: ['decision'] as const,
    registers: [registry],
    collect() {
      drain(decisionTally, (decision, n) => this.inc({ decision }, n));
    },
  });
  new Counter({
    name: 'quotient_quota_answers_total',
    help: 'checkQuota answers by where they came from: memory (the quota cache, fresh) or database.',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      drain(sourceTally, (source, n) => this.inc({ source }, n));
    },
  });
  const cacheRefreshes = new Histogram({
    name: 'quotient_quota_cache_refresh_duration_seconds',
    help: 'Time of one quota cache refresh (read the change log, read again what changed): with the refresh interval, how far answers from memory trail the database.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const opened = new Counter({
    name: 'quotient_escalations_opened_total',
    help: 'Escalations opened by this instance, by step ("quota at 70%", "rule leakage") and action.',
    labelNames: ['step', 'action'] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'quotient_notification_deliveries_total',
    help: 'Delivery attempts by channel (webhook, slack, teams, email) and outcome (delivered, failed, gave_up, suppressed).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const collectErrors = new Counter({
    name: 'quotient_metrics_collect_errors_total',
    help: 'Scrape-time reads that failed (the figures they feed are left out of that scrape).',
    labelNames: ['part'] as const,
    registers: [registry],
  });

  // metrics that share one database read make it once per scrape
  let scrape = 0;
  const memo = <T>(read: () => Promise<T>) => {
    let last: { scrape: number; value: Promise<T> } | null = null;
    return () => {
      if (last?.scrape !== scrape) last = { scrape, value: read() };
      return last.value;
    };
  };
  const guarded = async (part: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (err) {
      collectErrors.inc({ part });
      log.warn({ err, part }, 'a metrics read failed');
    }
  };

  const depths = memo(() => readQueueDepths(store));
  new Gauge({
    name: 'quotient_queue_depth',
    help: 'Rows waiting: outbox_pending (deliveries due or retrying), outbox_failed (gave up, re-drivable), reevaluation (people touched by ingest).',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      await guarded('queues', async () => {
        const d = await depths();
        this.set({ queue: 'outbox_pending' }, d.outboxPending);
        this.set({ queue: 'outbox_failed' }, d.outboxFailed);
        this.set({ queue: 'reevaluation' }, d.reevaluationQueue);
      });
    },
  });

  const escalationCounts = memo(() => countEscalationsByStep(store, readServiceFor(store).now()));
  new Gauge({
    name: 'quotient_escalations',
    help: 'Escalations of periods not yet ended, by step, action and status (open, acknowledged, justified, approved, denied, resolved).',
    labelNames: ['step', 'action', 'status'] as const,
    registers: [registry],
    async collect() {
      await guarded('escalations', async () => {
        const rows = await escalationCounts();
        this.reset();
        for (const r of rows)
          this.set({ step: r.step, action: r.action ?? '', status: r.status }, r.count);
      });
    },
  });

  new Gauge({
    name: 'quotient_db_pool_connections',
    help: 'Database pool connections by state: total (open), idle, waiting (requests queued for one), max (pool size).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const pool = store.pool;
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
      this.set({ state: 'max' }, store.maxConnections);
    },
  });

  // the budget passes' figures, kept in memory: a scrape never evaluates the organisation
  const standings = budgetStandingsFor(store);
  const budgets = memo(async () => {
    const active = await activePolicyFor(store).current();
    return active ? standings.figures(active.ruleSet, active.hash) : null;
  });
  const budgetLabels = ['budget', 'team', 'currency', 'period'] as const;
  const budgetGauge = (name: string, help: string, pick: (f: BudgetFigureLike) => number) =>
    new Gauge({
      name,
      help,
      labelNames: budgetLabels,
      registers: [registry],
      async collect() {
        await guarded('budgets', async () => {
          const result = await budgets();
          this.reset();
          for (const f of result?.figures ?? [])
            this.set(
              { budget: f.budget, team: f.team, currency: f.currency, period: f.period },
              pick(f),
            );
        });
      },
    });
  budgetGauge(
    'quotient_budget_spent',
    'Money spent in the current period, per budget (org and visible teams only: see docs/operations-metrics.md).',
    (f) => f.spent,
  );
  budgetGauge('quotient_budget_limit', 'The budget limit per period.', (f) => f.limit);
  budgetGauge(
    'quotient_budget_forecast',
    'Projected spend at the end of the period (straight line from the period start).',
    (f) => f.forecast,
  );
  new Gauge({
    name: 'quotient_budget_figures_age_seconds',
    help: 'Seconds since the budget pass whose figures the quotient_budget_* gauges show (absent before the first full pass of the active policy).',
    registers: [registry],
    async collect() {
      await guarded('budgets', async () => {
        const result = await budgets();
        this.reset();
        if (result)
          this.set(
            Math.max(0, (activePolicyFor(store).now().getTime() - result.at.getTime()) / 1000),
          );
      });
    },
  });
  new Gauge({
    name: 'quotient_budget_withheld',
    help: 'Budgets left out of these metrics for privacy, by reason (person, small_or_restricted_team, org_complement).',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      await guarded('budgets', async () => {
        const result = await budgets();
        this.reset();
        for (const [reason, n] of Object.entries(result?.withheld ?? {})) this.set({ reason }, n);
      });
    },
  });

  const onIngest = (message: unknown) => {
    const m = message as IngestReport;
    if (m.accepted) ingested.inc({ source: m.source, status: 'accepted' }, m.accepted);
    if (m.duplicates) ingested.inc({ source: m.source, status: 'duplicate' }, m.duplicates);
    if (m.rejected) ingested.inc({ source: m.source, status: 'rejected' }, m.rejected);
  };
  const onDecision = (message: unknown) => {
    const m = message as QuotaDecisionReport;
    decisionTally.set(m.decision, (decisionTally.get(m.decision) ?? 0) + 1);
    sourceTally.set(m.source, (sourceTally.get(m.source) ?? 0) + 1);
  };
  const onCacheRefresh = (message: unknown) => {
    cacheRefreshes.observe((message as { seconds: number }).seconds);
  };
  const onOpened = (message: unknown) => {
    for (const s of (message as EscalationsOpenedReport).steps)
      opened.inc({ step: s.step, action: s.action });
  };
  const onDelivery = (message: unknown) => {
    const m = message as DeliveryReportEvent;
    deliveries.inc({ channel: m.channel, outcome: m.outcome });
  };
  const budgetPasses = new Histogram({
    name: 'quotient_budget_pass_duration_seconds',
    help: 'Time of one budget pass (fold ingest cost deltas, weigh the budgets they touch, write holds): with the pass interval, how far budget holds trail ingest.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const onBudgetPass = (message: unknown) => {
    budgetPasses.observe((message as BudgetPassReport).seconds);
  };
  subscribe(ingestChannel.name, onIngest);
  subscribe(budgetPassChannel.name, onBudgetPass);
  subscribe(quotaDecisionChannel.name, onDecision);
  subscribe(quotaCacheRefreshChannel.name, onCacheRefresh);
  subscribe(escalationsOpenedChannel.name, onOpened);
  subscribe(deliveryChannel.name, onDelivery);

  const operations = new Set<string>();
  const key = options.key ? Buffer.from(options.key) : null;

  return {
    registry,
    hasKey: key !== null,
    acceptsKey(token) {
      if (!key) return false;
      const given = Buffer.from(token);
      return given.length === key.length && timingSafeEqual(given, key);
    },
    yogaPlugin(): Plugin {
      return {
        onExecute({ args }) {
          const req = (args.contextValue as { req?: IncomingMessage }).req;
          if (!req) return;
          const name =
            getOperationAST(args.document, args.operationName)?.name?.value ?? 'anonymous';
          if (operations.has(name) || operations.size < MAX_OPERATION_NAMES) {
            operations.add(name);
            operationOf.set(req, name);
          } else operationOf.set(req, 'other');
        },
      };
    },
    observe(req, res, startedMs) {
      res.once('finish', () => {
        const path = (req.url ?? '/').split('?')[0];
        const endpoint = ENDPOINTS.has(path) ? path : 'other';
        const operation = operationOf.get(req) ?? '-';
        requests.inc({ endpoint, operation, status: String(res.statusCode) });
        latency.observe({ endpoint, operation }, (performance.now() - startedMs) / 1000);
      });
    },
    async respond(res) {
      scrape++;
      const text = await registry.metrics();
      res.writeHead(200, {
        'content-type': registry.contentType,
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    },
    close() {
      unsubscribe(ingestChannel.name, onIngest);
      unsubscribe(budgetPassChannel.name, onBudgetPass);
      unsubscribe(quotaDecisionChannel.name, onDecision);
      unsubscribe(quotaCacheRefreshChannel.name, onCacheRefresh);
      unsubscribe(escalationsOpenedChannel.name, onOpened);
      unsubscribe(deliveryChannel.name, onDelivery);
      registry.clear();
    },
  };
}

type BudgetFigureLike = { spent: number; limit: number; forecast: number };

/**
 * GET /metrics on the API port: the bearer token must be the metrics key or an admin API
 * key. On a separate metrics port (QUOTIENT_METRICS_PORT) no token is asked: bind that
 * port to an interface only the monitoring system reaches.
 */
export async function handleMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  keys: { authenticate(token: string): Promise<Caller | { reason: string }> } | null,
): Promise<void> {
  const deny = (status: number, message: string) => {
    const text = JSON.stringify({
      error: message,
      code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
    });
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="quotient-metrics"' } : {}),
    });
    res.end(text);
  };
  if (keys) {
    const token = bearerToken(req.headers.authorization ?? null);
    if (typeof token !== 'string')
      return deny(401, `${token.reason}; /metrics takes the metrics key or an admin key`);
    if (!metrics.acceptsKey(token)) {
      const caller = await keys.authenticate(token);
      if ('reason' in caller) return deny(401, caller.reason);
      if (caller.role !== 'admin')
        return deny(
          403,
          `/metrics takes the metrics key or an admin key, not a ${caller.role} key`,
        );
    }
  }
  await metrics.respond(res);
}
