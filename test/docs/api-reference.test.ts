// docs/api-reference.md is generated from the schema and the role table (`npm run schema`);
// this fails when it is stale, and checks it covers every root field.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_REFERENCE_FILE, apiReferenceMarkdown } from '../../src/api/reference.ts';
import { schema } from '../../src/api/schema/index.ts';

describe('docs/api-reference.md', () => {
  it('is current (run `npm run schema` after changing the API or the role table)', () => {
    expect(readFileSync(API_REFERENCE_FILE, 'utf8')).toBe(apiReferenceMarkdown());
  });

  it('lists every query, mutation and subscription with the roles that may call it', () => {
    const doc = apiReferenceMarkdown();
    for (const type of [
      schema.getQueryType(),
      schema.getMutationType(),
      schema.getSubscriptionType(),
    ])
      for (const name of Object.keys(type?.getFields() ?? {}))
        expect(doc, name).toMatch(new RegExp(`^\\| \`${name}[(:]`, 'm'));
    expect(doc).toMatch(/^\| `auditLog\(.*\| governance, admin \(`governance`\) \|/m);
    expect(doc).toMatch(/^\| `createApiKey\(.*\| admin \(`admin`\) \|/m);
  });
});
