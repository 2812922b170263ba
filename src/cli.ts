// The `quotient` command. Each command group registers itself from src/cli/.
import { Command } from 'commander';
import { registerKeysCommands } from './cli/keys.ts';
import { registerPolicyCheckCommands } from './cli/policy-check.ts';
import { registerPolicyEvalCommands } from './cli/policy-eval.ts';
import { registerPolicyReviewCommands } from './cli/policy-review.ts';
import { registerServeCommand } from './cli/serve.ts';
import { registerStoreCommands } from './cli/store.ts';
import { registerWebhookCommands } from './cli/webhooks.ts';

const program = new Command('quotient')
  .description('Quotient: outcome-weighted AI usage governance')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander usage errors exit 2, like other Unix tools; help and version exit 0
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

const policy = program.command('policy').description('author, check and review .policy files');
registerPolicyCheckCommands(policy);
registerPolicyEvalCommands(policy);
registerPolicyReviewCommands(policy);

registerStoreCommands(program);
registerServeCommand(program);
registerKeysCommands(program);
registerWebhookCommands(program);

await program.parseAsync(process.argv);
