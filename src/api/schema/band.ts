// The green/yellow/red band, shared by quotas, budgets, people and teams.
import { builder } from '../builder.ts';

export const BandEnum = builder.enumType('Band', {
  description:
    'Traffic-light state of a quota or budget: red from the first step that requires something (or 100%), yellow from the first notice below that, green below.',
  values: ['green', 'yellow', 'red'] as const,
});
