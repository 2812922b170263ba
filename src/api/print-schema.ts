// `npm run schema`: writes schema.graphql (and docs/api-reference.md from it), lexicographically sorted so that diffs show only
// real changes. A test fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// graphql/index.js: the same module instance Pothos builds with (graphql 16 has no exports
// map, so a bundler resolving its `module` field would load a second copy)
import { lexicographicSortSchema, printSchema } from 'graphql/index.js';
import { schema } from './schema/index.ts';

export const SCHEMA_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../schema.graphql');

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, printedSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
  const { API_REFERENCE_FILE, apiReferenceMarkdown } = await import('./reference.ts');
  writeFileSync(API_REFERENCE_FILE, apiReferenceMarkdown());
  console.log(`wrote ${API_REFERENCE_FILE}`);
}
