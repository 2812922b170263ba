// The deterministic demo organisation: teams, people, and N days of usage ending today.
// Token sizes and burst gaps come from the Azure trace slice; who is active follows a
// Zipf distribution over people (a few heavy users, a long tail), as real usage does.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../policy/compile/index.ts';
import { priceTable, type RuleSetIR } from '../policy/ir.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { PriceTable } from '../policy/price.ts';
import { azureTrace, prng, type TraceSample, zipfCumulative, zipfPick } from './azure-trace.ts';
import type { Store } from './db.ts';
import type { IngestRow } from './ingest/native.ts';
import { addTotals, emptyTotals, type IngestTotals, ingestBatch } from './loader.ts';
import { publishPolicyVersion } from './policies.ts';
import { activePolicyIr } from './prices.ts';

export const DEFAULT_POLICY_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../policies/default.policy',
);

export type SeedOptions = {
  people?: number;
  teams?: number;
  days?: number;
  seed?: number;
  /** Do nothing when the directory already has people. */
  onlyIfEmpty?: boolean;
  now?: Date;
  policyFile?: string;
};

export type SeedSummary = {
  skipped?: string;
  text: string;
  totals: IngestTotals;
  policy: string | null;
};

// Halcyon Freight, the fictional logistics company of policies/default.policy. Restricted
// teams come early so that small seeds include some.
const TEAM_TREE: [name: string, parent: string | null, restricted?: boolean][] = [
  ['engineering', null],
  ['operations', null],
  ['corporate', null],
  ['platform', 'engineering'],
  ['routing', 'engineering'],
  ['security', 'engineering', true],
  ['legal', 'corporate', true],
  ['hr', 'corporate', true],
  ['innovation-lab', 'engineering'],
  ['finance-ops', 'operations'],
  ['data', 'engineering'],
  ['ml-research', 'engineering'],
  ['mobile', 'engineering'],
  ['web', 'engineering'],
  ['infra', 'engineering'],
  ['qa', 'engineering'],
  ['payments', 'engineering'],
  ['fleet', 'operations'],
  ['warehouse', 'operations'],
  ['dispatch', 'operations'],
  ['customer-support', 'operations'],
  ['sales', 'corporate'],
  ['marketing', 'corporate'],
  ['product', 'corporate'],
  ['design', 'corporate'],
];

const ROLES_BY_TEAM: Record<string, string[]> = {
  data: ['data-scientist', 'data-scientist', 'engineer'],
  'ml-research': ['data-scientist', 'engineer'],
  security: ['engineer', 'analyst', 'auditor'],
  legal: ['lawyer', 'paralegal', 'auditor'],
  hr: ['recruiter', 'hr-partner'],
  'finance-ops': ['analyst', 'auditor', 'accountant'],
  operations: ['analyst'],
  fleet: ['analyst', 'planner', 'engineer'],
  warehouse: ['analyst', 'planner'],
  dispatch: ['planner', 'analyst'],
  'customer-support': ['support-agent', 'support-agent', 'analyst'],
  corporate: ['analyst'],
  sales: ['sales-rep', 'analyst'],
  marketing: ['marketer', 'designer', 'analyst'],
  product: ['product-manager', 'analyst'],
  design: ['designer'],
};

const FIRST =
  'ana bo carl dana eve femi gia hugo iris jon kai lena milo nora omar pia quin rosa sam tara umar vera wen xena yusuf zoe alba ben chloe dev elif finn gus hana ivan jade kofi lars mei noah'.split(
    ' ',
  );
const LAST =
  'ruiz chen okafor novak silva patel kim muller rossi sato haddad berg costa dubois evans fischer garcia hansen ito jensen khan lopez moreau nagy olsen perez quist reyes smit tanaka'.split(
    ' ',
  );

const DOMAIN = 'halcyon.test';
const CTO = `cto@${DOMAIN}`;

const FALLBACK_MODELS: Record<string, string[]> = {
  premium: ['claude-opus-4-1'],
  standard: ['claude-sonnet-4-5'],
  economy: ['gpt-4o-mini'],
};

/** Seeds only when the database has nobody in it. Returns whether it seeded. */
export async function seedIfEmpty(store: Store, options: SeedOptions = {}): Promise<boolean> {
  const summary = await seedDemo(store, { ...options, onlyIfEmpty: true });
  return !summary.skipped;
}

/** Publishes and activates policies/default.policy when no version is active. */
export async function ensureActivePolicy(
  store: Store,
  file = DEFAULT_POLICY_FILE,
): Promise<RuleSetIR | null> {
  const active = await activePolicyIr(store);
  if (active) return active;
  if (!existsSync(file)) return null;
  const source = readFileSync(file, 'utf8');
  const parsed = parsePolicy(source, file);
  const compiled = compilePolicy(parsed.ast, parsed.diagnostics);
  if (!compiled.ok) return null;
  await publishPolicyVersion(store, {
    version: compiled.ir.meta.version ?? 'default',
    name: compiled.ir.meta.name,
    source,
    canonical: source,
    hash: compiled.hash,
    ir: compiled.ir,
    author: 'quotient seed',
    message: 'default policy, published by the seed',
    activate: true,
  });
  return compiled.ir;
}

/** Models of the policy grouped by class (premium/standard/economy or whatever it names). */
function modelsByClass(prices: PriceTable): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [model, price] of Object.entries(prices.models)) {
    out[price.class] = [...(out[price.class] ?? []), model];
  }
  for (const list of Object.values(out)) list.sort();
  return Object.keys(out).length > 0 ? out : FALLBACK_MODELS;
}

type SeedPerson = {
  id: string;
  team: string;
  role: string;
  codeShare: number;
  premiumShare: number;
  economyShare: number;
  quality: number;
};

export async function seedDemo(store: Store, options: SeedOptions = {}): Promise<SeedSummary> {
  const peopleCount = options.people ?? 400;
  const teamCount = options.teams ?? 25;
  const days = options.days ?? 90;
  const seed = options.seed ?? 42;
  const now = options.now ?? new Date();
  if (options.onlyIfEmpty) {
    const [{ present }] = await store.query<{ present: boolean }>(
      'select exists (select 1 from people) as present',
    );
    if (present)
      return {
        skipped: 'the database already has people (use --force to add the demo anyway)',
        text: '',
        totals: emptyTotals(),
        policy: null,
      };
  }
  const ir = await ensureActivePolicy(store, options.policyFile);
  const prices = ir ? priceTable(ir) : { currency: 'USD', models: {} };
  const timezone = ir?.timezone || 'UTC';
  const classes = modelsByClass(prices);
  const premium = classes.premium ?? [];
  const economy = classes.economy ?? [];
  const standard = classes.standard ?? Object.values(classes).flat();

  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];

  // Teams: the named tree first, then generated ones under "business".
  const teams = TEAM_TREE.slice(0, teamCount).map(([name, parent, restricted]) => ({
    name,
    parent,
    restricted: !!restricted,
  }));
  for (let i = teams.length; i < teamCount; i++)
    teams.push({ name: `team-${i + 1}`, parent: 'business', restricted: false });
  for (const t of teams) if (t.parent && !teams.some((o) => o.name === t.parent)) t.parent = null;

  // People: every team gets a lead; the rest spread by random team weights.
  const weights = teams.map(() => 0.4 + random() * 1.6);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const used = new Set<string>();
  const people: SeedPerson[] = [];
  const leads = new Map<string, string>();
  const makeId = (team: string, lead: boolean) => {
    // the policy names the CTO, who leads engineering
    if (lead && team === 'engineering' && !used.has(CTO)) {
      used.add(CTO);
      return CTO;
    }
    for (;;) {
      const base = `${pick(FIRST)}.${pick(LAST)}`;
      const id = used.has(`${base}@${DOMAIN}`)
        ? `${base}${used.size}@${DOMAIN}`
        : `${base}@${DOMAIN}`;
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
    }
  };
  for (let i = 0; i < peopleCount; i++) {
    let team: string;
    if (i < teams.length) team = teams[i].name;
    else {
      let u = random() * weightSum;
      let k = 0;
      while (u > weights[k] && k < teams.length - 1) u -= weights[k++];
      team = teams[k].name;
    }
    const lead = !leads.has(team);
    const id = makeId(team, lead);
    if (lead) leads.set(team, id);
    const technical = ['engineer', 'data-scientist'];
    const role = lead
      ? 'manager'
      : pick(ROLES_BY_TEAM[team] ?? ['engineer', 'engineer', 'engineer', 'data-scientist']);
    people.push({
      id,
      team,
      role,
      codeShare: technical.includes(role) ? 0.7 : 0.1,
      premiumShare: technical.includes(role) ? random() * 0.3 : random() * 0.06,
      economyShare: 0.1 + random() * 0.4,
      quality: 0.5 + random() * 0.45,
    });
  }

  const directory: IngestRow[] = [];
  let line = 0;
  for (const t of teams) {
    directory.push({
      line: ++line,
      data: {
        type: 'team',
        team: t.name,
        name: t.name.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()),
        parent: t.parent,
        cost_center: `CC-${100 + teams.indexOf(t) * 10}`,
        sensitivity: t.restricted ? 'restricted' : 'normal',
        owner: leads.get(t.name) ?? null,
      },
    });
  }
  for (const p of people) {
    const isLead = leads.get(p.team) === p.id;
    const parent = teams.find((t) => t.name === p.team)?.parent ?? null;
    const manager = isLead ? (parent ? leads.get(parent) : null) : leads.get(p.team);
    directory.push({
      line: ++line,
      data: {
        type: 'person',
        person: p.id,
        name: p.id
          .split('@')[0]
          .replace(/\d+$/, '')
          .split('.')
          .map((s) => s[0].toUpperCase() + s.slice(1))
          .join(' '),
        team: p.team,
        role: p.role,
        manager: manager ?? null,
        opted_in: random() < 0.75,
        attributes: {
          region: pick(['emea', 'amer', 'apac']),
          level: pick(['L3', 'L4', 'L5', 'L6']),
        },
      },
    });
  }
  const totals = emptyTotals();
  addTotals(
    totals,
    (await ingestBatch(store, directory, { source: 'seed', prices, timezone, now: now.getTime() }))
      .totals,
  );

  // Usage: Zipf activity over a shuffled order of people, weekday rhythm, slow adoption growth.
  const order = people.map((_, i) => i).sort(() => random() - 0.5);
  const zipf = zipfCumulative(people.length);
  const trace = azureTrace();
  const cursors = {
    code: Math.floor(random() * trace.code.length),
    conv: Math.floor(random() * trace.conv.length),
  };
  const next = (kind: 'code' | 'conv'): TraceSample => {
    const list = trace[kind];
    cursors[kind] = (cursors[kind] + 1) % list.length;
    return list[cursors[kind]];
  };
  const dayMs = 86_400_000;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const horizon = now.getTime() - 60_000;
  let batch: IngestRow[] = [];
  let n = 0;
  let sessions = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    addTotals(
      totals,
      (await ingestBatch(store, batch, { source: 'seed', prices, timezone, now: now.getTime() }))
        .totals,
    );
    batch = [];
  };
  for (let d = days - 1; d >= 0; d--) {
    const dayStart = today - d * dayMs;
    const weekday = new Date(dayStart).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const growth = 0.8 + (0.4 * (days - d)) / days;
    let budget = Math.round(
      peopleCount * 1.6 * growth * (weekend ? 0.25 : 1) * (0.85 + random() * 0.3),
    );
    while (budget > 0) {
      const person = people[order[zipfPick(zipf, random())]];
      const length = Math.min(1 + Math.floor(Math.log(1 - random()) / Math.log(0.7)), 20, budget);
      budget -= length;
      sessions++;
      let ts = dayStart + (7 + random() * 12) * 3_600_000;
      if (ts > horizon) continue;
      const kind = random() < person.codeShare ? 'code' : 'conv';
      const u = random();
      const model =
        u < person.premiumShare && premium.length
          ? pick(premium)
          : u < person.premiumShare + person.economyShare && economy.length
            ? pick(economy)
            : pick(standard);
      const project = `${person.team}-${kind === 'code' ? 'coding' : 'assistant'}`;
      const environment = random() < 0.85 ? 'production' : 'sandbox';
      const task = `T-${seed}-${sessions}`;
      // an assistant session re-sends its growing context: the earlier turns are read
      // from the prompt cache, the new turn is uncached input and is written to the cache
      let context = kind === 'code' ? 4_000 + Math.floor(random() * 24_000) : 0;
      for (let k = 0; k < length && ts <= horizon; k++) {
        const sample = next(kind);
        // trace gaps are between any two requests of a busy service; one person's
        // requests are spaced further apart, so the gaps are stretched
        ts += k === 0 ? 0 : Math.min(sample.gapMs * 400, 600_000) + 2_000;
        const cached = Math.min(context, 150_000);
        const cacheWrite = model.startsWith('claude') ? sample.input : 0;
        context += sample.input + sample.output;
        batch.push({
          line: ++line,
          data: {
            type: 'usage',
            id: `seed-${seed}-u-${++n}`,
            ts: new Date(Math.min(ts, horizon)).toISOString(),
            person: person.id,
            team: person.team,
            model,
            provider: model.startsWith('gpt') ? 'openai' : 'anthropic',
            input_tokens: sample.input,
            output_tokens: sample.output,
            cache_read_tokens: cached,
            cache_write_tokens: cacheWrite,
            project,
            environment,
            task,
          },
        });
      }
      const end = Math.min(ts + 300_000, horizon);
      if (random() < 0.75) {
        const r = random();
        const outcome =
          r < person.quality
            ? 'accepted'
            : r < person.quality + 0.05
              ? 'completed'
              : random() < 0.6
                ? 'rejected'
                : 'reworked';
        batch.push({
          line: ++line,
          data: {
            type: 'outcome',
            id: `seed-${seed}-o-${sessions}`,
            ts: new Date(end).toISOString(),
            person: person.id,
            task,
            outcome,
            minutes_saved: outcome === 'accepted' ? 5 + Math.floor(random() * 40) : 0,
          },
        });
      }
      if (random() < 0.003) {
        const flag = pick([
          'redaction_failure',
          'sensitive_data',
          'sensitive_data',
          'policy_exception',
        ]);
        batch.push({
          line: ++line,
          data: {
            type: 'compliance',
            id: `seed-${seed}-c-${sessions}`,
            ts: new Date(end).toISOString(),
            person: person.id,
            flag,
            severity: flag === 'redaction_failure' ? 'high' : 'medium',
          },
        });
      }
      if (batch.length >= 5_000) await flush();
    }
  }
  await flush();
  const policy = ir ? `${ir.meta.name ?? 'policy'} ${ir.meta.version ?? ''}`.trim() : null;
  const text = [
    `seeded ${people.length} people in ${teams.length} teams with ${days} days of usage (seed ${seed})`,
    `  usage events      ${totals.byType.usage}`,
    `  outcomes          ${totals.byType.outcome}`,
    `  compliance flags  ${totals.byType.compliance}`,
    `  unpriced          ${totals.unpriced}`,
    `  policy            ${policy ? `${policy} (active)` : existsSync(options.policyFile ?? DEFAULT_POLICY_FILE) ? 'none active: the default policy did not compile (run quotient policy check), usage is unpriced' : 'none active: usage is unpriced'}`,
  ].join('\n');
  return { text, totals, policy };
}
