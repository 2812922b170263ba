// The VS Code extension cannot run without VS Code here, so this starts the server exactly as
// the extension's client does: the `quotient.command` default from the extension's
// package.json, through a shell, with `--stdio` appended (vscode-languageclient 9 appends it
// for TransportKind.stdio: lib/node/main.js), in the workspace folder. Then it opens a broken
// policy as the editor would and waits for the diagnostics.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node.js';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';

const root = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'editors', 'vscode', 'package.json'), 'utf8'));

describe('the extension launch', () => {
  it('starts `quotient lsp` from the configured command over stdio and publishes diagnostics', async () => {
    const [command, ...args] = manifest.contributes.configuration.properties['quotient.command']
      .default as string[];
    expect([command, ...args]).toEqual(['npx', 'quotient', 'lsp', '--stdio']);
    expect(readFileSync(join(root, 'editors', 'vscode', 'extension.js'), 'utf8')).toContain(
      'transport: TransportKind.stdio',
    );
    const child = spawn(command, [...args, '--stdio'], {
      cwd: root,
      shell: true,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const published = new Promise<PublishDiagnosticsParams>((resolve) =>
      connection.onNotification('textDocument/publishDiagnostics', resolve),
    );
    connection.listen();
    const init = (await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: `file://${root}`,
      capabilities: {},
    })) as { capabilities: Record<string, unknown> };
    for (const feature of [
      'hoverProvider',
      'completionProvider',
      'definitionProvider',
      'documentFormattingProvider',
    ])
      expect(init.capabilities[feature], feature).toBeTruthy();
    await connection.sendNotification('initialized', {});
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: {
        uri: `file://${root}/scratch.policy`,
        languageId: 'quotient-policy',
        version: 1,
        text: 'policy "x" version "1"\nmetric m = tokns / 2\n',
      },
    });
    const diagnostics = await published;
    expect(diagnostics.diagnostics.some((d) => /tokns/.test(d.message))).toBe(true);
    await connection.sendRequest('shutdown');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await connection.sendNotification('exit');
    expect(await exited).toBe(0);
    connection.dispose();
  }, 120_000);
});
