// The `quotient` program. Each command group registers itself from src/cli/. Groups load
// lazily: `policy check` should not pay for the GraphQL server and the ORM at start-up.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Command as Program } from 'commander';
import { applyEnvAliases, settingOption } from '../config.ts';

/** The version in package.json (`quotient --version`, SARIF reports). */
export function quotientVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

type Group = {
  /** `policy` groups hang under the `policy` command; the others under the program */
  parent: 'program' | 'policy';
  commands: readonly string[];
  register: () => Promise<(parent: Command) => void>;
};

const GROUPS: readonly Group[] = [
  {
    parent: 'policy',
    commands: ['check', 'fmt'],
    register: async () => (await import('./policy-check.ts')).registerPolicyCheckCommands,
  },
  {
    parent: 'policy',
    commands: ['compile', 'eval', 'test'],
    register: async () => (await import('./policy-eval.ts')).registerPolicyEvalCommands,
  },
  {
    parent: 'policy',
    commands: ['publish', 'activate', 'log', 'diff', 'impact'],
    register: async () => (await import('./policy-review.ts')).registerPolicyReviewCommands,
  },
  {
    parent: 'program',
    commands: ['migrate', 'import', 'seed', 'retention'],
    register: async () => (await import('./store.ts')).registerStoreCommands,
  },
  {
    parent: 'program',
    commands: ['reprice'],
    register: async () => (await import('./pricing.ts')).registerPricingCommands,
  },
  {
    parent: 'program',
    commands: ['pull'],
    register: async () => (await import('./pull.ts')).registerPullCommand,
  },
  {
    parent: 'program',
    commands: ['lsp'],
    register: async () => (await import('./lsp.ts')).registerLspCommand,
  },
  {
    parent: 'program',
    commands: ['serve'],
    register: async () => (await import('./serve.ts')).registerServeCommand,
  },
  {
    parent: 'program',
    commands: ['backup', 'restore'],
    register: async () => (await import('./backup.ts')).registerBackupCommands,
  },
  {
    parent: 'program',
    commands: ['keys'],
    register: async () => (await import('./keys.ts')).registerKeysCommands,
  },
  {
    parent: 'program',
    commands: ['config'],
    register: async () => (await import('./config.ts')).registerConfigCommand,
  },
  {
    parent: 'program',
    commands: ['webhooks'],
    register: async () => (await import('./webhooks.ts')).registerWebhookCommands,
  },
  {
    parent: 'program',
    commands: ['explain'],
    register: async () => (await import('./explain.ts')).registerExplainCommand,
  },
  {
    parent: 'program',
    commands: ['report'],
    register: async () => (await import('./report.ts')).registerReportCommands,
  },
  {
    parent: 'program',
    commands: ['audit'],
    register: async () => (await import('./audit.ts')).registerAuditCommand,
  },
];

/** The groups this invocation needs: the named command's group, or all of them for help. */
function groupsFor(argv: readonly string[]): readonly Group[] {
  const words = argv.filter((a) => !a.startsWith('-'));
  const [first, second] = words;
  const wanted =
    first === 'policy'
      ? GROUPS.filter((g) => g.parent === 'policy' && g.commands.includes(second ?? ''))
      : GROUPS.filter((g) => g.parent === 'program' && g.commands.includes(first ?? ''));
  return wanted.length > 0 ? wanted : GROUPS;
}

/**
 * The `quotient` program with the command groups `argv` needs registered; `'all'` registers
 * every group (for help and the generated command reference).
 */
export async function buildProgram(argv: readonly string[] | 'all'): Promise<Command> {
  // DATABASE_URL, PORT, HOST and LOG_LEVEL stand for their QUOTIENT_ names when those are unset
  applyEnvAliases();
  const program = new Program('quotient')
    .description('Quotient: outcome-weighted AI usage governance')
    .version(quotientVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander usage errors exit 2, like other Unix tools; help and version exit 0
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  const policy = program.command('policy').description('author, check and review .policy files');

  for (const group of argv === 'all' ? GROUPS : groupsFor(argv)) {
    (await group.register())(group.parent === 'policy' ? policy : program);
  }
  // every command that opens the database takes the server URL as well as the directory
  const withDatabase = (command: Command) => {
    if (
      command.options.some((o) => o.long === '--data-dir') &&
      !command.options.some((o) => o.long === '--database-url')
    )
      command.addOption(settingOption('database-url'));
    for (const sub of command.commands) withDatabase(sub);
  };
  withDatabase(program);
  return program;
}
