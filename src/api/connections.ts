// Relay connections: key-set pages by id, and connections that carry extra fields beside
// edges and pageInfo (suppression counts, staleness, the board's metadata).
// resolveArrayConnection answers null for an empty page.
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { InvalidRequestError } from '../app/errors.ts';

const EMPTY_PAGE = {
  hasNextPage: false,
  hasPreviousPage: false,
  startCursor: null,
  endCursor: null,
};

export function connectionWith<C extends object, E extends object>(
  connection: C | null | undefined,
  extra: E,
) {
  return Object.assign(connection ?? { edges: [], pageInfo: EMPTY_PAGE }, extra);
}

/** Forward key-set paging by id, newest first. */
export function pageById<T extends { id: string }>(
  args: {
    first?: number | null;
    after?: string | null;
    last?: number | null;
    before?: string | null;
  },
  load: (beforeId: string | null, limit: number) => Promise<T[]>,
) {
  if (args.last != null || args.before != null)
    throw new InvalidRequestError([
      { field: 'last', message: 'page forward with first/after (newest first)' },
    ]);
  return resolveCursorConnection<Promise<T[]>>(
    { args, toCursor: (row: T) => row.id, defaultSize: 50, maxSize: 500 },
    ({ after, limit }) => load(after ?? null, limit),
  );
}
