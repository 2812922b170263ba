// Badges on people: the ones a person earns now under the active policy, with the
// condition's explanation, for that person and governance only (src/app/boards.ts).
import { boardsFor } from '../../app/boards.ts';
import type { BadgeAward } from '../../policy/evaluate/types.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { PersonRef } from './directory.ts';
import { ExplanationRef } from './explanation.ts';

const BadgeRef = builder.objectRef<BadgeAward>('Badge').implement({
  description: "A badge the policy awards: who earns it is a condition over the badge's window.",
  fields: (t) => ({
    name: t.exposeString('badge', { description: 'The badge as the policy names it.' }),
    label: t.exposeString('label', { nullable: true }),
    window: t.exposeString('window', { description: 'The calendar window it is earned in.' }),
    explanation: t.field({
      type: ExplanationRef,
      description: 'The condition, and the facts and metrics it read.',
      resolve: (b) => b.explanation,
    }),
  }),
});

builder.objectFields(PersonRef, (t) => ({
  badges: t.field({
    type: [BadgeRef],
    nullable: true,
    description:
      'The badges this person earns now under the active policy (each in its window), with why. Null unless the caller is this person or governance, as their other figures.',
    resolve: (p, _a, ctx) => boardsFor(ctx.store).badges(sessionOf(ctx), p.id),
  }),
}));
