import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diagramsHtml, diagramsPath } from '../../grammar/diagrams.ts';

describe('grammar/diagrams.html', () => {
  it('matches the grammar (run `npm run diagrams` after changing grammar/parser.ts)', () => {
    expect(readFileSync(diagramsPath, 'utf8')).toBe(diagramsHtml());
  });

  it('draws every rule', () => {
    const html = diagramsHtml();
    for (const rule of ['policyFile', 'tierDecl', 'escalationStep', 'expect', 'operand']) {
      expect(html).toContain(`"${rule}"`);
    }
  });
});
