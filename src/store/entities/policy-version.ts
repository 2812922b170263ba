import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** An immutable published policy. At most one row has status 'active'. */
export const PolicyVersion = defineEntity({
  name: 'PolicyVersion',
  tableName: 'policy_versions',
  properties: {
    id: p.integer().primary().autoincrement(),
    version: p.string(),
    name: p.string().nullable(),
    source: p.text(),
    canonical: p.text(),
    hash: p.string(),
    ir: p.json<unknown>(),
    status: p.enum(['draft', 'active', 'retired'] as const).default('draft'),
    author: p.string().nullable(),
    message: p.text().nullable(),
    parent: () => p.manyToOne(PolicyVersion).nullable().ref(),
    createdAt: p.datetime().onCreate(() => new Date()),
    activatedAt: p.datetime().nullable(),
    /** who activated it last: key name and id, or the command line */
    activatedBy: p.string().nullable(),
  },
});
export type IPolicyVersion = InferEntity<typeof PolicyVersion>;
