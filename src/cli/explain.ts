// `quotient explain <person>`: a stored person's tier, quota, steps, rules and scores under
// the active policy, with the facts and rule behind each (src/app/explain.ts). The local
// operator holds the data directory, so it reads as governance; the read is audited.
import type { Command } from 'commander';
import { apiEntities } from '../api/entities.ts';
import { auditFor } from '../app/audit.ts';
import { DomainError } from '../app/errors.ts';
import { explainFor, type PersonExplanation } from '../app/explain.ts';
import {
  boardLines,
  budgetLines,
  numberText,
  quotaLines,
  ruleLines,
  stepLines,
  tierLines,
} from '../policy/evaluate/explain-text.ts';
import { formatOption } from './output.ts';
import { dataDirOption, type StoreFlags, withStore } from './store-options.ts';

const LOCAL = {
  keyId: 'local',
  name: 'quotient explain',
  role: 'governance' as const,
  person: null,
};

type ExplainFlags = StoreFlags & { board?: string; window?: string; format: 'text' | 'json' };

export function explanationText(x: PersonExplanation): string {
  const r = x.result;
  const when = x.window
    ? `at the end of ${x.window.label} (${x.window.from} to ${x.window.to}), ${x.evaluatedAt}`
    : `now, ${x.evaluatedAt}`;
  const out = [
    `${x.person.id}${x.team ? ` (team ${x.team})` : ''}`,
    `under ${[x.policy.name, x.policy.version].filter(Boolean).join(' ')} [${x.policy.hash.slice(0, 12)}], evaluated ${when} (${x.timezone})`,
    '',
    ...tierLines(r.tier),
  ];
  const options = { currency: x.currency, timezone: x.timezone };
  out.push(
    ...(r.quota ? quotaLines(r, options) : ['Quota: none (no tier, or the tier has no limit)']),
  );
  for (const e of x.exceptions)
    out.push(
      `  exception ${e.id}: +${numberText(e.extraTokens ?? 0)} tokens until ${e.expiresAt} (approved by ${e.approver})`,
    );
  if (x.exceptions.length && x.effectiveLimit !== null)
    out.push(`  limit with exceptions: ${numberText(x.effectiveLimit)} tokens`);
  out.push(...budgetLines(x.teamBudgets, { ...options, whose: `Team ${x.team} budget` }));
  out.push(...stepLines(r.escalations), ...ruleLines(r.rules));
  for (const [name, entry] of Object.entries(r.leaderboards)) out.push(...boardLines(name, entry));
  for (const f of r.flags) out.push(`warning: ${f.kind} in ${f.where}: ${f.note}`);
  return `${out.join('\n')}\n`;
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description(
      "explain a stored person's tier, quota band, escalation steps, rules and scores under the active policy",
    )
    .argument('<person>', 'the person id (as in the directory)')
    .option('--board <name>', 'explain only this leaderboard')
    .option(
      '--window <period>',
      'evaluate at the end of this window (2026-Q3, 2026-10, last-month; default: now)',
    )
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(dataDirOption())
    .action(async (person: string, flags: ExplainFlags) => {
      await withStore(
        flags,
        async (store) => {
          try {
            const explanation = await explainFor(store).explain(
              { caller: LOCAL, audit: auditFor(store, LOCAL) },
              { person, board: flags.board ?? null, window: flags.window ?? null },
            );
            process.stdout.write(
              flags.format === 'json'
                ? `${JSON.stringify(explanation, null, 2)}\n`
                : explanationText(explanation),
            );
          } catch (error) {
            if (error instanceof DomainError) {
              console.error(`error: ${error.message}`);
              process.exitCode = error.exitCode;
              return;
            }
            throw error;
          }
        },
        { entities: apiEntities },
      );
    });
}
