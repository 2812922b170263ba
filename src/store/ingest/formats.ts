// The import formats, without the parsers: the command line names them before it hands the
// work to the import worker, and should not load CSV and document parsers to do so.
// read.ts takes its format type from here.

export const IMPORT_FORMATS = [
  'native',
  'csv',
  'otlp',
  'litellm',
  'anthropic',
  'openai',
  'claude-code',
] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Whether rows of this format are numbered by file line (else by record in the document). */
export function numbersFileLines(format: ImportFormat, path: string): boolean {
  return format === 'native' || format === 'csv' || (format === 'litellm' && path.endsWith('.csv'));
}
