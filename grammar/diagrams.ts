// Writes grammar/diagrams.html: railroad diagrams of every grammar rule, generated from the
// one parser instance. `npm run diagrams` refreshes it; test/policy/diagrams.test.ts fails
// when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSyntaxDiagramsCode } from 'chevrotain';
import { policyParser } from './parser.ts';

export const diagramsPath = join(dirname(fileURLToPath(import.meta.url)), 'diagrams.html');

export function diagramsHtml(): string {
  return createSyntaxDiagramsCode(policyParser.getSerializedGastProductions());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(diagramsPath, diagramsHtml());
  console.log(`wrote ${diagramsPath}`);
}
