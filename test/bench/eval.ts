// `npm run bench -- eval`: score 100,000 subjects on default.policy's value_per_token
// formula with Quotient's generated function, and, in the same run, with hand-written
// TypeScript (the limit), mathjs compile().evaluate, expr-eval and @marcbachmann/cel-js.
// Also times check + compile for default.policy and for a generated 10,000-line policy.
// Prints a table; the last line is one JSON object of figures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment } from '@marcbachmann/cel-js';
import { Parser } from 'expr-eval';
import { all, create } from 'mathjs';
import type { Facts, Sink } from '../../src/policy/compile/codegen.ts';
import { buildRuleSet, compilePolicy } from '../../src/policy/compile/index.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

const SUBJECTS = 100_000;
const ROUNDS = 7;
const root = join(import.meta.dirname, '..', '..');
const defaultText = readFileSync(join(root, 'policies', 'default.policy'), 'utf8');

// ---------- subjects: deterministic pseudo-random quarter facts ----------
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Q = {
  tokens: number;
  tasks: number;
  accepted: number;
  rejected: number;
  reworked: number;
  redaction_failures: number;
};
const random = rng(42);
const quarters: Q[] = [];
for (let i = 0; i < SUBJECTS; i++) {
  const tasks = Math.floor(random() * 60);
  const accepted = Math.floor(random() * (tasks + 1));
  const rejected = Math.floor(random() * (tasks - accepted + 1));
  quarters.push({
    tokens: Math.floor(random() * 5_000_000),
    tasks,
    accepted,
    rejected,
    reworked: tasks - accepted - rejected,
    redaction_failures: random() < 0.03 ? 1 : 0,
  });
}
const facts: Facts[] = quarters.map((q) => ({ quarter: q }));

// ---------- contenders ----------
const compiled = compilePolicy(parsePolicy(defaultText).ast);
if (!compiled.ok) throw new Error('default.policy does not compile');
const rs = buildRuleSet(compiled.ir);
const score = rs.boards.find((b) => b.name === 'value_per_token')!.score;
const noSink: Sink = () => 0;
const attrs = {};

function handWritten(f: Facts): number {
  const q = f.quarter!;
  const acceptance = q.accepted / Math.max(q.accepted + q.rejected + q.reworked, 1);
  const safety = q.redaction_failures > 0 ? 0.5 : 1;
  const tokensPerTask = q.tokens / Math.max(q.tasks, 1);
  return (1000 * acceptance * safety) / Math.log10(10 + tokensPerTask);
}

const math = create(all);
const mathExpr = math.compile(
  '1000 * (accepted / max(accepted + rejected + reworked, 1)) * (redaction_failures > 0 ? 0.5 : 1) / log10(10 + tokens / max(tasks, 1))',
);
const exprEval = new Parser().parse(
  '1000 * (accepted / max(accepted + rejected + reworked, 1)) * (redaction_failures > 0 ? 0.5 : 1) / log10(10 + tokens / max(tasks, 1))',
);
const cel = new Environment()
  .registerVariable('accepted', 'double')
  .registerVariable('rejected', 'double')
  .registerVariable('reworked', 'double')
  .registerVariable('tasks', 'double')
  .registerVariable('tokens', 'double')
  .registerVariable('redaction_failures', 'double')
  .registerFunction('max(double, double): double', (a: number, b: number) => Math.max(a, b))
  .registerFunction('log10(double): double', (x: number) => Math.log10(x))
  .parse(
    '1000.0 * (accepted / max(accepted + rejected + reworked, 1.0)) * (redaction_failures > 0.0 ? 0.5 : 1.0) / log10(10.0 + tokens / max(tasks, 1.0))',
  );

type Contender = { name: string; run: (i: number) => number };
const contenders: Contender[] = [
  { name: 'quotient (generated)', run: (i) => score.fn(facts[i], attrs, noSink, null) as number },
  { name: 'hand-written TS', run: (i) => handWritten(facts[i]) },
  { name: 'mathjs compile().evaluate', run: (i) => mathExpr.evaluate(quarters[i]) as number },
  { name: 'expr-eval', run: (i) => exprEval.evaluate(quarters[i] as never) as number },
  { name: '@marcbachmann/cel-js', run: (i) => Number(cel(quarters[i])) },
];

// all contenders must agree before any is timed
for (let i = 0; i < 2000; i++) {
  const want = handWritten(facts[i]);
  for (const c of contenders) {
    const got = c.run(i);
    if (Math.abs(got - want) > 1e-9 * Math.max(1, Math.abs(want))) {
      throw new Error(`${c.name} disagrees on subject ${i}: ${got} vs ${want}`);
    }
  }
}

// Each contender gets its own copy of the timing loop (a separate function, so its call
// site stays monomorphic and no contender pays for another's type feedback).
const loops = new Map<string, (run: (i: number) => number, n: number) => number>();
for (const c of contenders) {
  loops.set(
    c.name,
    new Function('run', 'n', 'let s = 0; for (let i = 0; i < n; i++) s += run(i); return s;') as (
      run: (i: number) => number,
      n: number,
    ) => number,
  );
}

function timeOnce(c: Contender): number {
  const loop = loops.get(c.name)!;
  const start = process.hrtime.bigint();
  const sink = loop(c.run, SUBJECTS);
  const ns = Number(process.hrtime.bigint() - start);
  if (!Number.isFinite(sink)) throw new Error('non-finite sum');
  return ns;
}

// Each contender runs in blocks (warm-up, then rounds back to back); the block sequence
// is repeated PASSES times so a burst of outside load cannot decide the result, and each
// contender's best round counts.
const PASSES = 3;
const rates: Record<string, number> = {};
const best = new Map<string, number>();
for (let pass = 0; pass < PASSES; pass++) {
  for (const c of contenders) {
    timeOnce(c); // warm up
    const rounds = c.name === 'quotient (generated)' || c.name === 'hand-written TS' ? ROUNDS : 3;
    for (let r = 0; r < rounds; r++) {
      best.set(c.name, Math.min(best.get(c.name) ?? Number.POSITIVE_INFINITY, timeOnce(c)));
    }
  }
}
for (const c of contenders) rates[c.name] = SUBJECTS / (best.get(c.name)! / 1e9);

// ---------- check + compile time ----------
function generatedPolicy(lines: number): string {
  const out = [
    'policy "generated" version "1"',
    'currency USD',
    'timezone "Europe/London"',
    'class premium "Frontier"',
    'class standard "General"',
    'class economy "Routine"',
  ];
  let i = 0;
  while (out.length < lines) {
    const n = i++;
    const dep = n > 0 ? ` + m${Math.floor(n / 2)} * 0.5` : '';
    out.push(
      `model "model-${n}" class ${['premium', 'standard', 'economy'][n % 3]} price { input ${(n % 90) + 0.25} output ${(n % 70) + 1.5} }`,
    );
    out.push(
      `metric m${n} = accepted / max(accepted + rejected + reworked, 1) * ${(n % 7) + 1}${dep}`,
    );
    out.push(
      `tier t${n} "Tier ${n}" { limit ${(n % 50) + 1}M tokens per month models economy, standard }`,
    );
    out.push(`assign t${n} when role == "role-${n}" and team != "team-${n}"`);
    out.push(`rule r${n} "Rule ${n}" severity low {`);
    out.push(`  when tokens within 1d > ${n + 2} * tokens within 30d / 30 and m${n} > 0.5`);
    out.push('  then notify manager');
    out.push('}');
    if (n % 10 === 0) {
      out.push(`leaderboard b${n} "Board ${n}" {`);
      out.push('  subject person   window quarter   cohort role');
      out.push('  eligible when tasks >= 5 and opted_in');
      out.push(`  score = 1000 * m${n} / log10(10 + tokens / max(tasks, 1))`);
      out.push('  top 20');
      out.push('}');
    }
  }
  out.push('assign t0 otherwise');
  return `${out.join('\n')}\n`;
}

function timeCompile(text: string, runs: number) {
  const phases = { parse: [] as number[], checkCompile: [] as number[], build: [] as number[] };
  let errors = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const { ast, diagnostics } = parsePolicy(text);
    const t1 = performance.now();
    const c = compilePolicy(ast, diagnostics);
    const t2 = performance.now();
    if (c.ok) buildRuleSet(c.ir);
    const t3 = performance.now();
    errors = c.diagnostics.filter((d) => d.severity === 'error').length;
    phases.parse.push(t1 - t0);
    phases.checkCompile.push(t2 - t1);
    phases.build.push(t3 - t2);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    lines: text.split('\n').length - 1,
    errors,
    parseMs: median(phases.parse),
    checkCompileMs: median(phases.checkCompile),
    buildRuleSetMs: median(phases.build),
  };
}

const big = generatedPolicy(10_000);
const compileDefault = timeCompile(defaultText, 30);
const compileBig = timeCompile(big, 5);

// ---------- report ----------
const hand = rates['hand-written TS'];
const ours = rates['quotient (generated)'];
const interpreters = ['mathjs compile().evaluate', 'expr-eval', '@marcbachmann/cel-js'];
const fastestInterpreter = interpreters.reduce((a, b) => (rates[a] > rates[b] ? a : b));
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(
  `value_per_token score, ${SUBJECTS.toLocaleString('en-US')} subjects, best round of ${PASSES} passes (${ROUNDS} rounds each, interpreters 3)`,
);
console.log('contender                      evals/s        vs hand-written   quotient is ×');
for (const c of contenders) {
  const r = rates[c.name];
  console.log(
    `${c.name.padEnd(30)} ${fmt(r).padStart(13)}   ${(r / hand).toFixed(3).padStart(8)}×        ${(ours / r).toFixed(2).padStart(8)}`,
  );
}
console.log(`\nquotient / hand-written: ${(ours / hand).toFixed(3)}× (target ≥ 0.5)`);
console.log(
  `quotient / fastest interpreter (${fastestInterpreter}): ${(ours / rates[fastestInterpreter]).toFixed(1)}× (target ≥ 10)`,
);
console.log(
  '\ncheck + compile           lines   parse ms   check+compile ms   buildRuleSet ms   errors',
);
for (const [name, t] of [
  ['default.policy', compileDefault],
  ['generated policy', compileBig],
] as const) {
  console.log(
    `${name.padEnd(24)} ${String(t.lines).padStart(6)}   ${t.parseMs.toFixed(2).padStart(8)}   ${t.checkCompileMs.toFixed(2).padStart(16)}   ${t.buildRuleSetMs.toFixed(2).padStart(15)}   ${t.errors}`,
  );
}
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
console.log(
  JSON.stringify({
    subjects: SUBJECTS,
    evalsPerSecond: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, Math.round(v)])),
    ratioToHandWritten: round(ours / hand),
    ratioToFastestInterpreter: round(ours / rates[fastestInterpreter], 1),
    fastestInterpreter,
    compile: {
      default: {
        ...compileDefault,
        parseMs: round(compileDefault.parseMs),
        checkCompileMs: round(compileDefault.checkCompileMs),
        buildRuleSetMs: round(compileDefault.buildRuleSetMs),
      },
      generated: {
        ...compileBig,
        parseMs: round(compileBig.parseMs),
        checkCompileMs: round(compileBig.checkCompileMs),
        buildRuleSetMs: round(compileBig.buildRuleSetMs),
      },
    },
  }),
);
