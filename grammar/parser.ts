// The policy language's grammar (Chevrotain CstParser). One instance is built at load
// and reused for every parse (Chevrotain's main performance advice); error recovery is on
// so one run reports every syntax error. src/policy/parse.ts turns the CST into the AST.
import {
  type CstNode,
  CstParser,
  type IParserErrorMessageProvider,
  type IToken,
  type TokenType,
} from 'chevrotain';
import * as T from './tokens.ts';

/**
 * Parser messages are structured (JSON) so that src/policy/parse.ts can word them with the
 * full token stream at hand; the provider only records what was expected.
 */
const structuredMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, ruleName }) =>
    JSON.stringify({ expected: [expected.name], ruleName }),
  buildNotAllInputParsedMessage: ({ ruleName }) => JSON.stringify({ expected: [], ruleName }),
  buildNoViableAltMessage: ({ expectedPathsPerAlt, ruleName }) =>
    JSON.stringify({ expected: firstTokens(expectedPathsPerAlt.flat()), ruleName }),
  buildEarlyExitMessage: ({ expectedIterationPaths, ruleName }) =>
    JSON.stringify({ expected: firstTokens(expectedIterationPaths), ruleName }),
};

function firstTokens(paths: TokenType[][]): string[] {
  const names = new Set<string>();
  for (const path of paths) if (path.length > 0) names.add(path[0].name);
  return [...names];
}

export class PolicyParser extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      errorMessageProvider: structuredMessages,
    });
    this.performSelfAnalysis();
  }

  /**
   * Receives each declaration's CST as soon as it is parsed. When set, the declaration is
   * dropped from the file's CST afterwards, so its nodes die young instead of surviving the
   * whole parse (src/policy/parse.ts builds the AST here; this keeps garbage collection cheap).
   */
  declarationSink: ((declaration: CstNode, first: IToken, last: IToken) => void) | null = null;

  policyFile = this.RULE('policyFile', () => {
    this.MANY(() => {
      const first = this.ACTION(() => this.LA(1));
      const declaration = this.SUBRULE(this.declaration);
      this.ACTION(() => {
        if (this.declarationSink === null) return;
        // the first and last tokens the declaration consumed give its range for free
        this.declarationSink(declaration, first, this.LA(0));
        this.currCSTNode.children.declaration?.pop();
      });
    });
  });

  declaration = this.RULE('declaration', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.policyHeader) },
      { ALT: () => this.SUBRULE(this.currencyDecl) },
      { ALT: () => this.SUBRULE(this.timezoneDecl) },
      { ALT: () => this.SUBRULE(this.privacyDecl) },
      { ALT: () => this.SUBRULE(this.exceptionsDecl) },
      { ALT: () => this.SUBRULE(this.classDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.measureDecl) },
      { ALT: () => this.SUBRULE(this.metricDecl) },
      { ALT: () => this.SUBRULE(this.leaderboardDecl) },
      { ALT: () => this.SUBRULE(this.badgeDecl) },
      { ALT: () => this.SUBRULE(this.seasonDecl) },
      { ALT: () => this.SUBRULE(this.tierDecl) },
      { ALT: () => this.SUBRULE(this.assignDecl) },
      { ALT: () => this.SUBRULE(this.budgetDecl) },
      { ALT: () => this.SUBRULE(this.escalationDecl) },
      { ALT: () => this.SUBRULE(this.ruleDecl) },
      { ALT: () => this.SUBRULE(this.requestLimitDecl) },
      { ALT: () => this.SUBRULE(this.testDecl) },
    ]);
  });

  // ---------- header ----------

  policyHeader = this.RULE('policyHeader', () => {
    this.CONSUME(T.Policy);
    this.CONSUME(T.StringLiteral, { LABEL: 'name' });
    this.CONSUME(T.Version);
    this.CONSUME2(T.StringLiteral, { LABEL: 'version' });
  });

  currencyDecl = this.RULE('currencyDecl', () => {
    this.CONSUME(T.Currency);
    this.CONSUME(T.CurrencyCode);
  });

  timezoneDecl = this.RULE('timezoneDecl', () => {
    this.CONSUME(T.Timezone);
    this.CONSUME(T.StringLiteral);
  });

  privacyDecl = this.RULE('privacyDecl', () => {
    this.CONSUME(T.Privacy);
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.MinGroupSize);
            this.CONSUME(T.NumberLit);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Identities);
            this.OR2([{ ALT: () => this.CONSUME(T.Masked) }, { ALT: () => this.CONSUME(T.Named) }]);
          },
        },
      ]);
    });
    this.CONSUME(T.RCurly);
  });

  exceptionsDecl = this.RULE('exceptionsDecl', () => {
    this.CONSUME(T.Exceptions);
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.CONSUME(T.MaxDuration);
      this.CONSUME(T.DurationLit);
    });
    this.CONSUME(T.RCurly);
  });

  // ---------- classes and models ----------

  classDecl = this.RULE('classDecl', () => {
    this.CONSUME(T.Class);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
  });

  modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.StringLiteral);
    this.CONSUME(T.Class);
    this.CONSUME(T.Identifier);
    // the provider names this model covers: `matches "claude-sonnet-4-5-*", "*/claude-sonnet-4-5"`
    this.OPTION(() => {
      this.CONSUME(T.Matches);
      this.AT_LEAST_ONE_SEP({
        SEP: T.Comma,
        DEF: () => this.CONSUME2(T.StringLiteral, { LABEL: 'pattern' }),
      });
    });
    this.OPTION2(() => {
      this.CONSUME(T.Price);
      this.CONSUME(T.LCurly);
      this.MANY(() => this.SUBRULE(this.priceItem));
      this.CONSUME(T.RCurly);
    });
  });

  priceItem = this.RULE('priceItem', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.priceEntry) },
      {
        // a per-call price: `web_search 10.00 per 1k`
        ALT: () => {
          this.CONSUME(T.WebSearch);
          this.CONSUME(T.NumberLit, { LABEL: 'amount' });
          this.CONSUME(T.Per);
          this.CONSUME2(T.NumberLit, { LABEL: 'calls' });
        },
      },
      {
        // a service-tier multiplier: `batch 50%`, `priority 175%`
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.Batch) }, { ALT: () => this.CONSUME(T.Priority) }]);
          this.CONSUME(T.PercentLit);
        },
      },
      {
        // a long-context tier: `above 200k input { input 6.00 output 22.50 }`
        ALT: () => {
          this.CONSUME(T.Above);
          this.CONSUME3(T.NumberLit, { LABEL: 'threshold' });
          this.CONSUME(T.Input);
          this.CONSUME(T.LCurly);
          this.MANY(() => this.SUBRULE2(this.priceEntry));
          this.CONSUME(T.RCurly);
        },
      },
    ]);
  });

  priceEntry = this.RULE('priceEntry', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Input) },
      { ALT: () => this.CONSUME(T.Output) },
      { ALT: () => this.CONSUME(T.CacheRead) },
      { ALT: () => this.CONSUME(T.CacheWrite) },
      { ALT: () => this.CONSUME(T.CacheWrite1h) },
      { ALT: () => this.CONSUME(T.AudioInput) },
      { ALT: () => this.CONSUME(T.AudioOutput) },
    ]);
    this.CONSUME(T.NumberLit);
  });

  // ---------- measures, metrics and leaderboards ----------

  /** `measure review_score "Review score" { unit score  aggregate mean }` */
  measureDecl = this.RULE('measureDecl', () => {
    this.CONSUME(T.Measure);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Unit);
            this.CONSUME2(T.Identifier, { LABEL: 'unit' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Aggregate);
            this.OR2([
              { ALT: () => this.CONSUME(T.Sum) },
              { ALT: () => this.CONSUME(T.Mean) },
              {
                ALT: () => {
                  this.CONSUME(T.Percentile);
                  this.CONSUME(T.NumberLit);
                },
              },
            ]);
          },
        },
      ]);
    });
    this.CONSUME(T.RCurly);
  });

  metricDecl = this.RULE('metricDecl', () => {
    this.CONSUME(T.Metric);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  leaderboardDecl = this.RULE('leaderboardDecl', () => {
    this.CONSUME(T.Leaderboard);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.leaderboardClause));
    this.CONSUME(T.RCurly);
  });

  leaderboardClause = this.RULE('leaderboardClause', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Subject);
          this.SUBRULE(this.subjectKind);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Window);
          this.SUBRULE(this.boardWindow);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Cohort);
          this.SUBRULE(this.expression, { LABEL: 'cohort' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Eligible);
          this.CONSUME(T.When);
          this.SUBRULE2(this.expression, { LABEL: 'eligible' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Exclude);
          this.CONSUME2(T.When);
          this.SUBRULE3(this.expression, { LABEL: 'exclude' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Score);
          this.CONSUME(T.Equals);
          this.SUBRULE4(this.expression, { LABEL: 'score' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Top);
          this.CONSUME(T.NumberLit);
        },
      },
    ]);
  });

  /** `badge token_legend "Token Legend" { subject person  window quarter  when … }` */
  badgeDecl = this.RULE('badgeDecl', () => {
    this.CONSUME(T.Badge);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.badgeClause));
    this.CONSUME(T.RCurly);
  });

  badgeClause = this.RULE('badgeClause', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Subject);
          this.SUBRULE(this.subjectKind);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Window);
          this.SUBRULE(this.boardWindow);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.When);
          this.SUBRULE(this.expression, { LABEL: 'when' });
        },
      },
    ]);
  });

  /** `season q4_2026 "Q4 2026" { from "2026-10-01"  until "2027-01-01" }` */
  seasonDecl = this.RULE('seasonDecl', () => {
    this.CONSUME(T.Season);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral, { LABEL: 'label' }));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.seasonClause));
    this.CONSUME(T.RCurly);
  });

  seasonClause = this.RULE('seasonClause', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.From);
          this.CONSUME(T.StringLiteral, { LABEL: 'from' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Until);
          this.CONSUME2(T.StringLiteral, { LABEL: 'until' });
        },
      },
    ]);
  });

  /** a leaderboard's or badge's window: a calendar period, or the policy's current season */
  boardWindow = this.RULE('boardWindow', () => {
    this.OR([{ ALT: () => this.SUBRULE(this.period) }, { ALT: () => this.CONSUME(T.Season) }]);
  });

  subjectKind = this.RULE('subjectKind', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Person) }, { ALT: () => this.CONSUME(T.Team) }]);
  });

  period = this.RULE('period', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Day) },
      { ALT: () => this.CONSUME(T.Week) },
      { ALT: () => this.CONSUME(T.Month) },
      { ALT: () => this.CONSUME(T.Quarter) },
      { ALT: () => this.CONSUME(T.Year) },
    ]);
  });

  // ---------- tiers, budgets, escalations, rules ----------

  tierDecl = this.RULE('tierDecl', () => {
    this.CONSUME(T.Tier);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.tierClause));
    this.CONSUME(T.RCurly);
  });

  tierClause = this.RULE('tierClause', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Limit);
          this.CONSUME(T.NumberLit);
          this.CONSUME(T.Tokens);
          this.CONSUME(T.Per);
          this.SUBRULE(this.period);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Models);
          this.OR2([
            { ALT: () => this.CONSUME(T.Any) },
            {
              ALT: () => {
                this.AT_LEAST_ONE_SEP({
                  SEP: T.Comma,
                  DEF: () => this.CONSUME(T.Identifier),
                });
              },
            },
          ]);
        },
      },
    ]);
  });

  assignDecl = this.RULE('assignDecl', () => {
    this.CONSUME(T.Assign);
    this.CONSUME(T.Identifier);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.When);
          this.SUBRULE(this.expression);
        },
      },
      { ALT: () => this.CONSUME(T.Otherwise) },
    ]);
  });

  budgetDecl = this.RULE('budgetDecl', () => {
    this.CONSUME(T.Budget);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Each);
          this.SUBRULE(this.subjectKind);
        },
      },
      {
        ALT: () => {
          this.SUBRULE2(this.subjectKind);
          this.CONSUME(T.StringLiteral, { LABEL: 'id' });
        },
      },
      { ALT: () => this.CONSUME(T.Org) },
      {
        ALT: () => {
          this.CONSUME(T.Project);
          this.CONSUME3(T.StringLiteral, { LABEL: 'project' });
        },
      },
      {
        // a reserved pool several named teams draw from: `pool "ml" teams "a", "b"`
        ALT: () => {
          this.CONSUME(T.Pool);
          this.CONSUME4(T.StringLiteral, { LABEL: 'pool' });
          this.CONSUME(T.Teams);
          this.AT_LEAST_ONE_SEP({
            SEP: T.Comma,
            DEF: () => this.CONSUME5(T.StringLiteral, { LABEL: 'poolTeam' }),
          });
        },
      },
    ]);
    this.OPTION(() => {
      this.CONSUME(T.Environment);
      this.CONSUME2(T.StringLiteral, { LABEL: 'environment' });
    });
    this.CONSUME(T.LCurly);
    this.CONSUME(T.NumberLit);
    // a money budget, or a token budget: `{ 50M tokens per month }`
    this.OR2([{ ALT: () => this.CONSUME(T.CurrencyCode) }, { ALT: () => this.CONSUME(T.Tokens) }]);
    this.CONSUME(T.Per);
    this.SUBRULE(this.period);
    this.CONSUME(T.RCurly);
  });

  escalationDecl = this.RULE('escalationDecl', () => {
    this.CONSUME(T.Escalation);
    this.OR([{ ALT: () => this.CONSUME(T.Quota) }, { ALT: () => this.CONSUME(T.Budget) }]);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.escalationStep));
    this.CONSUME(T.RCurly);
  });

  escalationStep = this.RULE('escalationStep', () => {
    this.OR([{ ALT: () => this.CONSUME(T.At) }, { ALT: () => this.CONSUME(T.Forecast) }]);
    this.CONSUME(T.PercentLit);
    this.SUBRULE(this.action);
  });

  action = this.RULE('action', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Notify);
          this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier) });
          this.OPTION(() => this.CONSUME(T.StringLiteral));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Require);
          this.OR2([
            { ALT: () => this.CONSUME(T.Justification) },
            {
              ALT: () => {
                this.CONSUME(T.Approval);
                this.CONSUME(T.By);
                this.CONSUME2(T.Identifier, { LABEL: 'approver' });
              },
            },
          ]);
        },
      },
      { ALT: () => this.CONSUME(T.Block) },
    ]);
  });

  // `request premium { warn above 50k input "…"  block above 200k input }`: input size per request
  requestLimitDecl = this.RULE('requestLimitDecl', () => {
    this.CONSUME(T.Request);
    this.OR([{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.Any) }]);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.requestLimitStep));
    this.CONSUME(T.RCurly);
  });

  requestLimitStep = this.RULE('requestLimitStep', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Warn) }, { ALT: () => this.CONSUME(T.Block) }]);
    this.CONSUME(T.Above);
    this.CONSUME(T.NumberLit);
    this.CONSUME(T.Input);
    this.OPTION(() => this.CONSUME(T.StringLiteral, { LABEL: 'message' }));
  });

  ruleDecl = this.RULE('ruleDecl', () => {
    this.CONSUME(T.Rule);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.OPTION2(() => {
      this.CONSUME(T.Severity);
      this.SUBRULE(this.severityLevel);
    });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.ruleClause));
    this.CONSUME(T.Then);
    this.SUBRULE(this.action);
    this.CONSUME(T.RCurly);
  });

  ruleClause = this.RULE('ruleClause', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Subject);
          this.SUBRULE(this.subjectKind);
        },
      },
      { ALT: () => this.SUBRULE(this.detector) },
      {
        ALT: () => {
          this.CONSUME(T.When);
          this.SUBRULE(this.expression);
        },
      },
    ]);
  });

  /** `detect deviation of tokens within 28d above 3.5 history 7d`: a built-in detector */
  detector = this.RULE('detector', () => {
    this.CONSUME(T.Detect);
    this.CONSUME(T.Identifier, { LABEL: 'detector' });
    this.OPTION(() => {
      this.CONSUME(T.Of);
      this.CONSUME2(T.Identifier, { LABEL: 'fact' });
    });
    this.CONSUME(T.Within);
    this.CONSUME(T.DurationLit, { LABEL: 'window' });
    this.CONSUME(T.Above);
    this.OR([{ ALT: () => this.CONSUME(T.NumberLit) }, { ALT: () => this.CONSUME(T.PercentLit) }]);
    this.OPTION2(() => {
      this.CONSUME(T.History);
      this.CONSUME2(T.DurationLit, { LABEL: 'history' });
    });
    this.OPTION3(() => {
      this.CONSUME(T.In);
      this.SUBRULE(this.period);
    });
  });

  severityLevel = this.RULE('severityLevel', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Low) },
      { ALT: () => this.CONSUME(T.Medium) },
      { ALT: () => this.CONSUME(T.High) },
      { ALT: () => this.CONSUME(T.Critical) },
    ]);
  });

  // ---------- tests ----------

  testDecl = this.RULE('testDecl', () => {
    this.CONSUME(T.Test);
    this.CONSUME(T.StringLiteral);
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Now);
            this.CONSUME2(T.StringLiteral, { LABEL: 'now' });
          },
        },
        { ALT: () => this.SUBRULE(this.given) },
        { ALT: () => this.SUBRULE(this.expect) },
      ]);
    });
    this.CONSUME(T.RCurly);
  });

  given = this.RULE('given', () => {
    this.CONSUME(T.Given);
    this.SUBRULE(this.subjectKind);
    this.CONSUME(T.StringLiteral);
    this.MANY(() => this.SUBRULE(this.givenAttribute));
    this.OPTION(() => {
      this.CONSUME(T.Facts);
      this.CONSUME(T.LCurly);
      this.MANY2(() => this.SUBRULE(this.factValue));
      this.CONSUME(T.RCurly);
    });
  });

  givenAttribute = this.RULE('givenAttribute', () => {
    this.CONSUME(T.Identifier);
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.CONSUME2(T.Identifier);
    });
    this.OPTION(() => this.SUBRULE(this.literal));
  });

  factValue = this.RULE('factValue', () => {
    this.CONSUME(T.Identifier);
    this.OR([
      {
        // the days before today, oldest first: `tokens daily [9k, 11k, 10k]`
        ALT: () => {
          this.CONSUME(T.Daily);
          this.CONSUME(T.LBracket);
          this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE2(this.literal, { LABEL: 'day' }) });
          this.CONSUME(T.RBracket);
        },
      },
      {
        ALT: () => {
          this.OPTION(() => {
            this.CONSUME(T.Within);
            this.CONSUME(T.DurationLit);
          });
          this.SUBRULE(this.literal);
        },
      },
    ]);
  });

  /** Values written directly in tests: no operators, so clauses need no separators. */
  literal = this.RULE('literal', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.numberOrMoney) },
      { ALT: () => this.CONSUME(T.PercentLit) },
      { ALT: () => this.CONSUME(T.DurationLit) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
    ]);
  });

  expect = this.RULE('expect', () => {
    this.CONSUME(T.Expect);
    this.OPTION(() => {
      this.SUBRULE(this.subjectKind);
      this.CONSUME(T.StringLiteral, { LABEL: 'subject' });
    });
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Tier);
          this.CONSUME(T.Identifier);
        },
      },
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.Score) }, { ALT: () => this.CONSUME(T.Metric) }]);
          this.CONSUME2(T.Identifier);
          this.CONSUME(T.Between);
          this.SUBRULE(this.arith, { LABEL: 'low' });
          this.CONSUME(T.And);
          this.SUBRULE2(this.arith, { LABEL: 'high' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Band);
          this.OR3([{ ALT: () => this.CONSUME(T.Quota) }, { ALT: () => this.CONSUME(T.Budget) }]);
          this.CONSUME3(T.Identifier);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Rank);
          this.CONSUME4(T.Identifier);
          this.CONSUME(T.NumberLit);
        },
      },
      {
        ALT: () => {
          this.OPTION2(() => this.CONSUME(T.Not));
          this.OR4([
            {
              ALT: () => {
                this.CONSUME(T.Eligible);
                this.CONSUME5(T.Identifier);
              },
            },
            {
              ALT: () => {
                this.CONSUME3(T.Badge);
                this.CONSUME7(T.Identifier);
              },
            },
            {
              ALT: () => {
                this.CONSUME(T.Fires);
                // a rule name, or a ladder: `quota` is a name, `budget` is reserved
                this.OR5([
                  { ALT: () => this.CONSUME6(T.Identifier) },
                  { ALT: () => this.CONSUME2(T.Budget) },
                ]);
                this.OPTION3(() => {
                  this.CONSUME(T.At);
                  this.CONSUME(T.PercentLit);
                });
              },
            },
          ]);
        },
      },
      {
        // `expect request premium 150k input warn`, or a model: `request "gpt-4o" 1M input block`
        ALT: () => {
          this.CONSUME(T.Request);
          this.OR6([
            { ALT: () => this.CONSUME8(T.Identifier, { LABEL: 'requestClass' }) },
            { ALT: () => this.CONSUME2(T.StringLiteral, { LABEL: 'requestModel' }) },
          ]);
          this.CONSUME2(T.NumberLit, { LABEL: 'requestInput' });
          this.CONSUME(T.Input);
          this.OR7([
            { ALT: () => this.CONSUME(T.Allow) },
            { ALT: () => this.CONSUME(T.Warn) },
            { ALT: () => this.CONSUME(T.Block) },
          ]);
        },
      },
    ]);
  });

  // ---------- expressions ----------
  // Flat on purpose: an operand, then operator/operand pairs. Precedence (`or` < `and` <
  // `not` < comparisons < `+ -` < `* /` < unary `-`) is applied when the AST is built
  // (src/policy/parse.ts). A deep rule per precedence level would build a CST node per
  // level for every operand, which made parsing several times slower.

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.operand);
    this.MANY(() => this.SUBRULE(this.exprTail));
  });

  exprTail = this.RULE('exprTail', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.BinaryOperator);
          this.SUBRULE(this.operand);
        },
      },
      {
        ALT: () => {
          this.OPTION(() => this.CONSUME(T.Not));
          this.CONSUME(T.In);
          this.SUBRULE(this.list);
        },
      },
    ]);
  });

  /** Arithmetic only (no `and`), for `between low and high`. */
  arith = this.RULE('arith', () => {
    this.SUBRULE(this.operand);
    this.MANY(() => this.SUBRULE(this.arithTail));
  });

  arithTail = this.RULE('arithTail', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Plus) },
      { ALT: () => this.CONSUME(T.Minus) },
      { ALT: () => this.CONSUME(T.Star) },
      { ALT: () => this.CONSUME(T.Slash) },
    ]);
    this.SUBRULE(this.operand);
  });

  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
    this.CONSUME(T.RBracket);
  });

  /** prefix `not`/`-`, a value, a name, a call or `fact within 7d`, then `.member`s */
  operand = this.RULE('operand', () => {
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Not) }, { ALT: () => this.CONSUME(T.Minus) }]);
    });
    this.OR2([
      {
        ALT: () => {
          this.CONSUME(T.NumberLit);
          this.OPTION(() => this.CONSUME(T.CurrencyCode));
        },
      },
      { ALT: () => this.CONSUME(T.PercentLit) },
      { ALT: () => this.CONSUME(T.DurationLit) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.SUBRULE(this.ifExpr) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      {
        ALT: () => {
          this.CONSUME(T.Identifier, { LABEL: 'name' });
          this.OPTION2(() => {
            this.OR3([
              {
                ALT: () => {
                  this.CONSUME(T.LParen);
                  this.MANY_SEP({
                    SEP: T.Comma,
                    DEF: () => this.SUBRULE(this.expression, { LABEL: 'arg' }),
                  });
                  this.CONSUME(T.RParen);
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Within);
                  this.CONSUME2(T.DurationLit, { LABEL: 'window' });
                },
              },
            ]);
          });
        },
      },
    ]);
    this.MANY2(() => {
      this.CONSUME(T.Dot);
      this.CONSUME2(T.Identifier, { LABEL: 'property' });
    });
  });

  numberOrMoney = this.RULE('numberOrMoney', () => {
    this.CONSUME(T.NumberLit);
    this.OPTION(() => this.CONSUME(T.CurrencyCode));
  });

  ifExpr = this.RULE('ifExpr', () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expression, { LABEL: 'cond' });
    this.CONSUME(T.Then);
    this.SUBRULE2(this.expression, { LABEL: 'then' });
    this.CONSUME(T.Else);
    this.SUBRULE3(this.expression, { LABEL: 'else' });
  });

  parenExpr = this.RULE('parenExpr', () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RParen);
  });
}

/** The one parser instance; set `.input` and call `.policyFile()` to parse. */
export const policyParser = new PolicyParser();
