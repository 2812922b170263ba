// Explanations: which facts and metrics produced a score or a fired rule, with their values.
import type { Explanation } from '../../policy/evaluate/types.ts';
import { builder } from '../builder.ts';

const FactUseRef = builder.objectRef<Explanation['facts'][number]>('FactUse').implement({
  description: 'A fact a formula read: its name, window and value.',
  fields: (t) => ({
    name: t.exposeString('name'),
    window: t.exposeString('window', { description: 'e.g. "quarter", "7d", "month@sandbox"' }),
    value: t.exposeFloat('value'),
  }),
});

const MetricUseRef = builder.objectRef<Explanation['metrics'][number]>('MetricUse').implement({
  description: 'A metric a formula used, with its own formula and value.',
  fields: (t) => ({
    name: t.exposeString('name'),
    formula: t.exposeString('formula'),
    unit: t.exposeString('unit'),
    value: t.exposeFloat('value'),
  }),
});

const RuntimeFlagRef = builder.objectRef<Explanation['flags'][number]>('RuntimeFlag').implement({
  description: 'A hazard met while evaluating (e.g. x / 0, defined as 0).',
  fields: (t) => ({
    kind: t.exposeString('kind'),
    where: t.exposeString('where'),
    expr: t.exposeString('expr'),
    note: t.exposeString('note'),
  }),
});

export const ExplanationRef = builder.objectRef<Explanation>('Explanation').implement({
  description: 'How a value was computed: the formula, every fact and metric it used.',
  fields: (t) => ({
    formula: t.exposeString('formula'),
    facts: t.field({ type: [FactUseRef], resolve: (e) => e.facts }),
    metrics: t.field({ type: [MetricUseRef], resolve: (e) => e.metrics }),
    flags: t.field({ type: [RuntimeFlagRef], resolve: (e) => e.flags }),
  }),
});
