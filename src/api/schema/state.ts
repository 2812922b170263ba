// Shapes shared by quotas and budgets: forecasts and the next ladder threshold.

import type { Forecast, Threshold } from '../../policy/evaluate/types.ts';
import type { IrAction } from '../../policy/ir.ts';
import { builder } from '../builder.ts';

/** Readable text of a ladder action: "notify person", "require approval by manager", … */
export function actionText(action: IrAction): string {
  switch (action.kind) {
    case 'notify':
      return `notify ${action.audiences.join(', ')}${action.message ? ` "${action.message}"` : ''}`;
    case 'require_justification':
      return 'require justification';
    case 'require_approval':
      return `require approval by ${action.approver}`;
    case 'block':
      return 'block';
  }
}

export const ForecastRef = builder.objectRef<Forecast>('Forecast').implement({
  description:
    'Linear projection of period-to-date use to the end of the period: used ÷ elapsed fraction.',
  fields: (t) => ({
    value: t.exposeFloat('value'),
    percent: t.exposeFloat('percent'),
    elapsedFraction: t.exposeFloat('elapsedFraction'),
    formula: t.exposeString('formula'),
  }),
});

export const ThresholdRef = builder.objectRef<Threshold>('Threshold').implement({
  description: 'The next escalation step above the current percentage.',
  fields: (t) => ({
    trigger: t.exposeString('trigger', { description: '"at" or "forecast"' }),
    percent: t.exposeFloat('percent'),
    amount: t.exposeFloat('amount', { description: 'The limit amount at that percentage.' }),
    action: t.string({ resolve: (th) => actionText(th.action) }),
    actionKind: t.string({ resolve: (th) => th.action.kind }),
  }),
});
