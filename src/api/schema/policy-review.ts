// Quarterly review over GraphQL: the semantic diff of two policies and the impact replay
// of a past window under both. Each side is a stored version or unpublished policy text.
// The work is done in src/policy/diff.ts and src/engine/impact.ts; this file only maps it.

import {
  ForbiddenError,
  InvalidWindowError,
  NotFoundError,
  PolicyInvalidError,
} from '../../app/errors.ts';
import { type DiffResult, policyReviewFor } from '../../app/policy-review.ts';
import type {
  BadgeDelta,
  BoardImpact,
  BudgetFlip,
  ConsequenceDelta,
  Identity,
  ImpactReport,
  RankMove,
  RuleDelta,
  StepDelta,
  TierMove,
} from '../../engine/impact.ts';
import { renderImpactHtml } from '../../engine/impact-html.ts';
import { renderImpactMarkdown } from '../../engine/impact-render.ts';
import {
  type Change,
  type FieldChange,
  type PolicySide,
  renderDiffMarkdown,
  renderDiffText,
  type SubExprChange,
  semanticChangeCount,
} from '../../policy/diff.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { JSONResolver } from './scalars.ts';

// ---------- sides ----------

const PolicySideInput = builder.inputType('PolicySideInput', {
  description:
    'One side of a comparison: a stored `version` (v3, 3, a version label or a hash prefix) or policy `source` text. Give exactly one.',
  fields: (t) => ({
    version: t.string({ required: false }),
    source: t.string({ required: false }),
  }),
});

// ---------- diff ----------

const SubExpressionRef = builder.objectRef<SubExprChange>('PolicySubExpressionChange').implement({
  description: 'A smallest differing sub-expression of a formula, in canonical syntax.',
  fields: (t) => ({ before: t.exposeString('before'), after: t.exposeString('after') }),
});

const FieldChangeRef = builder.objectRef<FieldChange>('PolicyFieldChange').implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    before: t.exposeString('before', { nullable: true }),
    after: t.exposeString('after', { nullable: true }),
    subexpressions: t.field({
      type: [SubExpressionRef],
      resolve: (f) => f.subexpressions ?? [],
    }),
  }),
});

const ChangeRef = builder.objectRef<Change>('PolicyChange').implement({
  description: 'One change in meaning, with its before and after in canonical policy syntax.',
  fields: (t) => ({
    construct: t.exposeString('construct', {
      description:
        'header, currency, timezone, privacy, exceptions, classes, prices, metrics, leaderboards, tiers, assignments, budgets, escalations or rules',
    }),
    kind: t.exposeString('kind', { description: 'added, removed, changed or moved' }),
    subject: t.exposeString('subject'),
    before: t.exposeString('before', { nullable: true }),
    after: t.exposeString('after', { nullable: true }),
    semantic: t.exposeBoolean('semantic', {
      description: 'False for the header label, which is not part of the meaning hash.',
    }),
    fields: t.field({ type: [FieldChangeRef], resolve: (c) => c.fields }),
    affects: t.stringList({ resolve: (c) => c.affects ?? [] }),
  }),
});

const PolicySideRef = builder
  .objectRef<PolicySide & { label: string }>('PolicyDiffSide')
  .implement({
    fields: (t) => ({
      label: t.exposeString('label'),
      name: t.exposeString('name', { nullable: true }),
      version: t.exposeString('version', { nullable: true }),
      hash: t.exposeString('hash'),
    }),
  });

type DiffShape = DiffResult;

const PolicyDiffRef = builder.objectRef<DiffShape>('PolicyDiff').implement({
  description: 'What changed in meaning between two policies, grouped by construct.',
  fields: (t) => ({
    from: t.field({ type: PolicySideRef, resolve: (d) => ({ ...d.from, label: d.fromLabel }) }),
    to: t.field({ type: PolicySideRef, resolve: (d) => ({ ...d.to, label: d.toLabel }) }),
    equivalent: t.exposeBoolean('equivalent', { description: 'Equal meaning hashes.' }),
    semanticChanges: t.int({ resolve: (d) => semanticChangeCount(d) }),
    counts: t.field({
      type: JSONResolver,
      description: 'Semantic changes per construct.',
      resolve: (d) => d.counts,
    }),
    changes: t.field({ type: [ChangeRef], resolve: (d) => d.changes }),
    assignmentOrder: t.field({
      type: JSONResolver,
      nullable: true,
      description: 'When assignments changed, the ordered list on each side.',
      resolve: (d) => d.assignmentOrder ?? null,
    }),
    text: t.string({ resolve: (d) => renderDiffText(d) }),
    markdown: t.string({
      description: 'The review document.',
      resolve: (d) => renderDiffMarkdown(d),
    }),
  }),
});

// ---------- impact ----------

const IdentityRef = builder.objectRef<Identity>('ImpactIdentity').implement({
  description: 'A subject as this caller may see it: a pseudonym unless the role sees names.',
  fields: (t) => ({ id: t.exposeString('id'), masked: t.exposeBoolean('masked') }),
});

const TierTransitionRef = builder
  .objectRef<{ from: string | null; to: string | null; count: number }>('ImpactTierTransition')
  .implement({
    fields: (t) => ({
      from: t.exposeString('from', { nullable: true }),
      to: t.exposeString('to', { nullable: true }),
      count: t.exposeInt('count'),
    }),
  });

const TierMoveRef = builder.objectRef<TierMove>('ImpactTierMove').implement({
  fields: (t) => ({
    person: t.field({ type: IdentityRef, resolve: (m) => m.person }),
    from: t.exposeString('from', { nullable: true }),
    to: t.exposeString('to', { nullable: true }),
  }),
});

const StepDeltaRef = builder.objectRef<StepDelta>('ImpactStepDelta').implement({
  description: 'How many subjects an escalation step fires at, under each version.',
  fields: (t) => ({
    ladder: t.exposeString('ladder'),
    trigger: t.exposeString('trigger'),
    threshold: t.exposeFloat('threshold'),
    before: t.exposeInt('before'),
    after: t.exposeInt('after'),
    delta: t.exposeInt('delta'),
  }),
});

const RuleDeltaRef = builder.objectRef<RuleDelta>('ImpactRuleDelta').implement({
  fields: (t) => ({
    rule: t.exposeString('rule'),
    severity: t.exposeString('severity', { nullable: true }),
    before: t.exposeInt('before'),
    after: t.exposeInt('after'),
    delta: t.exposeInt('delta'),
  }),
});

const BadgeDeltaRef = builder.objectRef<BadgeDelta>('ImpactBadgeDelta').implement({
  description: 'Subjects who earn a badge under each version, and who gain or lose it.',
  fields: (t) => ({
    badge: t.exposeString('badge'),
    label: t.exposeString('label', { nullable: true }),
    before: t.exposeInt('before'),
    after: t.exposeInt('after'),
    newly: t.exposeInt('newly', { description: 'Earned under the new version only.' }),
    noLonger: t.exposeInt('noLonger', { description: 'Earned under the old version only.' }),
  }),
});

const ConsequenceRef = builder.objectRef<ConsequenceDelta>('ImpactConsequence').implement({
  description:
    'People on whom an action falls (through an escalation step or a rule) under each version.',
  fields: (t) => ({
    action: t.exposeString('action', {
      description: 'block, require_approval, require_justification or notify',
    }),
    before: t.exposeInt('before'),
    after: t.exposeInt('after'),
    newly: t.exposeInt('newly', {
      description: 'People on whom it falls under the new version only.',
    }),
    noLonger: t.exposeInt('noLonger', {
      description: 'People on whom it falls under the old version only.',
    }),
  }),
});

const BandRef = builder.objectRef<{ band: string; percent: number }>('ImpactBand').implement({
  fields: (t) => ({ band: t.exposeString('band'), percent: t.exposeFloat('percent') }),
});

const BudgetFlipRef = builder.objectRef<BudgetFlip>('ImpactBudgetFlip').implement({
  fields: (t) => ({
    kind: t.string({ resolve: (f) => f.subject.kind }),
    subject: t.field({ type: IdentityRef, resolve: (f) => f.subject }),
    budget: t.exposeString('budget'),
    before: t.field({ type: BandRef, nullable: true, resolve: (f) => f.before }),
    after: t.field({ type: BandRef, nullable: true, resolve: (f) => f.after }),
  }),
});

const BoardEntryRef = builder
  .objectRef<{ subject: Identity; rank: number; cohort: string | null; score: number }>(
    'ImpactBoardEntry',
  )
  .implement({
    fields: (t) => ({
      subject: t.field({ type: IdentityRef, resolve: (e) => e.subject }),
      rank: t.exposeInt('rank'),
      cohort: t.exposeString('cohort', { nullable: true }),
      score: t.exposeFloat('score'),
    }),
  });

const RankMoveRef = builder.objectRef<RankMove>('ImpactRankMove').implement({
  fields: (t) => ({
    subject: t.field({ type: IdentityRef, resolve: (m) => m.subject }),
    rankBefore: t.int({ resolve: (m) => m.before.rank }),
    rankAfter: t.int({ resolve: (m) => m.after.rank }),
    cohortBefore: t.string({ nullable: true, resolve: (m) => m.before.cohort }),
    cohortAfter: t.string({ nullable: true, resolve: (m) => m.after.cohort }),
    move: t.exposeInt('move', { description: 'Positive: moved up.' }),
  }),
});

const BoardImpactRef = builder.objectRef<BoardImpact>('ImpactLeaderboard').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    presentIn: t.exposeString('presentIn', { description: 'both, old or new' }),
    topBefore: t.int({ nullable: true, resolve: (b) => b.top.before }),
    topAfter: t.int({ nullable: true, resolve: (b) => b.top.after }),
    rankedBefore: t.int({ resolve: (b) => b.ranked.before }),
    rankedAfter: t.int({ resolve: (b) => b.ranked.after }),
    rankedBoth: t.int({ resolve: (b) => b.ranked.both }),
    enteringCount: t.int({ resolve: (b) => b.counts.entering }),
    leavingCount: t.int({ resolve: (b) => b.counts.leaving }),
    movedCount: t.int({ resolve: (b) => b.counts.moved }),
    entering: t.field({ type: [BoardEntryRef], resolve: (b) => b.entering }),
    leaving: t.field({ type: [BoardEntryRef], resolve: (b) => b.leaving }),
    largestMoves: t.field({ type: [RankMoveRef], resolve: (b) => b.largestMoves }),
    kendallTau: t.exposeFloat('kendallTau', {
      nullable: true,
      description: "Kendall's tau-b of the two scores over subjects ranked under both.",
    }),
  }),
});

type ImpactShape = ImpactReport;

const ImpactRef = builder.objectRef<ImpactShape>('PolicyImpact').implement({
  description: 'What the new version would have done to a past window of real usage.',
  fields: (t) => ({
    from: t.field({ type: PolicySideRef, resolve: (r) => r.from }),
    to: t.field({ type: PolicySideRef, resolve: (r) => r.to }),
    window: t.string({ resolve: (r) => r.window.label }),
    windowFrom: t.string({ description: 'First local day.', resolve: (r) => r.window.from }),
    windowTo: t.string({ description: 'Day after the last.', resolve: (r) => r.window.to }),
    timezone: t.string({ resolve: (r) => r.window.timezone }),
    evaluatedAt: t.string({ resolve: (r) => r.window.evaluatedAt }),
    dataTo: t.string({
      description:
        'Day after the last local day whose usage is in the replay; below governance at most today (closed days only).',
      resolve: (r) => r.window.dataTo,
    }),
    hasData: t.exposeBoolean('hasData'),
    message: t.exposeString('message', { nullable: true }),
    identities: t.exposeString('identities', { description: 'named or masked' }),
    people: t.int({ resolve: (r) => r.population.people }),
    teams: t.int({ resolve: (r) => r.population.teams }),
    tierChanges: t.int({ resolve: (r) => r.tiers.changed }),
    tierTransitions: t.field({ type: [TierTransitionRef], resolve: (r) => r.tiers.transitions }),
    tierMoves: t.field({ type: [TierMoveRef], resolve: (r) => r.tiers.people }),
    escalations: t.field({ type: [StepDeltaRef], resolve: (r) => r.escalations }),
    consequences: t.field({ type: [ConsequenceRef], resolve: (r) => r.consequences }),
    groups: t.field({
      type: JSONResolver,
      description:
        '{ byTeam, byRole }: per group its people, tier changes, and the people each action newly (or no longer) falls on; below governance small groups are left out and small counts are null.',
      resolve: (r) => r.groups,
    }),
    quotaDistribution: t.field({
      type: JSONResolver,
      description:
        '{ bins: [{ from, to, before, after }], thresholds }: people by percent of quota used, with the quota steps.',
      resolve: (r) => r.quotaDistribution,
    }),
    rules: t.field({ type: [RuleDeltaRef], resolve: (r) => r.rules }),
    badges: t.field({
      type: [BadgeDeltaRef],
      description:
        'Badges awarded before and after; below governance, counts under k are left out.',
      resolve: (r) => r.badges,
    }),
    budgetFlipCount: t.int({ resolve: (r) => r.budgets.count }),
    budgetFlips: t.field({ type: [BudgetFlipRef], resolve: (r) => r.budgets.flips }),
    leaderboards: t.field({ type: [BoardImpactRef], resolve: (r) => r.leaderboards }),
    cost: t.field({
      type: JSONResolver,
      nullable: true,
      description:
        'Exact cost before/after per model and team, when prices changed; null below governance (per-model figures).',
      resolve: (r) => r.cost,
    }),
    requestLimits: t.field({
      type: JSONResolver,
      nullable: true,
      description:
        "{ requests, before: { warned, blocked }, after, classes: [{ modelClass, requests, before, after }] }: the window's requests each version's request limits would have warned about and blocked; null when neither version has request limits.",
      resolve: (r) => r.requestLimits,
    }),
    notes: t.stringList({ resolve: (r) => r.notes }),
    markdown: t.string({
      description: 'The review document, with Mermaid charts.',
      resolve: (r) => renderImpactMarkdown(r),
    }),
    html: t.string({
      description: 'The review document as one HTML page with SVG charts.',
      resolve: (r) => renderImpactHtml(r),
    }),
  }),
});

builder.queryFields((t) => ({
  policyDiff: t.field({
    type: PolicyDiffRef,
    authScopes: { readPolicies: true },
    description: 'The semantic diff of two policies (stored versions or source text).',
    args: {
      from: t.arg({ type: PolicySideInput, required: true }),
      to: t.arg({ type: PolicySideInput, required: true }),
    },
    errors: { types: [NotFoundError, PolicyInvalidError] },
    resolve: (_root, args, ctx) =>
      policyReviewFor(ctx.store).diff(sessionOf(ctx), args.from, args.to),
  }),
  policyImpact: t.field({
    type: ImpactRef,
    authScopes: { readPolicies: true },
    description:
      'Replay the stored usage of a window (2026-Q3, 2026-10, 2026-W40, last-quarter) under both policies. Policy `source` sides and lists of people need governance; below governance published versions replay over visible teams as aggregates only (see docs/privacy.md).',
    args: {
      from: t.arg({ type: PolicySideInput, required: true }),
      to: t.arg({ type: PolicySideInput, required: true }),
      window: t.arg.string({ required: true }),
    },
    errors: { types: [NotFoundError, PolicyInvalidError, InvalidWindowError, ForbiddenError] },
    resolve: (_root, args, ctx) =>
      policyReviewFor(ctx.store).impact(sessionOf(ctx), args.from, args.to, args.window),
  }),
}));
