// schema.graphql is committed; `npm run schema` must reproduce it exactly.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../../src/api/print-schema.ts';

describe('schema.graphql', () => {
  it('is current (run `npm run schema` after changing the API)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });

  it('uses Relay connections for lists and typed error unions', () => {
    const sdl = printedSchema();
    expect(sdl).toMatch(/people\([^)]*after: String[^)]*\): QueryPeopleConnection!/);
    expect(sdl).toMatch(/union MutationPublishPolicyResult = PolicyInvalid \|[^\n]*PolicyVersion/);
    expect(sdl).toMatch(/interface Problem \{/);
  });
});
