// Input checks for evaluate: each subject is validated on its own, so one bad subject is
// reported (naming the subject and the field) while the others are still evaluated.
import { z } from 'zod';
import type { Requirements } from '../compile/ruleset.ts';
import { parseMeasureFact } from '../ir.ts';
import { parseDaysAgo } from '../windows.ts';
import type { FactsByWindow, InputError, SubjectInput } from './types.ts';

const factValue = z
  .number({ error: 'must be a number' })
  .finite('must be a finite number')
  .nonnegative('must not be negative');

export const subjectSchema = z.object({
  kind: z.enum(['person', 'team'], { error: 'must be "person" or "team"' }),
  id: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
  attributes: z.record(z.string(), z.unknown()).default({}),
  facts: z.record(z.string(), z.record(z.string(), factValue)).default({}),
});

export const factsSchema = z.record(z.string(), z.record(z.string(), factValue));

function path(parts: readonly PropertyKey[]): string {
  return parts.map(String).join('.');
}

/** The subject's label in errors: its id when it has one, else its position. */
export function subjectLabel(raw: unknown, index: number): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id ? id : `subjects[${index}]`;
}

export function validateSubject(
  raw: unknown,
  index: number,
  required: Record<'person' | 'team', Requirements>,
): { subject: SubjectInput; errors: [] } | { subject: null; errors: InputError[] } {
  const clean = cleanSubject(raw);
  const label = clean ? clean.id : subjectLabel(raw, index);
  const parsed = clean ? { success: true as const, data: clean } : subjectSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      subject: null,
      errors: parsed.error.issues.map((i) => ({
        subject: label,
        field: path(i.path) || '(subject)',
        message: i.message,
      })),
    };
  }
  const subject = parsed.data as SubjectInput;
  const errors = missingFacts(subject.facts, required[subject.kind]).map((field) => ({
    subject: label,
    field,
    message: 'missing (the policy reads this fact)',
  }));
  return errors.length ? { subject: null, errors } : { subject, errors: [] };
}

/** A plain object without an own `__proto__` key (which zod's copy would turn into a prototype). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(value, '__proto__');
}

/**
 * The subject zod would output, for input already in that shape (what the engine builds
 * for every person and team it evaluates), else null and zod decides. Nested records are
 * shared, not copied: evaluation only reads them. A property test holds it equal to zod.
 */
export function cleanSubject(raw: unknown): SubjectInput | null {
  if (!isPlainObject(raw)) return null;
  const { kind, id, attributes, facts } = raw;
  if ((kind !== 'person' && kind !== 'team') || typeof id !== 'string' || id === '') return null;
  if (attributes !== undefined && !isPlainObject(attributes)) return null;
  if (facts !== undefined) {
    if (!isPlainObject(facts)) return null;
    for (const window of Object.keys(facts)) {
      const values = facts[window];
      if (!isPlainObject(values)) return null;
      for (const name of Object.keys(values)) {
        const value = values[name];
        if (typeof value !== 'number' || !(value >= 0) || value === Infinity) return null;
      }
    }
  }
  return {
    kind,
    id,
    attributes: attributes ?? {},
    facts: (facts ?? {}) as FactsByWindow,
  };
}

/** Fields `facts.<window>.<fact>` the policy needs and the input lacks. */
export function missingFacts(facts: FactsByWindow, required: Requirements): string[] {
  const missing: string[] = [];
  for (const [window, names] of sortedRequirements(required)) {
    // a detector's daily series: a day not given is a day without use
    if (parseDaysAgo(window) !== null) continue;
    for (const name of names) {
      // a measure nobody observed is 0, not missing: outcomes need not carry every measure
      if (facts[window]?.[name] === undefined && parseMeasureFact(name) === null)
        missing.push(`facts.${window}.${name}`);
    }
  }
  return missing;
}

// requirements are fixed per rule set: sorted once, not once per subject (20,000 per board)
const sorted = new WeakMap<Requirements, [string, string[]][]>();
function sortedRequirements(required: Requirements): [string, string[]][] {
  let list = sorted.get(required);
  if (!list) {
    list = [...required]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([window, names]) => [window, [...names].sort()]);
    sorted.set(required, list);
  }
  return list;
}
