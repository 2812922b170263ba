// Native CSV: the JSONL field names as column headers. Values arrive as text, so numbers,
// booleans and the attributes JSON are converted before validation.
import type { IngestRow } from './native.ts';

const NUMERIC = new Set([
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'requests',
  'minutes_saved',
]);
const BOOLEAN = new Set(['opted_in']);

export function csvRecordToRow(record: Record<string, string>, line: number): IngestRow {
  const data: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(record)) {
    const value = raw.trim();
    if (value === '') continue;
    if (key.startsWith('measure.')) {
      // `measure.review_score` columns: an outcome's measures, one column each
      const parsed = Number(value);
      data.measures ??= {};
      const measures = data.measures as Record<string, unknown>;
      measures[key.slice('measure.'.length)] = Number.isNaN(parsed) ? value : parsed;
    } else if (NUMERIC.has(key)) {
      const parsed = Number(value);
      data[key] = Number.isNaN(parsed) ? value : parsed;
    } else if (BOOLEAN.has(key)) {
      data[key] = /^(true|yes|1)$/i.test(value)
        ? true
        : /^(false|no|0)$/i.test(value)
          ? false
          : value;
    } else if (key === 'attributes') {
      try {
        data[key] = JSON.parse(value);
      } catch {
        return { line, error: `attributes: not valid JSON: ${value}` };
      }
    } else {
      data[key] = value;
    }
  }
  // a CSV without a type column holds usage rows
  if (!('type' in record)) data.type = 'usage';
  return { line, data };
}
