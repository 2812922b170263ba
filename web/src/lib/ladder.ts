// The escalation ladder of the active policy, read from its IR, placed on a quota or budget.

export type IrAction =
  | { kind: 'notify'; audiences: string[]; message: string | null }
  | { kind: 'require_justification' }
  | { kind: 'require_approval'; approver: string }
  | { kind: 'block' };
export type IrStep = { trigger: 'at' | 'forecast'; threshold: number; action: IrAction };

export type LadderStep = {
  percent: number;
  trigger: 'at' | 'forecast';
  /** the limit amount at that percentage */
  amount: number;
  label: string;
  reached: boolean;
};

export function actionLabel(action: IrAction): string {
  switch (action.kind) {
    case 'notify':
      return `notify ${action.audiences.join(', ')}`;
    case 'require_justification':
      return 'justification required';
    case 'require_approval':
      return `approval by ${action.approver}`;
    case 'block':
      return 'blocked';
  }
}

/** The ladder (`quota` or `budget`) from a policy IR; empty when the policy has none. */
export function ladderSteps(ir: unknown, ladder: 'quota' | 'budget'): IrStep[] {
  const escalations = (ir as { escalations?: Record<string, { steps?: IrStep[] }> } | null)
    ?.escalations;
  return escalations?.[ladder]?.steps ?? [];
}

export function placeLadder(steps: IrStep[], limit: number, percentUsed: number): LadderStep[] {
  return steps
    .filter((s) => s.trigger === 'at')
    .map((s) => ({
      percent: s.threshold,
      trigger: s.trigger,
      amount: (limit * s.threshold) / 100,
      label: actionLabel(s.action),
      reached: percentUsed >= s.threshold,
    }))
    .sort((a, b) => a.percent - b.percent);
}
