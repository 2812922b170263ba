// `seasonStandings(board, season)`: the archived final standings of a season board, masked
// below governance as boards are (src/app/seasons.ts).
import { NotFoundError } from '../../app/errors.ts';
import { type SeasonStandings, seasonStandings } from '../../app/seasons.ts';
import { builder } from '../builder.ts';
import { sessionOf } from '../context.ts';
import { EntryRef } from './leaderboard.ts';

const SeasonStandingsRef = builder.objectRef<SeasonStandings>('SeasonStandings').implement({
  description:
    "A season board's final standings, archived a day after its season ended under the policy then active.",
  fields: (t) => ({
    board: t.exposeString('board'),
    season: t.exposeString('season', { description: 'The season as the policy names it.' }),
    label: t.exposeString('label', { nullable: true }),
    subjectKind: t.exposeString('subjectKind', { description: '"person" or "team"' }),
    periodStart: t.exposeString('periodStart'),
    periodEnd: t.exposeString('periodEnd'),
    policyHash: t.exposeString('policyHash', {
      description: 'The policy version the standings were evaluated under.',
    }),
    archivedAt: t.exposeString('archivedAt'),
    entries: t.field({
      type: [EntryRef],
      description:
        'The ranked entries; below governance people are pseudonyms scoped to this board and season, and hidden teams and small cohorts are left out.',
      resolve: (s) => s.entries,
    }),
  }),
});

builder.queryField('seasonStandings', (t) =>
  t.field({
    type: SeasonStandingsRef,
    authScopes: { readDirectory: true },
    description:
      'The archived final standings of a season board (`window season`) for an ended season.',
    args: {
      board: t.arg.string({ required: true }),
      season: t.arg.string({ required: true }),
    },
    errors: { types: [NotFoundError], directResult: true },
    resolve: (_root, args, ctx) =>
      seasonStandings(ctx.store, sessionOf(ctx), args.board, args.season),
  }),
);
