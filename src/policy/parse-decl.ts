// CST→AST for declarations: one builder per grammar rule. A declaration missing a required
// piece (its syntax error is already reported) is left out of the AST.
import type { CstNode, IToken } from 'chevrotain';
import type {
  Action,
  BadgeDecl,
  BudgetScope,
  Comment,
  Declaration,
  DetectClause,
  Expect,
  Expectation,
  Expr,
  FactValue,
  Given,
  GivenAttribute,
  LeaderboardDecl,
  ModelDecl,
  Name,
  PolicyFile,
  PriceEntry,
  PriceKind,
  Range,
  RequestLimitStep,
  RuleDecl,
  SeasonDecl,
  Severity,
  StringLit,
  TestDecl,
  TierDecl,
} from './ast.ts';
import { codes } from './diagnostics.ts';
import {
  type BuildContext,
  type Children,
  durationExpr,
  edgeToken,
  firstKeyword,
  fromTo,
  has,
  isReal,
  name,
  nodeRange,
  numberExpr,
  PRICE_KINDS,
  percentExpr,
  period,
  SEVERITIES,
  span,
  stringLit,
  sub,
  subjectKind,
  tok,
} from './parse-context.ts';
import { buildArith, buildExpr, buildLiteral } from './parse-expr.ts';

function priceEntries(entries: CstNode[], model: string, ctx: BuildContext): PriceEntry[] {
  const prices: PriceEntry[] = [];
  const seen = new Set<PriceKind>();
  for (const entry of entries) {
    const priceKind = firstKeyword(entry.children, PRICE_KINDS) as PriceKind | null;
    const amount = numberExpr(tok(entry.children, 'NumberLit'), ctx);
    const entryRange =
      amount && priceKind ? fromTo(edgeToken(entry, true), ctx, amount.range) : null;
    if (!priceKind || !amount || !entryRange) continue;
    if (seen.has(priceKind)) {
      ctx.error(
        codes.duplicateClause,
        `the \`${priceKind}\` price of model "${model}" is given twice`,
        entryRange,
        'keep one of them',
      );
      continue;
    }
    seen.add(priceKind);
    prices.push({ kind: 'Price', range: entryRange, priceKind, amount });
  }
  return prices;
}

type DeclBuilder = (n: CstNode, range: Range, ctx: BuildContext) => Declaration | null;

const declarationBuilders: Record<string, DeclBuilder> = {
  policyHeader(n, range, ctx) {
    const c = n.children;
    const policyName = stringLit(tok(c, 'name'), ctx);
    const version = stringLit(tok(c, 'version'), ctx);
    if (!policyName || !version) return null;
    return { kind: 'PolicyHeader', range, name: policyName, version };
  },
  currencyDecl(n, range, ctx) {
    const code = name(tok(n.children, 'CurrencyCode'), ctx);
    return code && { kind: 'Currency', range, code };
  },
  timezoneDecl(n, range, ctx) {
    const zone = stringLit(tok(n.children, 'StringLiteral'), ctx);
    return zone && { kind: 'Timezone', range, zone };
  },
  privacyDecl(n, range, ctx) {
    const c = n.children;
    noRepeats(c, ['KwMinGroupSize', 'KwIdentities'], 'privacy', ctx);
    const identities = has(c, 'KwMasked') ? 'masked' : has(c, 'KwNamed') ? 'named' : null;
    return {
      kind: 'Privacy',
      range,
      minGroupSize: numberExpr(tok(c, 'NumberLit'), ctx),
      identities,
    };
  },
  exceptionsDecl(n, range, ctx) {
    const c = n.children;
    noRepeats(c, ['KwMaxDuration'], 'exceptions', ctx);
    return { kind: 'Exceptions', range, maxDuration: durationExpr(tok(c, 'DurationLit'), ctx) };
  },
  classDecl(n, range, ctx) {
    const c = n.children;
    const className = name(tok(c, 'Identifier'), ctx);
    return (
      className && {
        kind: 'Class',
        range,
        name: className,
        label: stringLit(tok(c, 'StringLiteral'), ctx),
      }
    );
  },
  modelDecl(n, range, ctx) {
    const c = n.children;
    const model = stringLit(tok(c, 'StringLiteral'), ctx);
    const className = name(tok(c, 'Identifier'), ctx);
    if (!model || !className) return null;
    const matches = ((c.pattern ?? []) as IToken[])
      .map((t) => stringLit(t, ctx))
      .filter((s): s is NonNullable<typeof s> => s !== null);
    const decl: ModelDecl = {
      kind: 'Model',
      range,
      model,
      className,
      matches,
      prices: [],
      calls: [],
      multipliers: [],
      longContext: [],
    };
    for (const item of (c.priceItem ?? []) as CstNode[]) {
      const ic = item.children;
      const entries = (ic.priceEntry ?? []) as CstNode[];
      if (has(ic, 'KwAbove')) {
        const threshold = numberExpr(tok(ic, 'threshold'), ctx);
        if (!threshold) continue;
        decl.longContext.push({
          kind: 'LongContext',
          range: nodeRange(item, ctx) ?? range,
          threshold,
          prices: priceEntries(entries, model.value, ctx),
        });
      } else if (has(ic, 'KwWebSearch')) {
        const amount = numberExpr(tok(ic, 'amount'), ctx);
        const per = numberExpr(tok(ic, 'calls'), ctx);
        if (!amount || !per) continue;
        decl.calls.push({
          kind: 'CallPrice',
          range: nodeRange(item, ctx) ?? range,
          call: 'web_search',
          amount,
          per,
        });
      } else if (has(ic, 'KwBatch') || has(ic, 'KwPriority')) {
        const percent = percentExpr(tok(ic, 'PercentLit'), ctx);
        if (!percent) continue;
        decl.multipliers.push({
          kind: 'TierMultiplier',
          range: nodeRange(item, ctx) ?? range,
          tier: has(ic, 'KwBatch') ? 'batch' : 'priority',
          percent,
        });
      } else {
        decl.prices.push(...priceEntries(entries, model.value, ctx));
      }
    }
    // a kind given twice at the top level of one price block
    const seen = new Set<PriceKind>();
    decl.prices = decl.prices.filter((p) => {
      if (!seen.has(p.priceKind)) {
        seen.add(p.priceKind);
        return true;
      }
      ctx.error(
        codes.duplicateClause,
        `the \`${p.priceKind}\` price of model "${model.value}" is given twice`,
        p.range,
        'keep one of them',
      );
      return false;
    });
    return decl;
  },
  measureDecl(n, range, ctx) {
    const c = n.children;
    const measureName = name(tok(c, 'Identifier'), ctx);
    if (!measureName) return null;
    noRepeats(c, ['KwUnit', 'KwAggregate'], `measure \`${measureName.text}\``, ctx);
    const aggregate = has(c, 'KwSum')
      ? 'sum'
      : has(c, 'KwMean')
        ? 'mean'
        : has(c, 'KwPercentile')
          ? 'percentile'
          : null;
    return {
      kind: 'Measure',
      range,
      name: measureName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      unit: name(tok(c, 'unit'), ctx),
      aggregate,
      percentile: aggregate === 'percentile' ? numberExpr(tok(c, 'NumberLit'), ctx) : null,
    };
  },
  metricDecl(n, range, ctx) {
    const c = n.children;
    const metricName = name(tok(c, 'Identifier'), ctx);
    const formula = buildExpr(sub(c, 'expression'), ctx);
    if (!metricName || !formula) return null;
    return {
      kind: 'Metric',
      range,
      name: metricName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      formula,
    };
  },
  leaderboardDecl(n, range, ctx) {
    const c = n.children;
    const boardName = name(tok(c, 'Identifier'), ctx);
    if (!boardName) return null;
    const board: LeaderboardDecl = {
      kind: 'Leaderboard',
      range,
      name: boardName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      subject: null,
      window: null,
      cohort: null,
      eligible: null,
      exclude: null,
      score: null,
      top: null,
    };
    const seen = new Set<string>();
    for (const clause of (c.leaderboardClause ?? []) as CstNode[]) {
      const cc = clause.children;
      const word = firstKeyword(cc, [
        'subject',
        'window',
        'cohort',
        'eligible',
        'exclude',
        'score',
        'top',
      ]);
      if (!word) continue;
      if (repeated(seen, word, clause, `leaderboard \`${boardName.text}\``, ctx)) continue;
      if (subjectOrWindow(board, word, clause, ctx)) continue;
      if (word === 'top') board.top = numberExpr(tok(cc, 'NumberLit'), ctx);
      else
        board[word as 'cohort' | 'eligible' | 'exclude' | 'score'] = buildExpr(sub(cc, word), ctx);
    }
    return board;
  },
  badgeDecl(n, range, ctx) {
    const c = n.children;
    const badgeName = name(tok(c, 'Identifier'), ctx);
    if (!badgeName) return null;
    const badge: BadgeDecl = {
      kind: 'Badge',
      range,
      name: badgeName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      subject: null,
      window: null,
      when: null,
    };
    const seen = new Set<string>();
    for (const clause of (c.badgeClause ?? []) as CstNode[]) {
      const cc = clause.children;
      const word = firstKeyword(cc, ['subject', 'window', 'when']);
      if (!word) continue;
      if (repeated(seen, word, clause, `badge \`${badgeName.text}\``, ctx)) continue;
      if (!subjectOrWindow(badge, word, clause, ctx)) badge.when = buildExpr(sub(cc, 'when'), ctx);
    }
    return badge;
  },
  seasonDecl(n, range, ctx) {
    const c = n.children;
    const seasonName = name(tok(c, 'Identifier'), ctx);
    if (!seasonName) return null;
    const season: SeasonDecl = {
      kind: 'Season',
      range,
      name: seasonName,
      label: stringLit(tok(c, 'label'), ctx),
      from: null,
      until: null,
    };
    const seen = new Set<string>();
    for (const clause of (c.seasonClause ?? []) as CstNode[]) {
      const word = firstKeyword(clause.children, ['from', 'until']) as 'from' | 'until' | null;
      if (!word) continue;
      if (repeated(seen, word, clause, `season \`${seasonName.text}\``, ctx)) continue;
      season[word] = stringLit(tok(clause.children, word), ctx);
    }
    return season;
  },
  tierDecl(n, range, ctx) {
    const c = n.children;
    const tierName = name(tok(c, 'Identifier'), ctx);
    if (!tierName) return null;
    const tier: TierDecl = {
      kind: 'Tier',
      range,
      name: tierName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      limit: null,
      period: null,
      models: null,
    };
    const seen = new Set<string>();
    for (const clause of (c.tierClause ?? []) as CstNode[]) {
      const cc = clause.children;
      const word = has(cc, 'KwLimit') ? 'limit' : has(cc, 'KwModels') ? 'models' : null;
      if (!word) continue;
      if (repeated(seen, word, clause, `tier \`${tierName.text}\``, ctx)) continue;
      if (word === 'limit') {
        tier.limit = numberExpr(tok(cc, 'NumberLit'), ctx);
        tier.period = period(sub(cc, 'period'));
      } else if (has(cc, 'KwAny')) {
        tier.models = 'any';
      } else {
        const names: Name[] = [];
        for (const t of (cc.Identifier ?? []) as IToken[]) {
          const className = name(isReal(t) ? t : undefined, ctx);
          if (className) names.push(className);
        }
        tier.models = names;
      }
    }
    return tier;
  },
  assignDecl(n, range, ctx) {
    const c = n.children;
    const tier = name(tok(c, 'Identifier'), ctx);
    if (!tier) return null;
    if (has(c, 'KwOtherwise')) return { kind: 'Assign', range, tier, when: null };
    const when = buildExpr(sub(c, 'expression'), ctx);
    return when && { kind: 'Assign', range, tier, when };
  },
  budgetDecl(n, range, ctx) {
    const c = n.children;
    let target: BudgetScope | null = null;
    const kinds = (c.subjectKind ?? []) as CstNode[];
    if (has(c, 'KwOrg')) target = { scope: 'org' };
    else if (has(c, 'KwProject')) {
      const id = stringLit(tok(c, 'project'), ctx);
      target = id && { scope: 'project', id };
    } else if (has(c, 'KwPool')) {
      const id = stringLit(tok(c, 'pool'), ctx);
      const teams = ((c.poolTeam ?? []) as IToken[]).map((t) => stringLit(t, ctx));
      target =
        id && teams.every((t) => t !== null)
          ? { scope: 'pool', id, teams: teams as StringLit[] }
          : null;
    } else if (has(c, 'KwEach')) {
      const subject = subjectKind(kinds[0]);
      target = subject && { scope: 'each', subject };
    } else {
      const subject = subjectKind(kinds[0]);
      const id = stringLit(tok(c, 'id'), ctx);
      target = subject && id && { scope: 'one', subject, id };
    }
    const amount = numberExpr(tok(c, 'NumberLit'), ctx);
    const code = tok(c, 'CurrencyCode');
    const tokens = has(c, 'KwTokens');
    const per = period(sub(c, 'period'));
    if (!target || !amount || !(code || tokens) || !per) return null;
    return {
      kind: 'Budget',
      range,
      target,
      environment: stringLit(tok(c, 'environment'), ctx),
      amount: code
        ? {
            kind: 'Money',
            range: span(amount.range, ctx.tokenRange(code)),
            amount: amount.value,
            raw: amount.raw,
            currency: code.image,
          }
        : amount,
      period: per,
    };
  },
  escalationDecl(n, range, ctx) {
    const c = n.children;
    const target = name(tok(c, 'KwQuota') ?? tok(c, 'KwBudget'), ctx);
    if (!target) return null;
    const steps = [];
    for (const step of (c.escalationStep ?? []) as CstNode[]) {
      const sc = step.children;
      const threshold = percentExpr(tok(sc, 'PercentLit'), ctx);
      const action = buildAction(sub(sc, 'action'), ctx);
      const stepRange = fromTo(tok(sc, 'KwAt') ?? tok(sc, 'KwForecast'), ctx, action?.range);
      if (!threshold || !action || !stepRange) continue;
      const trigger: 'at' | 'forecast' = has(sc, 'KwForecast') ? 'forecast' : 'at';
      steps.push({ kind: 'Step' as const, range: stepRange, trigger, threshold, action });
    }
    return { kind: 'Escalation', range, target, steps };
  },
  ruleDecl(n, range, ctx) {
    const c = n.children;
    const ruleName = name(tok(c, 'Identifier'), ctx);
    const then = buildAction(sub(c, 'action'), ctx);
    if (!ruleName || !then) return null;
    const level = sub(c, 'severityLevel');
    const rule: RuleDecl = {
      kind: 'Rule',
      range,
      name: ruleName,
      label: stringLit(tok(c, 'StringLiteral'), ctx),
      severity: level ? (firstKeyword(level.children, SEVERITIES) as Severity | null) : null,
      subject: null,
      detect: null,
      when: null,
      then,
    };
    const seen = new Set<string>();
    for (const clause of (c.ruleClause ?? []) as CstNode[]) {
      const cc = clause.children;
      const word = firstKeyword(cc, ['subject', 'when']) ?? (sub(cc, 'detector') ? 'detect' : null);
      if (!word) continue;
      if (repeated(seen, word, clause, `rule \`${ruleName.text}\``, ctx)) continue;
      if (word === 'subject') {
        rule.subject = subjectKind(sub(cc, 'subjectKind'));
        rule.subjectRange = nodeRange(clause, ctx) ?? undefined;
      } else if (word === 'when') rule.when = buildExpr(sub(cc, 'expression'), ctx);
      else rule.detect = buildDetect(sub(cc, 'detector'), ctx);
    }
    return rule;
  },
  requestLimitDecl(n, range, ctx) {
    const c = n.children;
    const target = has(c, 'KwAny') ? null : name(tok(c, 'Identifier'), ctx);
    if (target === undefined || (target === null && !has(c, 'KwAny'))) return null;
    const steps: RequestLimitStep[] = [];
    for (const step of (c.requestLimitStep ?? []) as CstNode[]) {
      const sc = step.children;
      const above = numberExpr(tok(sc, 'NumberLit'), ctx);
      const first = tok(sc, 'KwWarn') ?? tok(sc, 'KwBlock');
      const stepRange = fromTo(first, ctx, tok(sc, 'KwInput'), tok(sc, 'message'));
      if (!above || !stepRange) return null;
      steps.push({
        kind: 'RequestStep',
        range: stepRange,
        action: has(sc, 'KwWarn') ? 'warn' : 'block',
        above,
        message: stringLit(tok(sc, 'message'), ctx),
      });
    }
    return { kind: 'RequestLimit', range, target, steps };
  },
  testDecl(n, range, ctx) {
    const c = n.children;
    const testName = stringLit(tok(c, 'StringLiteral'), ctx);
    if (!testName) return null;
    const test: TestDecl = {
      kind: 'Test',
      range,
      name: testName,
      now: null,
      givens: [],
      expects: [],
    };
    const nows = (c.now ?? []) as IToken[];
    if (nows.length > 1 && isReal(nows[1])) {
      ctx.error(
        codes.duplicateClause,
        `\`now\` is given twice in test "${testName.value}"`,
        ctx.tokenRange(nows[1]),
        'keep one clock',
      );
    }
    test.now = stringLit(nows[0] && isReal(nows[0]) ? nows[0] : undefined, ctx);
    for (const g of (c.given ?? []) as CstNode[]) {
      const given = buildGiven(g, ctx);
      if (given) test.givens.push(given);
    }
    for (const e of (c.expect ?? []) as CstNode[]) {
      const expect = buildExpect(e, ctx);
      if (expect) test.expects.push(expect);
    }
    return test;
  },
};

function buildDetect(n: CstNode | undefined, ctx: BuildContext): DetectClause | null {
  const range = n ? nodeRange(n, ctx) : null;
  if (!n || !range) return null;
  const c = n.children;
  const detector = name(tok(c, 'detector'), ctx);
  const window = durationExpr(tok(c, 'window'), ctx);
  const above = numberExpr(tok(c, 'NumberLit'), ctx) ?? percentExpr(tok(c, 'PercentLit'), ctx);
  if (!detector || !window || !above) return null;
  return {
    kind: 'Detect',
    range,
    detector,
    fact: name(tok(c, 'fact'), ctx),
    window,
    above,
    history: durationExpr(tok(c, 'history'), ctx),
    period: period(sub(c, 'period')),
  };
}

/** A `subject …` or `window …` clause (leaderboards, badges), with where it was written. */
function subjectOrWindow(
  target: Pick<LeaderboardDecl, 'subject' | 'window' | 'subjectRange' | 'windowRange'>,
  word: string,
  clause: CstNode,
  ctx: BuildContext,
): boolean {
  const cc = clause.children;
  if (word === 'subject') {
    target.subject = subjectKind(sub(cc, 'subjectKind'));
    target.subjectRange = nodeRange(clause, ctx) ?? undefined;
    return true;
  }
  if (word === 'window') {
    const w = sub(cc, 'boardWindow');
    target.window =
      w && has(w.children, 'KwSeason') ? 'season' : period(w && sub(w.children, 'period'));
    target.windowRange = nodeRange(clause, ctx) ?? undefined;
    return true;
  }
  return false;
}

function noRepeats(c: Children, keys: readonly string[], where: string, ctx: BuildContext): void {
  for (const key of keys) {
    const list = (c[key] ?? []) as IToken[];
    if (list.length > 1 && isReal(list[1])) {
      ctx.error(
        codes.duplicateClause,
        `\`${list[1].image}\` is given twice in ${where}`,
        ctx.tokenRange(list[1]),
        'keep one of them',
      );
    }
  }
}

function repeated(
  seen: Set<string>,
  word: string,
  clause: CstNode,
  where: string,
  ctx: BuildContext,
): boolean {
  if (!seen.has(word)) {
    seen.add(word);
    return false;
  }
  const range = nodeRange(clause, ctx);
  if (range)
    ctx.error(
      codes.duplicateClause,
      `\`${word}\` is given twice in ${where}`,
      range,
      'keep one of them',
    );
  return true;
}

function buildAction(n: CstNode | undefined, ctx: BuildContext): Action | null {
  if (!n) return null;
  const c = n.children;
  const audienceTokens = (c.Identifier ?? []) as IToken[];
  const range = fromTo(
    tok(c, 'KwNotify') ?? tok(c, 'KwRequire') ?? tok(c, 'KwBlock'),
    ctx,
    audienceTokens[audienceTokens.length - 1],
    tok(c, 'StringLiteral'),
    tok(c, 'KwJustification'),
    tok(c, 'approver'),
  );
  if (!range) return null;
  if (has(c, 'KwNotify')) {
    const audiences: Name[] = [];
    for (const t of (c.Identifier ?? []) as IToken[]) {
      const audience = name(isReal(t) ? t : undefined, ctx);
      if (audience) audiences.push(audience);
    }
    if (audiences.length === 0) return null;
    return { kind: 'Notify', range, audiences, message: stringLit(tok(c, 'StringLiteral'), ctx) };
  }
  if (has(c, 'KwJustification')) return { kind: 'RequireJustification', range };
  if (has(c, 'KwApproval')) {
    const approver = name(tok(c, 'approver'), ctx);
    return approver && { kind: 'RequireApproval', range, approver };
  }
  if (has(c, 'KwBlock')) return { kind: 'Block', range };
  return null;
}

function buildGiven(n: CstNode, ctx: BuildContext): Given | null {
  const c = n.children;
  const subject = subjectKind(sub(c, 'subjectKind'));
  const id = stringLit(tok(c, 'StringLiteral'), ctx);
  if (!subject || !id) return null;
  const attributes: GivenAttribute[] = [];
  for (const a of (c.givenAttribute ?? []) as CstNode[]) {
    const parts = ((a.children.Identifier ?? []) as IToken[]).filter(isReal);
    if (parts.length === 0) continue;
    const nameRange = span(ctx.tokenRange(parts[0]), ctx.tokenRange(parts[parts.length - 1]));
    const value = buildLiteral(sub(a.children, 'literal'), ctx);
    const aRange = value ? span(nameRange, value.range) : nameRange;
    attributes.push({
      kind: 'GivenAttribute',
      range: aRange,
      name: { kind: 'Name', range: nameRange, text: parts.map((p) => p.image).join('.') },
      value,
    });
  }
  const facts: FactValue[] = [];
  for (const f of (c.factValue ?? []) as CstNode[]) {
    const fc = f.children;
    const fact = name(tok(fc, 'Identifier'), ctx);
    if (!fact) continue;
    if (has(fc, 'KwDaily')) {
      const days = ((fc.day ?? []) as CstNode[])
        .map((d) => buildLiteral(d, ctx))
        .filter((d): d is Expr => d !== null);
      const close = tok(fc, 'RBracket');
      if (days.length === 0 || !close || !isReal(close)) continue;
      facts.push({
        kind: 'FactValue',
        range: span(fact.range, ctx.tokenRange(close)),
        fact,
        window: null,
        value: days[days.length - 1],
        daily: days,
      });
      continue;
    }
    const value = buildLiteral(sub(fc, 'literal'), ctx);
    if (!value) continue;
    facts.push({
      kind: 'FactValue',
      range: span(fact.range, value.range),
      fact,
      window: durationExpr(tok(fc, 'DurationLit'), ctx),
      value,
    });
  }
  const range = fromTo(
    tok(c, 'KwGiven'),
    ctx,
    id.range,
    attributes[attributes.length - 1]?.range,
    facts[facts.length - 1]?.range,
    tok(c, 'RCurly'),
  );
  if (!range) return null;
  return { kind: 'Given', range, subject, id, attributes, facts };
}

function buildExpect(n: CstNode, ctx: BuildContext): Expect | null {
  const c = n.children;
  if (has(c, 'KwRequest')) return buildExpectRequest(n, ctx);
  const target = name(
    tok(c, 'Identifier') ?? (has(c, 'KwFires') ? tok(c, 'KwBudget') : undefined),
    ctx,
  );
  if (!target) return null;
  const start = tok(c, 'KwExpect');
  // the expectation's own range starts after `expect person "x"`
  const subjectTok = tok(c, 'subject');
  const firstWord =
    tok(c, 'KwNot') ??
    tok(c, 'KwTier') ??
    tok(c, 'KwScore') ??
    tok(c, 'KwMetric') ??
    tok(c, 'KwBand') ??
    tok(c, 'KwRank') ??
    tok(c, 'KwEligible') ??
    tok(c, 'KwBadge') ??
    tok(c, 'KwFires') ??
    start;
  const low = sub(c, 'low') ? buildArith(sub(c, 'low'), ctx) : null;
  const high = sub(c, 'high') ? buildArith(sub(c, 'high'), ctx) : null;
  const rankTok = tok(c, 'NumberLit');
  const stepTok = tok(c, 'PercentLit');
  const range = fromTo(start, ctx, target.range, high?.range, rankTok, stepTok);
  const eRange = fromTo(firstWord, ctx, target.range, high?.range, rankTok, stepTok);
  if (!range || !eRange) return null;
  let expectation: Expectation | null = null;
  if (has(c, 'KwTier')) {
    expectation = { kind: 'ExpectTier', range: eRange, tier: target };
  } else if (has(c, 'KwScore') || has(c, 'KwMetric')) {
    if (!low || !high) return null;
    expectation = {
      kind: 'ExpectValue',
      range: eRange,
      target: has(c, 'KwScore') ? 'score' : 'metric',
      name: target,
      low,
      high,
    };
  } else if (has(c, 'KwBand')) {
    expectation = {
      kind: 'ExpectBand',
      range: eRange,
      target: has(c, 'KwBudget') ? 'budget' : 'quota',
      band: target,
    };
  } else if (has(c, 'KwRank')) {
    const rank = numberExpr(rankTok, ctx);
    if (!rank) return null;
    expectation = { kind: 'ExpectRank', range: eRange, board: target, rank };
  } else if (has(c, 'KwEligible')) {
    expectation = {
      kind: 'ExpectEligible',
      range: eRange,
      board: target,
      negated: has(c, 'KwNot'),
    };
  } else if (has(c, 'KwBadge')) {
    expectation = { kind: 'ExpectBadge', range: eRange, badge: target, negated: has(c, 'KwNot') };
  } else if (has(c, 'KwFires')) {
    expectation = {
      kind: 'ExpectFires',
      range: eRange,
      target,
      step: percentExpr(stepTok, ctx),
      negated: has(c, 'KwNot'),
    };
  }
  if (!expectation) return null;
  const subject = stringLit(subjectTok, ctx);
  const subjectKindNode = sub(c, 'subjectKind');
  const kind = subject && subjectKindNode ? subjectKind(subjectKindNode) : null;
  return kind
    ? { kind: 'Expect', range, subject, subjectKind: kind, expectation }
    : { kind: 'Expect', range, subject, expectation };
}

/** `expect [person "x"] request premium 150k input warn` */
function buildExpectRequest(n: CstNode, ctx: BuildContext): Expect | null {
  const c = n.children;
  const target = tok(c, 'requestModel')
    ? stringLit(tok(c, 'requestModel'), ctx)
    : name(tok(c, 'requestClass'), ctx);
  const inputTokens = numberExpr(tok(c, 'requestInput'), ctx);
  const last = tok(c, 'KwAllow') ?? tok(c, 'KwWarn') ?? tok(c, 'KwBlock');
  const range = fromTo(tok(c, 'KwExpect'), ctx, last);
  const eRange = fromTo(tok(c, 'KwRequest'), ctx, last);
  if (!target || !inputTokens || !last || !range || !eRange) return null;
  const expectation: Expectation = {
    kind: 'ExpectRequest',
    range: eRange,
    target,
    inputTokens,
    outcome: has(c, 'KwAllow') ? 'allow' : has(c, 'KwWarn') ? 'warn' : 'block',
  };
  const subject = stringLit(tok(c, 'subject'), ctx);
  const subjectKindNode = sub(c, 'subjectKind');
  const kind = subject && subjectKindNode ? subjectKind(subjectKindNode) : null;
  return kind
    ? { kind: 'Expect', range, subject, subjectKind: kind, expectation }
    : { kind: 'Expect', range, subject, expectation };
}

export function buildDeclaration(
  d: CstNode,
  ctx: BuildContext,
  first?: IToken,
  last?: IToken,
): Declaration | null {
  for (const rule in d.children) {
    const node = d.children[rule]?.[0] as CstNode | undefined;
    const builder = declarationBuilders[rule];
    if (!node || !builder) continue;
    const range =
      isReal(first) && isReal(last) && last.startOffset >= first.startOffset
        ? span(ctx.tokenRange(first), ctx.tokenRange(last))
        : nodeRange(node, ctx);
    return range ? builder(node, range, ctx) : null;
  }
  return null;
}

export function buildFile(
  cst: CstNode | undefined,
  comments: Comment[],
  ctx: BuildContext,
): PolicyFile {
  const declarations: Declaration[] = [];
  for (const d of (cst?.children.declaration ?? []) as CstNode[]) {
    const decl = buildDeclaration(d, ctx);
    if (decl) declarations.push(decl);
  }
  return {
    kind: 'PolicyFile',
    range: ctx.rangeAt(0, ctx.text.length),
    declarations,
    comments,
  };
}
