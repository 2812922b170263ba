import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Team } from './team.ts';

/** A person. `id` is the identity used in usage data (usually an e-mail address). */
export const Person = defineEntity({
  name: 'Person',
  tableName: 'people',
  properties: {
    id: p.string().primary(),
    name: p.string().nullable(),
    team: () => p.manyToOne(Team).nullable().ref(),
    role: p.string().nullable(),
    // no FK in the database: a manager may be outside the imported directory
    manager: () => p.manyToOne(Person).nullable().ref(),
    optedIn: p.boolean().default(false),
    attributes: p.json<Record<string, unknown>>().default('{}'),
    fromDirectory: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type IPerson = InferEntity<typeof Person>;
