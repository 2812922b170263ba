// `leaderboard(name, cohort, window, first, after)`: a Relay connection of ranked entries,
// computed by the evaluator over the rollups (cached per policy, day and data watermark),
// with movement against the previous window. Subjects are masked below governance;
// nested `person` and `team` go through the directory's dataloaders (no N+1).
import { resolveArrayConnection } from '@pothos/plugin-relay';
import { InvalidRequestError, NoActivePolicyError, NotFoundError } from '../../app/errors.ts';
import { seesNames } from '../../app/roles.ts';
import { parseWindow, replayClock, WindowError } from '../../engine/impact-window.ts';
import {
  type BoardView,
  type BoardViewEntry,
  boardView,
  previousClock,
  UnknownBoardError,
} from '../../engine/leaderboard.ts';
import { builder } from '../builder.ts';
import { connectionWith } from '../connections.ts';
import { type Context, identityFor } from '../context.ts';
import { readService } from '../loaders.ts';
import { PersonRef, TeamRef } from './directory.ts';
import { ExplanationRef } from './explanation.ts';

const MovementStatus = builder.enumType('MovementStatus', {
  values: ['up', 'down', 'same', 'new'] as const,
});

const MovementRef = builder.objectRef<BoardViewEntry['movement']>('Movement').implement({
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

const EntryRef = builder.objectRef<BoardViewEntry>('LeaderboardEntry').implement({
  description: 'One ranked subject.',
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: '1-based rank within the cohort' }),
    subjectKind: t.exposeString('subject', { description: '"person" or "team"' }),
    subjectId: t.string({
      description: 'The subject id; for people below governance a stable pseudonym.',
      resolve: (e, _args, ctx) => (e.subject === 'person' ? identityFor(ctx, e.id).id : e.id),
    }),
    masked: t.boolean({
      resolve: (e, _args, ctx) => e.subject === 'person' && identityFor(ctx, e.id).masked,
    }),
    person: t.field({
      type: PersonRef,
      nullable: true,
      description: 'The person, for person boards (masked below governance).',
      resolve: (e) => (e.subject === 'person' ? e.id : null),
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

type BoardShape = BoardView & { stale: boolean; dataVersion: string };

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
      resolve: (b) => b.entries.length,
    }),
  }),
});

/** The board at `window` (default: now) and the previous window, through the cache. */
export async function loadBoard(
  ctx: Context,
  args: { name: string; cohort?: string | null; window?: string | null },
): Promise<BoardShape> {
  const service = readService(ctx);
  const active = await service.active();
  if (!active) throw new NoActivePolicyError();
  const { ruleSet, watermark } = active;
  if (!ruleSet.ir.leaderboards[args.name]) {
    throw new NotFoundError('leaderboard', args.name);
  }
  const now = service.now();
  let clock = now;
  if (args.window) {
    try {
      clock = replayClock(parseWindow(args.window, ruleSet.ir.timezone, now), now);
    } catch (error) {
      if (error instanceof WindowError) {
        throw new InvalidRequestError([{ field: 'window', message: error.message }]);
      }
      throw error;
    }
  }
  const [current, previous] = await Promise.all([
    service.cache.current(ruleSet, clock, watermark, 'boards'),
    service.cache.current(ruleSet, previousClock(ruleSet, args.name, clock), watermark, 'boards'),
  ]);
  try {
    const view = boardView(ruleSet, args.name, current.evaluation, previous.evaluation, {
      cohort: args.cohort,
      named: seesNames(ctx.caller.role),
    });
    return {
      ...view,
      stale: current.stale || previous.stale,
      dataVersion: current.watermark,
    };
  } catch (error) {
    if (error instanceof UnknownBoardError) throw new NotFoundError('leaderboard', args.name);
    throw error;
  }
}

builder.queryField('leaderboard', (t) =>
  t.connection(
    {
      type: EntryRef,
      authScopes: { readDirectory: true },
      description:
        'A leaderboard of the active policy: ranked entries with explanations and movement. Names only for governance; restricted teams never appear below governance.',
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
        types: [NotFoundError, NoActivePolicyError, InvalidRequestError],
        directResult: true,
      },
      resolve: async (_root, args, ctx) => {
        const board = await loadBoard(ctx, args);
        const connection = resolveArrayConnection(
          { args, defaultSize: 50, maxSize: 500 },
          board.entries,
        );
        return connectionWith(connection, { board });
      },
    },
    LeaderboardConnection,
  ),
);
