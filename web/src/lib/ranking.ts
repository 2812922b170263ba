// Why a person is not on a board: the board's own rules, checked in the order they apply.

export type BoardRules = {
  eligibleText: string | null;
  excludeText: string | null;
  requiresOptIn: boolean;
};

export type MyStanding = {
  optedIn: boolean;
  restrictedTeam: boolean;
};

export function whyNotRanked(rules: BoardRules, me: MyStanding): string {
  if (rules.requiresOptIn && !me.optedIn) {
    return 'You have not opted in to this board. Opt in on the Leaderboards view to be ranked.';
  }
  if (me.restrictedTeam && rules.excludeText) {
    return `Your team is restricted, so this board leaves you out (exclude when ${rules.excludeText}).`;
  }
  if (rules.eligibleText) {
    return `You do not meet the board's eligibility yet (eligible when ${rules.eligibleText}), or you are below its top entries.`;
  }
  return 'You are below the top entries this board shows.';
}
