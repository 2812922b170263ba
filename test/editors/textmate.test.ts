// The VS Code grammar is generated from the lexer's tokens; this fails when it is stale,
// and checks that it colours a real policy the way the lexer reads it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { textmateGrammar, textmateJson, textmatePath } from '../../grammar/textmate.ts';
import * as T from '../../grammar/tokens.ts';

type Rule = { name: string; match?: string; begin?: string; end?: string };

/** The scope the grammar's first matching top-level rule gives at `offset` (TextMate order). */
function scopeAt(line: string, offset: number): string | undefined {
  const rules = (textmateGrammar() as { patterns: Rule[] }).patterns;
  let best: { index: number; rule: number; name: string } | undefined;
  rules.forEach((rule, i) => {
    const pattern = new RegExp(rule.match ?? `${rule.begin}.*?(?:${rule.end})`, 'g');
    for (const m of line.matchAll(pattern)) {
      if (m.index === undefined || m[0].length === 0) continue;
      if (m.index <= offset && offset < m.index + m[0].length) {
        if (!best || m.index < best.index || (m.index === best.index && i < best.rule))
          best = { index: m.index, rule: i, name: rule.name };
      }
    }
  });
  return best?.name;
}

describe('editors/vscode TextMate grammar', () => {
  it('matches the tokens (run `npm run textmate` after changing grammar/tokens.ts)', () => {
    expect(readFileSync(textmatePath, 'utf8')).toBe(textmateJson());
  });

  it('names every keyword of the lexer', () => {
    const text = readFileSync(textmatePath, 'utf8');
    for (const word of T.keywordTokens.keys()) expect(text, word).toContain(word);
  });

  it('colours a policy line by line as the lexer reads it', () => {
    const line = 'tier power "Builders" { limit 10M tokens per month  models any }  # note';
    expect(scopeAt(line, line.indexOf('tier'))).toBe('keyword.control.quotient-policy');
    expect(scopeAt(line, line.indexOf('power'))).toBe('variable.other.quotient-policy');
    expect(scopeAt(line, line.indexOf('Builders'))).toBe('string.quoted.double.quotient-policy');
    expect(scopeAt(line, line.indexOf('10M'))).toBe('constant.numeric.quotient-policy');
    expect(scopeAt(line, line.indexOf('limit'))).toBe('keyword.other.quotient-policy');
    expect(scopeAt(line, line.indexOf('any'))).toBe('constant.language.quotient-policy');
    expect(scopeAt(line, line.indexOf('note'))).toBe('comment.line.number-sign.quotient-policy');
    const step = 'at 70%  notify person "70% used" within 7d 2,000 USD';
    expect(scopeAt(step, step.indexOf('70%'))).toBe('constant.numeric.percentage.quotient-policy');
    expect(scopeAt(step, step.indexOf('7d'))).toBe('constant.numeric.duration.quotient-policy');
    expect(scopeAt(step, step.indexOf('within'))).toBe('keyword.operator.word.quotient-policy');
    expect(scopeAt(step, step.indexOf('2,000'))).toBe('constant.numeric.quotient-policy');
    expect(scopeAt(step, step.indexOf('USD'))).toBe('support.constant.currency.quotient-policy');
  });

  it('is wired into the extension manifest', () => {
    const manifest = JSON.parse(
      readFileSync(
        join(import.meta.dirname, '..', '..', 'editors', 'vscode', 'package.json'),
        'utf8',
      ),
    );
    expect(manifest.contributes.grammars[0]).toMatchObject({
      language: 'quotient-policy',
      scopeName: 'source.quotient-policy',
      path: './syntaxes/policy.tmLanguage.json',
    });
    expect(manifest.contributes.languages[0].extensions).toEqual(['.policy']);
  });
});
