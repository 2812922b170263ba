// Which import format a file holds, when `quotient import` is not told: from the extension
// first (a .csv is CSV), then from the first bytes of the content (telling keys of each
// vendor's JSON). Reads at most SNIFF_BYTES.
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ImportFormat } from './formats.ts';

const SNIFF_BYTES = 64 * 1024;

/** Keys (as they appear in JSON text) that only one document format uses, checked in order. */
const DOCUMENT_MARKS: [ImportFormat, RegExp][] = [
  ['otlp', /"resourceSpans"\s*:/],
  ['openai', /"organization\.usage\.completions\.result"|"input_cached_tokens"\s*:/],
  ['anthropic', /"uncached_input_tokens"\s*:/],
  ['claude-code', /"model_breakdown"\s*:|"core_metrics"\s*:/],
];

const LITELLM_COLUMNS = /(^|,)\s*"?request_id"?\s*(,|$)/;

export type Sniffed = { format: ImportFormat; because: string };

export async function sniffFormat(path: string): Promise<Sniffed> {
  const file = await open(path, 'r');
  let head: string;
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await file.read(buffer, 0, SNIFF_BYTES, 0);
    head = buffer.toString('utf8', 0, bytesRead).replace(/^\uFEFF/, '');
  } finally {
    await file.close();
  }
  const firstLine = head.split('\n', 1)[0] ?? '';
  const extension = extname(path).toLowerCase();
  if (extension === '.csv' || extension === '.tsv') {
    if (LITELLM_COLUMNS.test(firstLine) && /startTime/.test(firstLine))
      return { format: 'litellm', because: 'a .csv file with LiteLLM spend-log columns' };
    return { format: 'csv', because: 'a .csv file' };
  }
  const start = head.trimStart();
  if (start.startsWith('{') || start.startsWith('[')) {
    for (const [format, mark] of DOCUMENT_MARKS) {
      if (mark.test(head))
        return { format, because: `its JSON holds ${mark.source.split('"')[1]}` };
    }
    if (/"request_id"\s*:/.test(head) && /"startTime"\s*:/.test(head))
      return { format: 'litellm', because: 'its JSON holds LiteLLM spend-log fields' };
    return { format: 'native', because: 'JSON lines' };
  }
  if (start === '') return { format: 'native', because: 'an empty file' };
  // text that is not JSON: a header line with commas is CSV
  if (firstLine.includes(',')) {
    if (LITELLM_COLUMNS.test(firstLine) && /startTime/.test(firstLine))
      return { format: 'litellm', because: 'a CSV header with LiteLLM spend-log columns' };
    return { format: 'csv', because: 'a CSV header line' };
  }
  return { format: 'native', because: 'no other format matched' };
}
