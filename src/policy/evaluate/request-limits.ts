// Per-request input limits (`request premium { warn above 50k input  block above 200k input }`).
// Pure: the quota decision (engine/decision.ts) and policy tests (tests.ts) ask the same
// question, so a test's `expect request … warn` means what checkQuota answers.
import type { IrRequestStep, RuleSetIR } from '../ir.ts';

export type RequestVerdict = {
  outcome: 'allow' | 'warn' | 'block';
  /** the limit that decided: a class name or "any" (null when nothing applies) */
  limit: string | null;
  step: IrRequestStep | null;
};

const ALLOW: RequestVerdict = { outcome: 'allow', limit: null, step: null };

/**
 * The verdict on one request of `inputTokens` input tokens to a model of `modelClass` (null:
 * no class, so only `request any` applies). A block beats a warning; the class's own limit
 * is weighed before `any` on a tie.
 */
export function requestVerdict(
  ir: Pick<RuleSetIR, 'requestLimits'>,
  modelClass: string | null,
  inputTokens: number,
): RequestVerdict {
  const limits = ir.requestLimits;
  if (!limits) return ALLOW;
  const keys = [...(modelClass !== null && limits[modelClass] ? [modelClass] : []), 'any'];
  for (const action of ['block', 'warn'] as const) {
    for (const key of keys) {
      const step = limits[key]?.[action];
      if (step && inputTokens > step.above) return { outcome: action, limit: key, step };
    }
  }
  return ALLOW;
}

/** `request premium warn above 50k input`: how a verdict reads in an answer or a test. */
export function requestVerdictText(v: RequestVerdict, inputTokens: number): string {
  if (v.outcome === 'allow' || !v.step || !v.limit) return 'within every request limit';
  const scope = v.limit === 'any' ? 'every request' : `a ${v.limit} request`;
  return `${inputTokens} input tokens is above the ${v.step.above} that ${scope} may send without ${v.outcome === 'block' ? 'being blocked' : 'a warning'}${v.step.message ? `: ${v.step.message}` : ''}`;
}
