// Writes editors/vscode/syntaxes/policy.tmLanguage.json: the TextMate grammar editors use
// to colour `.policy` files, generated from the lexer's tokens so it cannot drift from the
// language. `npm run textmate` refreshes it; test/editors/textmate.test.ts fails when stale.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenType } from 'chevrotain';
import * as T from './tokens.ts';

export const textmatePath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'editors',
  'vscode',
  'syntaxes',
  'policy.tmLanguage.json',
);

function source(token: TokenType): string {
  const pattern = token.PATTERN;
  if (pattern instanceof RegExp) return pattern.source;
  if (typeof pattern === 'string') return pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  throw new Error(`token ${token.name} has no plain pattern`);
}

const words = (list: readonly string[]) => `\\b(?:${[...list].sort().join('|')})\\b`;

export function textmateGrammar(): object {
  const keywords = [...T.keywordTokens.keys()];
  const operatorWords = ['and', 'or', 'not', 'in', 'within'];
  const constants = ['true', 'false', 'any', 'otherwise'];
  const declarations = keywords.filter(
    (w) => T.reservedWords.has(w) && !operatorWords.includes(w) && !constants.includes(w),
  );
  const contextual = keywords.filter((w) => !T.reservedWords.has(w));
  const operators = [
    T.EqEq,
    T.NotEq,
    T.LtEq,
    T.GtEq,
    T.Lt,
    T.Gt,
    T.Equals,
    T.Plus,
    T.Minus,
    T.Star,
    T.Slash,
  ];
  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'Quotient policy',
    scopeName: 'source.quotient-policy',
    fileTypes: ['policy'],
    patterns: [
      { name: 'comment.line.number-sign.quotient-policy', match: source(T.Comment) },
      {
        name: 'string.quoted.double.quotient-policy',
        begin: '"',
        end: '"|$',
        patterns: [{ name: 'constant.character.escape.quotient-policy', match: '\\\\.' }],
      },
      { name: 'constant.numeric.percentage.quotient-policy', match: `\\b${source(T.PercentLit)}` },
      {
        name: 'constant.numeric.duration.quotient-policy',
        match: `\\b${source(T.DurationLit)}\\b`,
      },
      { name: 'constant.numeric.quotient-policy', match: `\\b${source(T.NumberLit)}\\b` },
      {
        name: 'support.constant.currency.quotient-policy',
        match: `\\b${source(T.CurrencyCode)}\\b`,
      },
      { name: 'constant.language.quotient-policy', match: words(constants) },
      { name: 'keyword.operator.word.quotient-policy', match: words(operatorWords) },
      { name: 'keyword.control.quotient-policy', match: words(declarations) },
      { name: 'keyword.other.quotient-policy', match: words(contextual) },
      {
        name: 'keyword.operator.quotient-policy',
        match: operators
          .map(source)
          .sort((a, b) => b.length - a.length)
          .join('|'),
      },
      { name: 'variable.other.quotient-policy', match: `\\b${source(T.Identifier)}\\b` },
    ],
  };
}

export function textmateJson(): string {
  return `${JSON.stringify(textmateGrammar(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(textmatePath, textmateJson());
  console.log(`wrote ${textmatePath}`);
}
