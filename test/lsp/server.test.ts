// Drives the policy language server over its protocol, as an editor would: a JSON-RPC
// client on one side of a pair of streams, the real server on the other; and once over
// the standard input and output of `quotient lsp`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMessageConnection,
  type MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node.js';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node.js';
import type {
  CodeAction,
  CompletionItem,
  Diagnostic,
  DocumentSymbol,
  Hover,
  Location,
  PublishDiagnosticsParams,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { startLanguageServer } from '../../src/lsp/server.ts';

const root = join(import.meta.dirname, '..', '..');
const URI = 'file:///work/acme.policy';

const TEXT = `policy "acme" version "1"
currency USD
class economy "Routine tasks"
model "gpt-4o-mini" class economy price { input 0.15 output 0.60 }
metric acceptance "Acceptance rate" = accepted / max(tasks, 1)
metric value = acceptance * 100
tier baseline "Everyone" { limit 2M tokens per month  models economy }
assign baseline otherwise
test "everyone is baseline" {
  given person "ana" facts { tasks 2 accepted 1 }
  expect tier baseline
  expect metric acceptance between 0.4 and 0.6
}
`;

let client: MessageConnection;
const published: PublishDiagnosticsParams[] = [];

function waitForDiagnostics(version: number): Promise<Diagnostic[]> {
  return new Promise((resolve) => {
    const poll = () => {
      const hit = published.find((p) => p.uri === URI && p.version === version);
      if (hit) resolve(hit.diagnostics);
      else setTimeout(poll, 5);
    };
    poll();
  });
}

let version = 0;
async function open(text: string): Promise<Diagnostic[]> {
  version++;
  if (version === 1) {
    await client.sendNotification('textDocument/didOpen', {
      textDocument: { uri: URI, languageId: 'quotient-policy', version, text },
    });
  } else {
    await client.sendNotification('textDocument/didChange', {
      textDocument: { uri: URI, version },
      contentChanges: [{ text }],
    });
  }
  return waitForDiagnostics(version);
}

/** Line and character of the n-th occurrence of `needle` (plus `shift` characters). */
function at(text: string, needle: string, shift = 0, n = 0) {
  let offset = -1;
  for (let i = 0; i <= n; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`not found: ${needle}`);
  return TextDocument.create(URI, 'x', 0, text).positionAt(offset + shift);
}

beforeAll(async () => {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  startLanguageServer(
    createConnection(
      ProposedFeatures.all,
      new StreamMessageReader(toServer),
      new StreamMessageWriter(toClient),
    ),
  );
  client = createMessageConnection(
    new StreamMessageReader(toClient),
    new StreamMessageWriter(toServer),
  );
  client.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    published.push(p);
  });
  client.listen();
  const init = await client.sendRequest('initialize', {
    processId: null,
    rootUri: null,
    capabilities: {},
  });
  expect((init as { capabilities: { hoverProvider: boolean } }).capabilities.hoverProvider).toBe(
    true,
  );
  await client.sendNotification('initialized', {});
});

afterAll(() => client.dispose());

describe('policy language server', () => {
  it('publishes no diagnostics for a clean policy', async () => {
    expect(await open(TEXT)).toEqual([]);
  });

  it('publishes syntax and checker problems together, with codes and hints', async () => {
    const broken = TEXT.replace('max(tasks, 1)', 'max(taks, 1)').replace(
      'tier baseline "Everyone" {',
      'tier baseline "Everyone"',
    );
    const diagnostics = await open(broken);
    expect(diagnostics.map((d) => [d.code, d.range.start.line, d.severity])).toEqual([
      ['Q3001', 4, 1],
      ['Q2001', 6, 1],
    ]);
    expect(diagnostics[0].message).toContain('did you mean `tasks`?');
    expect(diagnostics[0].source).toBe('quotient');
    expect(diagnostics[0].range).toEqual({
      start: at(broken, 'taks'),
      end: at(broken, 'taks', 4),
    });
  });

  it('offers the did-you-mean hint as a quick fix', async () => {
    const broken = TEXT.replace('max(tasks, 1)', 'max(taks, 1)');
    const diagnostics = await open(broken);
    const actions = (await client.sendRequest('textDocument/codeAction', {
      textDocument: { uri: URI },
      range: diagnostics[0].range,
      context: { diagnostics },
    })) as CodeAction[];
    expect(actions).toHaveLength(1);
    expect(actions[0].title).toBe('Replace with `tasks`');
    expect(actions[0].edit?.changes?.[URI]).toEqual([
      { range: diagnostics[0].range, newText: 'tasks' },
    ]);
  });

  it('hovers a metric with its formula and unit, a fact with its meaning, a model with its prices', async () => {
    await open(TEXT);
    const hover = async (needle: string, n = 0) =>
      (
        (await client.sendRequest('textDocument/hover', {
          textDocument: { uri: URI },
          position: at(TEXT, needle, 1, n),
        })) as Hover
      ).contents as { value: string };
    const metric = await hover('acceptance', 1);
    expect(metric.value).toContain('**metric** `acceptance` Acceptance rate');
    expect(metric.value).toContain('acceptance = accepted / max(tasks, 1)');
    expect(metric.value).toContain('unit: dimensionless');
    expect((await hover('accepted /')).value).toContain('outcomes accepted');
    const model = await hover('gpt-4o-mini');
    expect(model.value).toContain('prices per 1M tokens: input 0.15, output 0.60');
  });

  it('completes in context: classes after models, tiers after assign, names in formulas, keywords at a line start', async () => {
    await open(TEXT);
    const complete = async (line: number, character: number) =>
      (
        (await client.sendRequest('textDocument/completion', {
          textDocument: { uri: URI },
          position: { line, character },
        })) as CompletionItem[]
      ).map((c) => c.label);
    const withLine = async (extra: string) => {
      const text = `${TEXT}${extra}`;
      await open(text);
      const lines = text.split('\n');
      return complete(lines.length - 1, lines[lines.length - 1].length);
    };
    expect(await withLine('tier power { limit 10M tokens per month  models ')).toEqual([
      'economy',
      'any',
    ]);
    expect(await withLine('assign ')).toEqual(['baseline']);
    const formula = await withLine('metric x = ');
    expect(formula).toContain('acceptance');
    expect(formula).toContain('tokens');
    expect(formula).toContain('log10');
    expect(await withLine('esc')).toContain('escalation');
    expect(await withLine('rule r {\n  detect ')).toEqual([
      'deviation',
      'task_splitting',
      'retry_loop',
      'period_end_burst',
    ]);
  });

  it('goes to the definition, finds references and renames them all', async () => {
    await open(TEXT);
    const position = at(TEXT, 'acceptance * 100');
    const definition = (await client.sendRequest('textDocument/definition', {
      textDocument: { uri: URI },
      position,
    })) as Location;
    expect(definition.range.start).toEqual(at(TEXT, 'acceptance "Acceptance'));
    const references = (await client.sendRequest('textDocument/references', {
      textDocument: { uri: URI },
      position,
      context: { includeDeclaration: true },
    })) as Location[];
    expect(references.map((r) => r.range.start.line)).toEqual([4, 5, 11]);
    const rename = (await client.sendRequest('textDocument/rename', {
      textDocument: { uri: URI },
      position,
      newName: 'acceptance_rate',
    })) as WorkspaceEdit;
    const edited = TextDocument.applyEdits(
      TextDocument.create(URI, 'quotient-policy', 1, TEXT),
      rename.changes?.[URI] ?? [],
    );
    expect(edited).toContain('metric acceptance_rate "Acceptance rate" =');
    expect(edited).toContain('metric value = acceptance_rate * 100');
    expect(edited).toContain('expect metric acceptance_rate between');
    expect(await open(edited)).toEqual([]);
  });

  it('lists document symbols and formats the document', async () => {
    await open(TEXT);
    const symbols = (await client.sendRequest('textDocument/documentSymbol', {
      textDocument: { uri: URI },
    })) as DocumentSymbol[];
    expect(symbols.map((s) => s.name)).toEqual([
      'economy',
      'gpt-4o-mini',
      'acceptance',
      'value',
      'baseline',
      'everyone is baseline',
    ]);
    const messy = TEXT.replace('metric value = acceptance * 100', 'metric   value=acceptance*100');
    await open(messy);
    const edits = (await client.sendRequest('textDocument/formatting', {
      textDocument: { uri: URI },
      options: { tabSize: 2, insertSpaces: true },
    })) as TextEdit[];
    const formatted = TextDocument.applyEdits(TextDocument.create(URI, 'x', 1, messy), edits);
    expect(formatted).toContain('metric value                        = acceptance * 100');
    expect(formatted).not.toContain('metric   value');
  });
});

describe('quotient lsp', () => {
  it('answers initialize and shuts down over standard input and output', async () => {
    const child = spawn(process.execPath, [join(root, 'src', 'cli.ts'), 'lsp', '--stdio'], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    connection.listen();
    const init = (await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
    })) as { serverInfo: { name: string } };
    expect(init.serverInfo.name).toBe('quotient-policy');
    await connection.sendRequest('shutdown');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await connection.sendNotification('exit');
    expect(await exited).toBe(0);
    connection.dispose();
  });
});
