// `leaderboard(name, cohort, window, first, after)`: a Relay connection of ranked entries,
// computed by the evaluator over the rollups (cached per policy, day and data watermark),
// with movement against the previous window. Subjects are masked below governance;
// nested `person` and `team` go through the directory's dataloaders (no N+1).
import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { type Board, type BoardEntry, boardsFor } from '../../app/boards.ts';
import {
  ForbiddenError,
  InvalidRequestError,
  NoActivePolicyError,
  NotFoundError,
} from '../../app/errors.ts';
import { builder } from '../builder.ts';
import { connectionWith } from '../connections.ts';
import { sessionOf } from '../context.ts';
import { PersonRef, TeamRef } from './directory.ts';
import { ExplanationRef } from './explanation.ts';

const MovementStatus = builder.enumType('MovementStatus', {
  values: ['up', 'down', 'same', 'new'] as const,
});

const MovementRef = builder.objectRef<BoardEntry['movement']>('Movement').implement({
  description:
    'Rank change against the previous window (the board evaluated at the last instant of the previous period).',
  fields: (t) => ({
    status: t.field({ type: MovementStatus, resolve: (m) => m.status }),
    previousRank: t.exposeInt('previousRank', { nullable: true }),
    change: t.exposeInt('change', {
      nullable: true,
      description: 'previous rank − rank: positive when the subject moved up; null when new',
    }),
  }),
});

export const EntryRef = builder.objectRef<BoardEntry>('LeaderboardEntry').implement({
  description: 'One ranked subject.',
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: '1-based rank within the cohort' }),
    subjectKind: t.exposeString('subject', { description: '"person" or "team"' }),
    subjectId: t.string({
      description:
        'The subject id; for people below governance a pseudonym scoped to this board and period (it matches no other view).',
      resolve: (e) => e.shown.id,
    }),
    masked: t.boolean({ resolve: (e) => e.shown.masked }),
    person: t.field({
      type: PersonRef,
      nullable: true,
      description:
        'The person, for person boards: null when masked (their directory entry would identify them).',
      resolve: (e) => (e.subject === 'person' && !e.shown.masked ? e.id : null),
    }),
    team: t.field({
      type: TeamRef,
      nullable: true,
      description: 'The team, for team boards.',
      resolve: (e) => (e.subject === 'team' ? e.id : null),
    }),
    cohort: t.exposeString('cohort', { nullable: true }),
    score: t.exposeFloat('score'),
    explanation: t.field({ type: ExplanationRef, resolve: (e) => e.explanation }),
    movement: t.field({ type: MovementRef, resolve: (e) => e.movement }),
  }),
});

type BoardShape = Board;

const LeaderboardRef = builder.objectRef<BoardShape>('Leaderboard');

const LeaderboardConnection = builder.connectionObject({
  type: EntryRef,
  name: 'LeaderboardConnection',
  fields: (t) => ({
    board: t.field({
      type: LeaderboardRef,
      resolve: (c) => (c as unknown as { board: BoardShape }).board,
    }),
  }),
});

LeaderboardRef.implement({
  description: 'What the board is and which window it shows.',
  fields: (t) => ({
    name: t.exposeString('name'),
    label: t.exposeString('label', { nullable: true }),
    subjectKind: t.exposeString('subject'),
    window: t.exposeString('window', { description: 'The board period: week, month, quarter …' }),
    periodStart: t.exposeString('periodStart'),
    periodEnd: t.exposeString('periodEnd'),
    asOf: t.exposeString('asOf', { description: 'The evaluation clock.' }),
    previousPeriodStart: t.exposeString('previousPeriodStart'),
    top: t.exposeInt('top', { nullable: true }),
    cohorts: t.exposeStringList('cohorts'),
    cohort: t.exposeString('cohort', { nullable: true }),
    stale: t.boolean({
      description:
        'True while newer data is being evaluated (large organisations): this is the previous evaluation.',
      resolve: (b) => b.stale,
    }),
    dataVersion: t.string({
      description: 'The change watermark of the data this board was evaluated on.',
      resolve: (b) => b.dataVersion,
    }),
    total: t.int({
      description: 'Entries shown (after the cohort filter, top and privacy rules).',
      resolve: (b) => b.total,
    }),
  }),
});

builder.queryField('leaderboard', (t) =>
  t.connection(
    {
      type: EntryRef,
      authScopes: { readDirectory: true },
      description:
        'A leaderboard of the active policy: ranked entries with explanations and movement. Names only for governance; restricted teams never appear below governance, and there a team board is ranked on closed team-days of at least minGroupSize active people (docs/privacy.md, R5).',
      args: {
        name: t.arg.string({ required: true }),
        cohort: t.arg.string({ required: false, description: 'Only this cohort.' }),
        window: t.arg.string({
          required: false,
          description:
            'Which window: 2026-Q3, 2026-10, 2026-W40, 2026, last-month, this-quarter …; default now.',
        }),
      },
      errors: {
        types: [NotFoundError, NoActivePolicyError, InvalidRequestError, ForbiddenError],
        directResult: true,
      },
      resolve: async (_root, args, ctx) => {
        const board = await boardsFor(ctx.store).board(sessionOf(ctx), args);
        // only the page asked for is masked and mapped: a board can hold every person
        const connection = await resolveOffsetConnection(
          { args, defaultSize: 50, maxSize: 500, totalCount: board.total },
          async ({ offset, limit }) => board.page(offset, limit),
        );
        return connectionWith(connection, { board });
      },
    },
    LeaderboardConnection,
  ),
);

type StandingShape = Awaited<ReturnType<ReturnType<typeof boardsFor>['standing']>>;

const StandingRef = builder.objectRef<StandingShape>('Standing').implement({
  description:
    "The caller's own place on a board (their team's, on a team board): the rank, or the reason they are not ranked.",
  fields: (t) => ({
    board: t.exposeString('board'),
    subjectKind: t.exposeString('subject', { description: '"person" or "team"' }),
    periodStart: t.exposeString('periodStart'),
    periodEnd: t.exposeString('periodEnd'),
    ranked: t.exposeBoolean('ranked', {
      description: 'True when the board shows the subject (eligible, visible, within top).',
    }),
    rank: t.exposeInt('rank', {
      nullable: true,
      description: 'Rank within the cohort as the board shows it, also below `top`.',
    }),
    top: t.exposeInt('top', { nullable: true }),
    cohort: t.exposeString('cohort', { nullable: true }),
    cohortSize: t.exposeInt('cohortSize', { nullable: true }),
    score: t.exposeFloat('score', { nullable: true }),
    eligible: t.exposeBoolean('eligible'),
    reason: t.exposeString('reason', {
      nullable: true,
      description:
        'Why the subject is not ranked: not eligible (the condition and its values), excluded, not shown below governance, a cohort too small to show, or below top. Null when ranked.',
    }),
    explanation: t.field({
      type: ExplanationRef,
      nullable: true,
      resolve: (s) => s.explanation,
    }),
    stale: t.exposeBoolean('stale'),
  }),
});

builder.queryField('myStanding', (t) =>
  t.field({
    type: StandingRef,
    authScopes: { self: true },
    description:
      "Where the caller stands on a board of the active policy: their rank, or why they are not ranked. Needs a key bound to a person; it shows only the caller's own figures.",
    args: { board: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError, NoActivePolicyError, ForbiddenError], directResult: true },
    resolve: (_root, args, ctx) => boardsFor(ctx.store).standing(sessionOf(ctx), args.board),
  }),
);
