// Starts `quotient lsp` for .policy files: diagnostics, hover, completion, definition,
// references, rename, symbols, formatting and quick fixes all come from the server.
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration('quotient')
    .get('command', ['npx', 'quotient', 'lsp', '--stdio']);
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const run = { command, args, transport: TransportKind.stdio, options: { cwd, shell: true } };
  client = new LanguageClient(
    'quotient',
    'Quotient policy',
    { run, debug: run },
    { documentSelector: [{ scheme: 'file', language: 'quotient-policy' }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client?.stop();
}

module.exports = { activate, deactivate };
