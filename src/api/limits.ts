// Limits on what one caller can make the server do (docs/operations-limits.md): requests
// per key (rate-limiter-flexible), open subscriptions per key and in all, and how many
// whole-organisation evaluations one GraphQL operation may ask for.
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Context } from './context.ts';

export type ApiLimits = {
  /** requests one key may make per window (rateWindowSeconds); 0: no limit */
  requestsPerSecond: number;
  /** the window of requestsPerSecond, in seconds (1 unless a test needs a slower clock) */
  rateWindowSeconds: number;
  /** open subscriptions (SSE streams) of one key */
  subscriptionsPerKey: number;
  /** open subscriptions on this instance */
  subscriptionsTotal: number;
  /** evaluation cost one operation may spend (EVALUATION_COSTS) */
  maxEvaluationCost: number;
};

/** The defaults of the limits settings (src/config.ts); `quotient serve` passes the effective ones. */
export const DEFAULT_LIMITS: ApiLimits = {
  requestsPerSecond: 1_000,
  rateWindowSeconds: 1,
  subscriptionsPerKey: 10,
  subscriptionsTotal: 1_000,
  maxEvaluationCost: 4,
};

/** An error that the HTTP layer answers with 429 and Retry-After. */
export function tooManyRequests(message: string, retryAfterSeconds: number) {
  return createGraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED',
      http: { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
    },
  });
}

export type RateLimiter = { take(keyId: string): Promise<void> };

/** A token bucket per key; `take` throws tooManyRequests when the key's bucket is empty. */
export function rateLimiter(requestsPerSecond: number, windowSeconds = 1): RateLimiter {
  if (requestsPerSecond <= 0) return { take: async () => {} };
  const limiter = new RateLimiterMemory({ points: requestsPerSecond, duration: windowSeconds });
  return {
    async take(keyId) {
      try {
        await limiter.consume(keyId);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        const seconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
        throw tooManyRequests(
          `rate limit: this key may make ${requestsPerSecond} requests per ${windowSeconds === 1 ? 'second' : `${windowSeconds} s`}; retry in ${seconds} s`,
          seconds,
        );
      }
    },
  };
}

/** Caps on open subscriptions, per key and in all; a subscription over a cap gets 429. */
export function subscriptionCapPlugin(limits: ApiLimits): Plugin<Context> {
  const perKey = new Map<string, number>();
  let total = 0;
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const keyId = (args.contextValue as Context).caller.keyId;
      const mine = perKey.get(keyId) ?? 0;
      const over =
        mine >= limits.subscriptionsPerKey
          ? `this key already has ${mine} open subscriptions (at most ${limits.subscriptionsPerKey})`
          : total >= limits.subscriptionsTotal
            ? `the server has ${total} open subscriptions (at most ${limits.subscriptionsTotal})`
            : null;
      if (over) {
        setResultAndStopExecution({ errors: [tooManyRequests(`${over}; close one first`, 5)] });
        return;
      }
      perKey.set(keyId, mine + 1);
      total++;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        total--;
        const left = (perKey.get(keyId) ?? 1) - 1;
        if (left > 0) perKey.set(keyId, left);
        else perKey.delete(keyId);
      };
      return {
        onSubscribeResult() {
          return { onEnd: end };
        },
        onSubscribeError: end,
      };
    },
  };
}

/**
 * What a field costs to answer beyond the data it returns: each one evaluates a policy over
 * the whole organisation. Fields asked for twice with the same arguments (aliases) are
 * answered from one evaluation, so they cost once: the price is per distinct evaluation.
 */
export const EVALUATION_COSTS: Record<string, number> = {
  leaderboard: 1,
  policyImpact: 4,
};

/** The distinct evaluations an operation asks for, with their summed cost. */
export function evaluationCost(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): { cost: number; evaluations: string[] } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
    else if (
      definition.kind === Kind.OPERATION_DEFINITION &&
      (!operationName || definition.name?.value === operationName)
    )
      operation ??= definition;
  }
  const seen = new Map<string, number>();
  const visited = new Set<string>();
  // root fields only (through fragments on the root type too): these are the Query fields
  const walk = (set: SelectionSetNode | undefined) => {
    if (!set) return;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const price = EVALUATION_COSTS[selection.name.value];
        if (price !== undefined) seen.set(evaluationKey(selection, variables), price);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        walk(fragments.get(selection.name.value)?.selectionSet);
      }
    }
  };
  if (operation?.operation === 'query') walk(operation.selectionSet);
  let cost = 0;
  for (const price of seen.values()) cost += price;
  return { cost, evaluations: [...seen.keys()] };
}

function evaluationKey(field: FieldNode, variables: Record<string, unknown> | null | undefined) {
  const args = (field.arguments ?? [])
    .map((a) => [a.name.value, valueFromASTUntyped(a.value, variables ?? undefined)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${field.name.value}(${JSON.stringify(args)})`;
}

/** Refuses an operation whose distinct evaluations cost more than the limit. */
export function evaluationCostPlugin(limits: ApiLimits): Plugin<Context> {
  const refuse = (cost: number, evaluations: string[]) =>
    createGraphQLError(
      `this operation asks for ${evaluations.length} distinct evaluations costing ${cost}; at most ${limits.maxEvaluationCost} per request (one per distinct leaderboard and window, ${EVALUATION_COSTS.policyImpact} per policyImpact): split it into several requests`,
      { extensions: { code: 'QUERY_LIMIT_EXCEEDED', http: { status: 400 } } },
    );
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const { cost, evaluations } = evaluationCost(
        args.document,
        args.operationName,
        args.variableValues as Record<string, unknown> | undefined,
      );
      if (cost > limits.maxEvaluationCost)
        setResultAndStopExecution({ errors: [refuse(cost, evaluations)] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const { cost, evaluations } = evaluationCost(
        args.document,
        args.operationName,
        args.variableValues as Record<string, unknown> | undefined,
      );
      if (cost > limits.maxEvaluationCost)
        setResultAndStopExecution({ errors: [refuse(cost, evaluations)] });
    },
  };
}
