// k-anonymity for group aggregates: a group with fewer than the policy's min_group_size
// distinct people would let a reader infer individual usage, so it is suppressed for
// callers who do not see names. Callers who see names (governance) get every group; a
// person always sees their own data.

export type Suppression<T> = {
  rows: T[];
  /** how many groups were left out */
  suppressed: number;
  /** the threshold applied (null when nothing was suppressed by rule) */
  minGroupSize: number | null;
};

/**
 * Keeps groups with at least `minGroupSize` people. `seesAll` (names visible, or the data
 * is the caller's own) keeps everything.
 */
export function suppressSmallGroups<T extends { people: number }>(
  rows: readonly T[],
  minGroupSize: number,
  seesAll: boolean,
): Suppression<T> {
  if (seesAll || minGroupSize <= 1) return { rows: [...rows], suppressed: 0, minGroupSize: null };
  const kept = rows.filter((r) => r.people >= minGroupSize);
  return { rows: kept, suppressed: rows.length - kept.length, minGroupSize };
}

/** True when a group of `people` may be shown to a caller (see suppressSmallGroups). */
export function groupVisible(people: number, minGroupSize: number, seesAll: boolean): boolean {
  return seesAll || people >= minGroupSize;
}
