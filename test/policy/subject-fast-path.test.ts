// The evaluator's fast path for subjects already in shape must agree with the zod schema:
// whenever it accepts a subject, zod accepts it too and outputs an equal subject.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanSubject, subjectSchema } from '../../src/policy/evaluate/validate.ts';

const number = fc.oneof(
  { arbitrary: fc.double({ min: 0, max: 1e12, noNaN: true }), weight: 10 },
  {
    arbitrary: fc.constantFrom(-1, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e308 * 10),
    weight: 1,
  },
  { arbitrary: fc.constantFrom('3', null, undefined, true), weight: 1 },
);
const record = <T>(values: fc.Arbitrary<T>) =>
  fc.dictionary(fc.constantFrom('month', 'week', 'tokens', 'cost', 'a b', '__proto__'), values, {
    maxKeys: 3,
  });
const subject = fc.record(
  {
    kind: fc.oneof(
      { arbitrary: fc.constantFrom('person', 'team'), weight: 10 },
      { arbitrary: fc.constantFrom('org', '', 1), weight: 1 },
    ),
    id: fc.oneof(
      { arbitrary: fc.constantFrom('ana', 'team-1'), weight: 10 },
      { arbitrary: fc.constantFrom('', 7, null), weight: 1 },
    ),
    attributes: fc.oneof(
      { arbitrary: record(fc.anything()), weight: 10 },
      { arbitrary: fc.constantFrom([], null, 'x', new Date(0)), weight: 1 },
    ),
    facts: fc.oneof(
      { arbitrary: record(record(number)), weight: 10 },
      { arbitrary: fc.constantFrom([], null, { month: [] }, { month: 3 }), weight: 1 },
    ),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('cleanSubject', () => {
  it('accepts only what zod accepts, and gives what zod gives', () => {
    let taken = 0;
    fc.assert(
      fc.property(subject, (raw) => {
        const fast = cleanSubject(raw);
        if (fast === null) return;
        taken++;
        const parsed = subjectSchema.safeParse(raw);
        expect(parsed.success).toBe(true);
        if (parsed.success) expect(fast).toEqual(parsed.data);
      }),
      { numRuns: 20_000 },
    );
    // the property says nothing unless the fast path is taken often
    expect(taken).toBeGreaterThan(1_000);
  });
});
