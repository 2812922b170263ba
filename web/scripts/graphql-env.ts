// Writes web/src/graphql-env.d.ts, the introspection types gql.tada reads, from
// schema.graphql. gql.tada's own CLI reads tsconfig through the TypeScript 5 API, which
// TypeScript 7 no longer has, so this calls the same generator directly.
// `--check` fails when the file is stale instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { minifyIntrospection, outputIntrospectionFile } from '@gql.tada/internal';
import { buildSchema, introspectionFromSchema } from 'graphql';

const schemaPath = fileURLToPath(new URL('../../schema.graphql', import.meta.url));
const outputPath = fileURLToPath(new URL('../src/graphql-env.d.ts', import.meta.url));

export function graphqlEnv(): string {
  const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
  const introspection = minifyIntrospection(introspectionFromSchema(schema));
  return outputIntrospectionFile(introspection, { fileType: '.d.ts', shouldPreprocess: true });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = graphqlEnv();
  let current = '';
  try {
    current = readFileSync(outputPath, 'utf8');
  } catch {}
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error('web/src/graphql-env.d.ts is stale: run `npm run web:types`');
      process.exit(1);
    }
  } else if (current !== text) {
    writeFileSync(outputPath, text);
    console.log('wrote web/src/graphql-env.d.ts');
  }
}
