// `quotient lsp`: the policy language server on standard input and output, for editors.
import type { Command } from 'commander';

export function registerLspCommand(program: Command): void {
  program
    .command('lsp')
    .description('run the policy language server over standard input and output (for editors)')
    .option('--stdio', 'talk over standard input and output (the default; editors pass it)')
    .action(async () => {
      const { createConnection, ProposedFeatures } = await import('vscode-languageserver/node.js');
      const { startLanguageServer } = await import('../lsp/server.ts');
      startLanguageServer(createConnection(ProposedFeatures.all, process.stdin, process.stdout));
    });
}
