// Reading import files as batches of rows. Line formats (native JSONL, CSV, LiteLLM CSV)
// stream with flat memory; JSON documents (API pages: OTLP, Anthropic, OpenAI, Claude Code,
// LiteLLM JSON) are parsed whole, or one document per line for multi-page files.
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import { anthropicUsageToRows } from './anthropic.ts';
import { claudeCodeToRows } from './claude-code.ts';
import { csvRecordToRow } from './csv.ts';
import type { ImportFormat } from './formats.ts';
import { litellmLogToNative, litellmToRows } from './litellm.ts';
import type { IngestRow } from './native.ts';
import { openaiUsageToRows } from './openai.ts';
import { otlpToRows } from './otlp.ts';

export type Format = ImportFormat;

export type ReadOptions = {
  batchSize: number;
  /** Called with the total bytes read so far (for progress bars). */
  onBytes?: (bytes: number) => void;
};

const DOCUMENT_MAPPERS: Record<string, (body: unknown) => IngestRow[]> = {
  otlp: otlpToRows,
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
    yield* readCsv(path, options, (record, line) => ({ line, data: litellmLogToNative(record) }));
  } else yield* readDocuments(path, options, DOCUMENT_MAPPERS[format]);
}

/**
 * Lines of a file with backpressure: the next block is read only when the consumer asks
 * for more lines (node:readline's iterator reads ahead and buffers a whole fast file).
 */
async function* fileLines(path: string, onBytes?: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let bytes = 0;
  for await (const block of createReadStream(path, {
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    bytes += block.length;
    onBytes?.(bytes);
    const text = rest + decoder.write(block);
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  rest += decoder.end();
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
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
    if (text.trim() === '') continue;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      batch.push({ line, error: `unparsable JSON: ${(error as Error).message}` });
      continue;
    }
    batch.push(toRow(data, line));
    if (batch.length >= options.batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function* readCsv(
  path: string,
  options: ReadOptions,
  toRow: (record: Record<string, string>, line: number) => IngestRow,
): AsyncGenerator<IngestRow[]> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  stream.on('data', () => options.onBytes?.(stream.bytesRead));
  const parser = stream.pipe(
    parse({
      columns: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      bom: true,
    }),
  );
  let batch: IngestRow[] = [];
  for await (const item of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    batch.push(toRow(item.record, item.info.lines));
    if (batch.length >= options.batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function* readDocuments(
  path: string,
  options: ReadOptions,
  map: (body: unknown) => IngestRow[],
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
            error: `unparsable JSON document on line ${i + 1}: ${(error as Error).message}`,
          },
        ];
      }
    }
  }
  let offset = 0;
  for (const document of documents) {
    const rows = map(document).map((row) => ({ ...row, line: row.line + offset }));
    offset = rows.reduce((max, row) => Math.max(max, row.line), offset);
    for (let i = 0; i < rows.length; i += options.batchSize)
      yield rows.slice(i, i + options.batchSize);
  }
}
