// Reading import files as batches of rows. Line formats (native JSONL, CSV, LiteLLM CSV)
// stream with flat memory; JSON documents (API pages: OTLP, Anthropic, OpenAI, Claude Code,
// LiteLLM JSON) are parsed whole, or one document per line for multi-page files.

import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { anthropicUsageToRows } from './anthropic.ts';
import { claudeCodeToRows } from './claude-code.ts';
import { csvRecordToRow } from './csv.ts';
import type { ImportFormat } from './formats.ts';
import { MAX_LINE_BYTES, printable } from './limits.ts';
import { litellmLogToNative, litellmToRows } from './litellm.ts';
import type { IngestRow } from './native.ts';
import { openaiUsageToRows } from './openai.ts';
import { otlpDocumentToRows, type PersonFallback } from './otlp.ts';

export type Format = ImportFormat;

export type ReadOptions = {
  batchSize: number;
  /** Called with the total bytes read so far (for progress bars). */
  onBytes?: (bytes: number) => void;
  /** OTLP spans with no person attribute (the otlp-fallback-person setting) */
  otlpPersonFallback?: PersonFallback;
};

const DOCUMENT_MAPPERS: Record<string, (body: unknown, options: ReadOptions) => IngestRow[]> = {
  otlp: (body, options) => otlpDocumentToRows(body, { personFallback: options.otlpPersonFallback }),
  anthropic: anthropicUsageToRows,
  openai: openaiUsageToRows,
  'claude-code': claudeCodeToRows,
  litellm: litellmToRows,
};

export async function* readBatches(
  path: string,
  format: Format,
  options: ReadOptions,
): AsyncGenerator<IngestRow[]> {
  if (format === 'native') yield* readJsonLines(path, options, (data, line) => ({ line, data }));
  else if (format === 'csv') yield* readCsv(path, options, csvRecordToRow);
  else if (format === 'litellm' && path.endsWith('.csv')) {
    yield* readCsv(path, options, (record, line) => {
      const data = litellmLogToNative(record);
      return data ? { line, data } : null;
    });
  } else yield* readDocuments(path, options, DOCUMENT_MAPPERS[format]);
}

/**
 * Lines of a file with backpressure: the next block is read only when the consumer asks
 * for more lines (node:readline's iterator reads ahead and buffers a whole fast file).
 * A line that is not UTF-8, or longer than MAX_LINE_BYTES, arrives as its error instead
 * (the same words as the native reader's).
 */
async function* fileLines(
  path: string,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<string | { error: string }> {
  let rest: Buffer = Buffer.alloc(0);
  let skipping = false;
  let bytes = 0;
  for await (const block of createReadStream(path, {
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    bytes += block.length;
    onBytes?.(bytes);
    const data = rest.length > 0 ? Buffer.concat([rest, block]) : block;
    let start = 0;
    let newline = data.indexOf(NEWLINE);
    if (skipping) {
      if (newline < 0) continue;
      skipping = false;
      yield { error: TOO_LONG };
      start = newline + 1;
      newline = data.indexOf(NEWLINE, start);
    }
    while (newline >= 0) {
      yield decodeLine(data, start, newline);
      start = newline + 1;
      newline = data.indexOf(NEWLINE, start);
    }
    rest = data.subarray(start);
    if (rest.length >= MAX_LINE_BYTES) {
      skipping = true;
      rest = Buffer.alloc(0);
    }
  }
  if (skipping) yield { error: TOO_LONG };
  else if (rest.length > 0) yield decodeLine(rest, 0, rest.length);
}

const NEWLINE = 10;
const TOO_LONG = `the line is longer than ${MAX_LINE_BYTES} bytes; skipped`;

function decodeLine(data: Buffer, start: number, end: number): string | { error: string } {
  if (end > start && data[end - 1] === 13) end--;
  if (end - start >= MAX_LINE_BYTES) return { error: TOO_LONG };
  const text = data.toString('utf8', start, end);
  if (text.includes('\uFFFD') && !isUtf8(data.subarray(start, end)))
    return { error: 'not valid UTF-8: the line holds bytes that are not UTF-8 text' };
  return text;
}

async function* readJsonLines(
  path: string,
  options: ReadOptions,
  toRow: (data: unknown, line: number) => IngestRow,
): AsyncGenerator<IngestRow[]> {
  let batch: IngestRow[] = [];
  let line = 0;
  for await (const text of fileLines(path, options.onBytes)) {
    line++;
    if (typeof text !== 'string') {
      batch.push({ line, error: text.error });
    } else {
      if (text.trim() === '') continue;
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        batch.push({ line, error: `unparsable JSON: ${printable((error as Error).message)}` });
      }
      if (data !== undefined) batch.push(toRow(data, line));
    }
    if (batch.length >= options.batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Records of a CSV file, numbered by line. The parser hands over raw bytes, so a field
 * that is not UTF-8 is rejected with its column. A record with more or fewer fields than
 * the header is rejected. A record the parser cannot read (an unclosed quote, a record
 * over MAX_LINE_BYTES) becomes an error row, and reading goes on where the parser can.
 */
async function* readCsv(
  path: string,
  options: ReadOptions,
  /** null: the record is not data (a LiteLLM cache hit or failed call) and is skipped */
  toRow: (record: Record<string, string>, line: number) => IngestRow | null,
): AsyncGenerator<IngestRow[]> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  stream.on('data', () => options.onBytes?.(stream.bytesRead));
  const skipped: IngestRow[] = [];
  const parser = parse({
    // fields as bytes: decoded and checked here
    encoding: null as unknown as BufferEncoding,
    info: true,
    skip_empty_lines: true,
    relax_column_count: true,
    // a UTF-8 byte order mark is dropped from the header below (the parser's own BOM
    // handling switches it to decoded strings)
    bom: false,
    max_record_size: MAX_LINE_BYTES,
    skip_records_with_error: true,
    // the line the parser last finished a record on: an unclosed quote opened after it
    on_record: (record, context) => {
      lastRecordLine = context.lines;
      return record;
    },
  });
  let lastRecordLine = 0;
  parser.on('skip', (error: Error & { lines?: number; code?: string }) => {
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      // the parser names the file's last line; the quote opened on the record after the last read
      skipped.push({
        line: lastRecordLine + 1,
        error: `unreadable CSV: a quote opened on this line never closes (lines ${lastRecordLine + 1} to ${error.lines ?? '?'} are inside it, and were skipped)`,
      });
      return;
    }
    skipped.push({ line: error.lines ?? 0, error: `unreadable CSV: ${printable(error.message)}` });
  });
  stream.on('error', (error) => parser.destroy(error));
  stream.pipe(parser);
  let header: string[] | null = null;
  let batch: IngestRow[] = [];
  for await (const item of parser as AsyncIterable<{ record: Buffer[]; info: { lines: number } }>) {
    if (skipped.length > 0) batch.push(...skipped.splice(0));
    const line = item.info.lines;
    const fields: string[] = [];
    let bad: string | null = null;
    for (let i = 0; i < item.record.length; i++) {
      const bytes = item.record[i];
      if (!isUtf8(bytes)) {
        bad = `${header?.[i] ?? `column ${i + 1}`}: not valid UTF-8`;
        break;
      }
      fields.push(bytes.toString('utf8'));
    }
    if (header === null) {
      if (bad) {
        batch.push({ line, error: `the header ${bad}` });
        break;
      }
      header = fields.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f).trim());
      continue;
    }
    if (bad) batch.push({ line, error: bad });
    else if (fields.length !== header.length) {
      batch.push({
        line,
        error: `the row has ${fields.length} fields but the header has ${header.length} columns`,
      });
    } else {
      const record: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) record[header[i]] = fields[i];
      const row = toRow(record, line);
      if (row) batch.push(row);
    }
    if (batch.length >= options.batchSize) {
      yield batch;
      batch = [];
    }
  }
  batch.push(...skipped.splice(0));
  if (batch.length > 0) yield batch;
}

async function* readDocuments(
  path: string,
  options: ReadOptions,
  map: (body: unknown, options: ReadOptions) => IngestRow[],
): AsyncGenerator<IngestRow[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(path, 'utf8');
  options.onBytes?.(Buffer.byteLength(text));
  let documents: unknown[];
  try {
    documents = [JSON.parse(text)];
  } catch {
    // several pages, one JSON document per line
    documents = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      try {
        documents.push(JSON.parse(lines[i]));
      } catch (error) {
        yield [
          {
            line: i + 1,
            error: `unparsable JSON document on line ${i + 1}: ${printable((error as Error).message)}`,
          },
        ];
      }
    }
  }
  let offset = 0;
  for (const [index, document] of documents.entries()) {
    let mapped: IngestRow[];
    try {
      mapped = map(document, options);
    } catch (error) {
      // a document of the right format but the wrong shape: reported, the others go on
      yield [
        {
          line: offset + 1,
          error: `document ${index + 1} does not have the expected shape: ${printable((error as Error).message)}`,
        },
      ];
      continue;
    }
    const rows = mapped.map((row) => ({ ...row, line: row.line + offset }));
    offset = rows.reduce((max, row) => Math.max(max, row.line), offset);
    for (let i = 0; i < rows.length; i += options.batchSize)
      yield rows.slice(i, i + options.batchSize);
  }
}
