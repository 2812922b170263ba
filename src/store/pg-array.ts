// PostgreSQL array literals for bulk parameters (`$1::text[]`). The pg driver escapes array
// elements one by one through several generic helpers; for the loader's thousands of values
// per statement, writing the literal directly costs a fraction of that.

const NEEDS_ESCAPE = /[\\"]/;

/** `{"a","b",NULL}`: every element quoted, so commas, braces and spaces need no care. */
export function textArray(values: readonly (string | null)[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) literal += ',';
    if (value === null) literal += 'NULL';
    else if (NEEDS_ESCAPE.test(value)) literal += `"${value.replace(/[\\"]/g, '\\$&')}"`;
    else literal += `"${value}"`;
  }
  return `${literal}}`;
}

/** `{1,2,NULL}` for integers, or exact numeric text such as `123e-12`. */
export function numberArray(values: readonly (number | bigint | string | null)[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) literal += ',';
    literal += value === null ? 'NULL' : String(value);
  }
  return `${literal}}`;
}
