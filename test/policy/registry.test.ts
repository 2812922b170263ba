// The construct registry: every phase handles every declaration kind, a new kind fails to
// type-check until it does, and a change in meaning (hash) always shows up in the diff.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { CHECK_PASSES } from '../../src/policy/check/index.ts';
import { compilePolicy } from '../../src/policy/compile/index.ts';
import { CONSTRUCT_DOCS, DECLARATION_KINDS } from '../../src/policy/constructs.ts';
import { diffPolicies, semanticChangeCount } from '../../src/policy/diff/compute.ts';
import { formatPolicy } from '../../src/policy/format.ts';

const root = join(import.meta.dirname, '..', '..');

/** The choices a generated policy is made of; two policies share some and differ in others. */
const choices = {
  currency: fc.constantFrom('USD', 'EUR'),
  timezone: fc.constantFrom('UTC', 'Europe/London'),
  minGroup: fc.integer({ min: 3, max: 6 }),
  identities: fc.constantFrom('masked', 'named'),
  exceptions: fc.constantFrom(
    '',
    'exceptions { max_duration 30d }',
    'exceptions { max_duration 7d }',
  ),
  classLabel: fc.constantFrom('"Frontier"', '"Best models"'),
  opusInput: fc.constantFrom('15.00', '12.00'),
  miniOutput: fc.constantFrom('0.60', '0.80'),
  miniMatches: fc.constantFrom('', 'matches "gpt-4o-mini-*"'),
  batch: fc.constantFrom('', 'batch 50%'),
  acceptance: fc.constantFrom(
    'accepted / max(accepted + rejected, 1)',
    'accepted / max(accepted + rejected + reworked, 1)',
  ),
  perTask: fc.constantFrom('', 'metric tokens_per_task = tokens / max(tasks, 1)'),
  board: fc.constantFrom('', 'quarter', 'month'),
  boardTop: fc.constantFrom('10', '20'),
  boardEligible: fc.constantFrom('tasks >= 5', 'tasks >= 5 and opted_in'),
  baseLimit: fc.constantFrom('2M', '3M'),
  powerModels: fc.constantFrom('economy, premium', 'premium'),
  assignOrder: fc.boolean(),
  teamBudget: fc.constantFrom('2,000', '2,500'),
  sandbox: fc.constantFrom('', 'budget each team environment "sandbox" { 300 USD per month }'),
  orgBudget: fc.constantFrom('', 'budget org { 60,000 USD per quarter }'),
  projectBudget: fc.constantFrom(
    '',
    'budget project "launch" { 4,000 USD per quarter }',
    'budget project "launch" { 5,000 USD per quarter }',
    'budget project "launch" environment "sandbox" { 4,000 USD per quarter }',
  ),
  tokenBudget: fc.constantFrom(
    '',
    'budget each team { 40M tokens per month }',
    'budget each team { 50M tokens per month }',
    'budget project "launch" { 40M tokens per quarter }',
  ),
  pool: fc.constantFrom(
    '',
    'budget pool "ml" teams "platform", "routing" { 4,000 USD per month }',
    'budget pool "ml" teams "platform", "routing" { 5,000 USD per month }',
    'budget pool "ml" teams "platform" { 4,000 USD per month }',
    'budget pool "ml" teams "platform", "routing" { 40M tokens per month }',
  ),
  requestLimit: fc.constantFrom(
    '',
    'request premium { warn above 100k input  block above 400k input }',
    'request premium { warn above 100k input "trim it"  block above 400k input }',
    'request premium { block above 400k input }',
    'request any { warn above 200k input }',
  ),
  steps: fc.subarray(['at 70% notify person', 'at 90% require justification', 'at 120% block'], {
    minLength: 1,
  }),
  forecast: fc.constantFrom('', 'forecast 100% notify manager'),
  rule: fc.constantFrom('', 'high', 'critical'),
  ruleThreshold: fc.constantFrom('0', '2'),
  version: fc.constantFrom('1', '2'),
};
type Choices = {
  [K in keyof typeof choices]: (typeof choices)[K] extends fc.Arbitrary<infer T> ? T : never;
};

function policyText(c: Choices): string {
  const money = (amount: string) => `${amount} ${c.currency} per month`;
  const assigns = [
    'assign power    when role in ["engineer", "data-scientist"]',
    'assign support  when role == "support"',
  ];
  if (c.assignOrder) assigns.reverse();
  return [
    `policy "generated" version "${c.version}"`,
    `currency ${c.currency}`,
    `timezone "${c.timezone}"`,
    `privacy { min_group_size ${c.minGroup}  identities ${c.identities} }`,
    c.exceptions,
    `class premium ${c.classLabel}`,
    'class economy "Routine"',
    `model "claude-opus-4-1" class premium price { input ${c.opusInput} output 75.00 }`,
    `model "gpt-4o-mini" class economy`,
    c.miniMatches ? `  ${c.miniMatches}` : '',
    `  price { input 0.15 output ${c.miniOutput}${c.batch ? ` ${c.batch}` : ''} }`,
    `metric acceptance = ${c.acceptance}`,
    c.perTask,
    c.board
      ? `leaderboard value { subject person window ${c.board} eligible when ${c.boardEligible} score = 100 * acceptance top ${c.boardTop} }`
      : '',
    `tier baseline { limit ${c.baseLimit} tokens per month models economy }`,
    `tier power { limit 10M tokens per month models ${c.powerModels} }`,
    'tier support { limit 1M tokens per month models economy }',
    ...assigns,
    'assign baseline otherwise',
    `budget each team { ${money(c.teamBudget.replace(',', ''))} }`,
    c.sandbox.replace('USD', c.currency),
    c.orgBudget.replace('USD', c.currency),
    c.projectBudget.replace('USD', c.currency),
    c.tokenBudget,
    c.pool.replace('USD', c.currency),
    c.requestLimit,
    `escalation quota { ${[...c.steps, c.forecast].filter(Boolean).join('\n')} }`,
    c.rule
      ? `rule leakage severity ${c.rule} { when redaction_failures within 7d > ${c.ruleThreshold} then notify security }`
      : '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

function compiled(text: string) {
  const { ast, diagnostics } = analyzePolicy(text);
  const result = compilePolicy(ast, diagnostics);
  if (!result.ok) throw new Error(`${text}\n${JSON.stringify(result.diagnostics, null, 2)}`);
  return { ast, ir: result.ir, hash: result.hash };
}

describe('construct registry', () => {
  it('a changed meaning hash always yields a non-empty diff, and an equal one none', () => {
    const record = fc.record(choices);
    const keys = Object.keys(choices) as (keyof Choices)[];
    fc.assert(
      // the second policy takes one or two choices from another: every construct changes alone
      fc.property(
        record,
        record,
        fc.subarray(keys, { minLength: 1, maxLength: 2 }),
        (a, b, changed) => {
          const mixed = { ...a };
          for (const k of changed) (mixed as Record<string, unknown>)[k] = b[k];
          const from = compiled(policyText(a));
          const to = compiled(policyText(mixed));
          const diff = diffPolicies(from, to);
          if (from.hash !== to.hash) expect(semanticChangeCount(diff)).toBeGreaterThan(0);
          else expect(semanticChangeCount(diff)).toBe(0);
          expect(diff.equivalent).toBe(from.hash === to.hash);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('formats every kind and runs the checker as named passes', () => {
    expect(CHECK_PASSES.map((p) => p.name)).toEqual([
      'expression depth',
      'duplicates',
      'metric types',
      'declarations',
    ]);
    const text = readFileSync(join(root, 'policies', 'default.policy'), 'utf8');
    const { ast } = analyzePolicy(text);
    const kinds = new Set(ast.declarations.map((d) => d.kind));
    // the default policy shows every construct, so formatting it exercises every formatter
    expect([...kinds].sort()).toEqual([...DECLARATION_KINDS].sort());
    expect(formatPolicy(analyzePolicy(formatPolicy(ast)).ast)).toBe(formatPolicy(ast));
  });

  it('documents every kind on its language page, in a checked policy example', () => {
    for (const kind of DECLARATION_KINDS) {
      const { keyword, page } = CONSTRUCT_DOCS[kind];
      const text = readFileSync(join(root, 'docs', 'language', page), 'utf8');
      const examples = [...text.matchAll(/```policy\n([\s\S]*?)```/g)].map((m) => m[1]);
      expect(
        examples.some((e) => new RegExp(`^\\s*${keyword}\\b`, 'm').test(e)),
        `${page} shows \`${keyword}\``,
      ).toBe(true);
    }
  });

  it('a kind added to the AST fails to type-check until every phase handles it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quotient-new-kind-'));
    try {
      cpSync(join(root, 'src', 'policy'), join(dir, 'src', 'policy'), { recursive: true });
      cpSync(join(root, 'grammar'), join(dir, 'grammar'), {
        recursive: true,
        filter: (p) => !p.endsWith('.html'),
      });
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
      tsconfig.include = ['src', 'grammar'];
      tsconfig.compilerOptions.types = ['node'];
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      // the guide's first step: a new node in the Declaration union
      const astPath = join(dir, 'src', 'policy', 'ast.ts');
      const ast = readFileSync(astPath, 'utf8');
      expect(ast).toContain('  | TestDecl;');
      writeFileSync(
        astPath,
        ast.replace('  | TestDecl;', "  | TestDecl\n  | (Node<'Probe'> & { name: Name });"),
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      expect(existsSync(tsc)).toBe(true);
      const output = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', dir], {
        cwd: dir,
      }).then(
        () => '',
        (e: { stdout: string }) => e.stdout,
      );
      const files = new Set(
        [...output.matchAll(/^(\S+\.ts)\(\d+,\d+\): error/gm)].map((m) =>
          relative(dir, join(dir, m[1])),
        ),
      );
      expect([...files].sort(), output).toEqual([
        'src/policy/check/index.ts',
        'src/policy/compile/lower.ts',
        'src/policy/constructs.ts',
        'src/policy/diff/compute.ts',
        'src/policy/format.ts',
      ]);
      expect(output).toContain("Property 'Probe' is missing");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
