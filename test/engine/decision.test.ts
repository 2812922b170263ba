import { describe, expect, it } from 'vitest';
import { bandFor, cheaperClass, decideQuota, decideRequest } from '../../src/engine/decision.ts';
import { buildLadder } from '../../src/policy/compile/ruleset.ts';
import type { IrStep } from '../../src/policy/ir.ts';

const steps: IrStep[] = [
  {
    trigger: 'at',
    threshold: 70,
    action: { kind: 'notify', audiences: ['person'], message: 'use economy' },
  },
  { trigger: 'at', threshold: 90, action: { kind: 'require_justification' } },
  { trigger: 'at', threshold: 100, action: { kind: 'require_approval', approver: 'manager' } },
  { trigger: 'at', threshold: 120, action: { kind: 'block' } },
];
const ladder = buildLadder(steps);
const prices = { premium: 90_000_000, standard: 18_000_000, economy: 750_000 };
const quota = { tier: 'baseline', limit: 1000, used: 0, allowedClasses: ['economy', 'standard'] };

function decide(used: number, estimated = 0, extra = 0, modelClass: string | null = 'standard') {
  return decideQuota({
    quota: { ...quota, used },
    ladder,
    exceptionTokens: extra,
    estimatedTokens: estimated,
    modelClass,
    classPrices: prices,
  });
}

describe('decideQuota', () => {
  it('climbs the ladder by the usage after the request', () => {
    expect(decide(690).decision).toBe('allow');
    expect(decide(690, 10).decision).toBe('allow_with_notice');
    expect(decide(700).notice).toBe('use economy');
    expect(decide(900).decision).toBe('require_justification');
    expect(decide(1000).decision).toBe('require_approval');
    expect(decide(1000).approver).toBe('manager');
    expect(decide(1199).decision).toBe('require_approval');
    expect(decide(1200).decision).toBe('block');
  });

  it('reports the remaining allowance after the request and the band before it', () => {
    const d = decide(600, 150);
    expect(d.remainingAfter).toBe(250);
    expect(d.percentAfter).toBe(75);
    expect(d.band).toBe('green');
    expect(decide(700).band).toBe('yellow');
    expect(decide(900).band).toBe('red');
  });

  it('an approved exception raises the effective limit', () => {
    const d = decide(1000, 0, 500);
    expect(d.decision).toBe('allow');
    expect(d.effectiveLimit).toBe(1500);
    expect(d.reason).toContain('from approved exceptions');
  });

  it('a satisfied justification step becomes a notice', () => {
    const d = decideQuota({
      quota: { ...quota, used: 950 },
      ladder,
      exceptionTokens: 0,
      estimatedTokens: 0,
      modelClass: 'standard',
      classPrices: prices,
      satisfied: new Set([90]),
    });
    expect(d.decision).toBe('allow_with_notice');
    expect(d.reason).toContain('already satisfied');
  });

  it('blocks a class the tier does not allow and suggests a cheaper allowed one', () => {
    const d = decide(0, 10, 0, 'premium');
    expect(d.decision).toBe('block');
    expect(d.reason).toContain('premium is not allowed in tier baseline');
    expect(d.cheaperClass).toBe('economy');
    expect(decide(0, 10, 0, 'economy').cheaperClass).toBeNull();
    expect(decide(0, 10, 0, null).decision).toBe('block');
  });

  it('without a ladder the limit is hard', () => {
    const d = decideQuota({
      quota: { ...quota, used: 990 },
      ladder: null,
      exceptionTokens: 0,
      estimatedTokens: 20,
      modelClass: 'economy',
      classPrices: prices,
    });
    expect(d.decision).toBe('block');
  });
});

describe('helpers', () => {
  it('bands follow the ladder', () => {
    expect(bandFor(ladder, 69.9)).toBe('green');
    expect(bandFor(ladder, 70)).toBe('yellow');
    expect(bandFor(ladder, 90)).toBe('red');
    expect(bandFor(null, 99)).toBe('green');
  });
  it('cheaperClass respects the tier', () => {
    expect(cheaperClass('premium', 'any', prices)).toBe('economy');
    expect(cheaperClass('premium', ['standard', 'premium'], prices)).toBe('standard');
    expect(cheaperClass('standard', ['standard'], prices)).toBeNull();
  });
});

describe('request limits in decideRequest', () => {
  const requestLimits = {
    premium: {
      warn: { above: 100_000, message: 'trim it' },
      block: { above: 400_000, message: null },
    },
    any: { warn: { above: 200_000, message: null }, block: null },
  };
  const ask = (modelClass: string | null, inputTokens: number, noModel = false) =>
    decideRequest({
      quota: { ...quota, limit: 10_000_000, allowedClasses: 'any' },
      ladder,
      exceptionTokens: 0,
      estimatedTokens: inputTokens,
      modelClass,
      classPrices: prices,
      holds: [],
      environment: null,
      requestLimits,
      inputTokens,
      noModel,
    });

  it('warns and blocks by the input of one request, the class first, then any', () => {
    expect(ask('premium', 100_000).decision).toBe('allow');
    const warned = ask('premium', 150_000);
    expect(warned.decision).toBe('allow_with_notice');
    expect(warned.binding).toMatchObject({ kind: 'request', name: 'premium' });
    expect(warned.notice).toBe(
      '150000 input tokens is above the 100000 that a premium request may send without a warning: trim it',
    );
    expect(warned.next.action).toBe('none');
    const blocked = ask('premium', 500_000);
    expect(blocked.decision).toBe('block');
    expect(blocked.binding).toMatchObject({ kind: 'request', name: 'premium' });
    expect(blocked.next.action).toBe('reduce_input');
    // a class with no limit of its own meets `any`
    expect(ask('economy', 250_000).binding).toMatchObject({ kind: 'request', name: 'any' });
    expect(ask('economy', 150_000).decision).toBe('allow');
  });

  it('applies only `any` to a request that names no model, and checks no class for it', () => {
    const answer = ask(null, 250_000, true);
    expect(answer.decision).toBe('allow_with_notice');
    expect(answer.binding).toMatchObject({ kind: 'request', name: 'any' });
    // a tier that lists its classes refuses an unknown model, but not a request with none
    const listed = (noModel: boolean) =>
      decideRequest({
        quota: { ...quota, limit: 10_000_000 },
        ladder,
        exceptionTokens: 0,
        estimatedTokens: 10,
        modelClass: null,
        classPrices: prices,
        holds: [],
        environment: null,
        noModel,
      });
    expect(listed(false).decision).toBe('block');
    expect(listed(false).binding?.kind).toBe('model_class');
    expect(listed(true).decision).toBe('allow');
  });

  it('loses to a stronger tier step, and the tier keeps a tie', () => {
    const near = decideRequest({
      quota: { ...quota, used: 1_250, allowedClasses: 'any' },
      ladder,
      exceptionTokens: 0,
      estimatedTokens: 150_000,
      modelClass: 'premium',
      classPrices: prices,
      holds: [],
      environment: null,
      requestLimits,
      inputTokens: 150_000,
    });
    expect(near.decision).toBe('block');
    expect(near.binding?.kind).toBe('tier');
    expect(near.constraints.map((c) => c.kind)).toEqual(['tier', 'request']);
  });
});
