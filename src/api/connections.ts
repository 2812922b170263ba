// Relay connections that carry extra fields beside edges and pageInfo (suppression counts,
// staleness, the board's metadata). resolveArrayConnection answers null for an empty page.

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
