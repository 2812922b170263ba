import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** A team in the directory. `id` is the team's slug as it appears in imports ("platform"). */
export const Team = defineEntity({
  name: 'Team',
  tableName: 'teams',
  properties: {
    id: p.string().primary(),
    name: p.string(),
    parent: () => p.manyToOne(Team).nullable().ref(),
    costCenter: p.string().nullable(),
    sensitivity: p.enum(['normal', 'restricted'] as const).default('normal'),
    owner: p.string().nullable(),
    fromDirectory: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type ITeam = InferEntity<typeof Team>;
