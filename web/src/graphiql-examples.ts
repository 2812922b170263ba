// The README's first-look queries, as GraphiQL's opening tabs.
export const EXAMPLE_TABS = [
  {
    query: `# Who am I? Sign in to the console, or put a key in the Headers tab.
query WhoAmI {
  viewer { role person capabilities }
}
`,
  },
  {
    query: `# Usage by team and month, budgets, and the value-per-token board
query FirstLook {
  usage(groupBy: [team], bucket: month, first: 5) {
    ... on UsageConnection { edges { node { bucket team inputTokens outputTokens cost } } suppressedGroups }
    ... on Problem { code message }
  }
  budgets(first: 5) {
    ... on BudgetConnection { edges { node { key limit spent percent band } } suppressed }
    ... on Problem { code message }
  }
  leaderboard(name: "value_per_token", first: 5) {
    ... on LeaderboardConnection { edges { node { rank subjectId score } } }
    ... on Problem { code message }
  }
}
`,
  },
  {
    query: `# A person's quota (governance key)
query PersonQuota {
  quota(person: "carl.muller@halcyon.test") {
    ... on Quota { tier used limit percent band }
    ... on Problem { code message }
  }
}
`,
  },
];
