// The whole-organisation evaluation (boards, the sweep, impact) under the shipped default
// policy: its budget windows include a project's, which the per-person month totals
// (person_months) do not carry, so that window must be read from the rollups. The sweep
// failed on every round when it was not.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { escalationsFrom } from '../../src/engine/escalations.ts';
import { evaluateOrg, evaluatePerson, sweepOrg } from '../../src/engine/evaluation.ts';
import type { EvaluateResult, SubjectResult } from '../../src/policy/evaluate/types.ts';
import type { Store } from '../../src/store/db.ts';
import { ingestBatch } from '../../src/store/loader.ts';
import { publishPolicySource } from '../../src/store/policies.ts';
import { usageReader } from '../../src/store/usage-reader.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

const source = readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8');

/** Ingests directory and usage rows at `now`, all of them accepted. */
async function ingest(into: Store, rows: Record<string, unknown>[], now: Date): Promise<void> {
  const ingested = await ingestBatch(
    into,
    rows.map((data, i) => ({ line: i + 1, data })),
    { now: now.getTime() },
  );
  expect(ingested.totals.rejected, JSON.stringify(ingested.results)).toBe(0);
}

describe('the org evaluation under the default policy', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore();
    const published = await publishPolicySource(store, { source, activate: true });
    expect(published.kind).toBe('published');
  }, 120_000);
  afterAll(async () => {
    await store?.destroy();
  });

  it('reads every window, a project budget’s included, and counts the project’s usage', async () => {
    const now = new Date('2026-10-20T12:00:00Z');
    const rows = [
      { type: 'team', team: 'platform', sensitivity: 'normal' },
      { type: 'person', person: 'ana@acme.test', team: 'platform', role: 'engineer' },
      ...[0, 1].map((i) => ({
        type: 'usage',
        id: `u-${i}`,
        ts: '2026-10-05T09:00:00Z',
        person: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        input_tokens: 1_000_000,
        output_tokens: 0,
        project: i === 0 ? 'assistant-launch' : 'other',
      })),
    ];
    await ingest(store, rows, now);
    const { ruleSet } = await activePolicyFor(store).require();
    const evaluation = await evaluateOrg(usageReader(store), ruleSet, now);
    expect(evaluation.result.errors).toEqual([]);
    expect(evaluation.result.subjects.some((s) => s.id === 'ana@acme.test')).toBe(true);
    const launch = evaluation.result.org?.budgets.find((b) => b.key.includes('assistant-launch'));
    const all = evaluation.result.org?.budgets.find((b) => b.key === 'org');
    expect(launch?.spent).toBeGreaterThan(0);
    // one of the two equal calls was the project's
    if (all) expect(launch?.spent).toBeCloseTo(all.spent / 2, 6);
  }, 120_000);

  it('gives its org-wide sums the evaluation timeout, and a person’s reads the request one', async () => {
    // at 10M events a busy server's whole-organisation sums outlast the 10 s of a request's
    // statement: the sweep failed every round until they had their own limit
    const limited = await createTestStore({
      timeouts: { statementMs: 1_000, evaluationMs: 45_000 },
    });
    try {
      const published = await publishPolicySource(limited, { source, activate: true });
      expect(published.kind).toBe('published');
      const sent: { text: string; timeout: number | undefined }[] = [];
      const recording: Store = {
        ...limited,
        transaction: (work) =>
          limited.transaction((client) =>
            work(
              new Proxy(client, {
                get(target, key) {
                  const value = Reflect.get(target, key);
                  if (key !== 'query')
                    return typeof value === 'function' ? value.bind(target) : value;
                  return (
                    query: string | { text: string; query_timeout?: number },
                    values?: unknown[],
                  ) => {
                    const text = typeof query === 'string' ? query : query.text;
                    sent.push({
                      text,
                      timeout: typeof query === 'string' ? undefined : query.query_timeout,
                    });
                    return target.query(query as string, values);
                  };
                },
              }),
            ),
          ),
      };
      const now = new Date('2026-10-20T12:00:00Z');
      const person = {
        type: 'person',
        person: 'ana@acme.test',
        team: 'platform',
        role: 'engineer',
      };
      const usage = {
        type: 'usage',
        id: 'u-t',
        ts: '2026-10-05T09:00:00Z',
        person: 'ana@acme.test',
        model: 'claude-sonnet-4-5',
        input_tokens: 1_000,
        output_tokens: 0,
      };
      const rows = [{ type: 'team', team: 'platform', sensitivity: 'normal' }, person, usage];
      await ingest(limited, rows, now);
      const { ruleSet } = await activePolicyFor(limited).require();
      await evaluateOrg(usageReader(recording), ruleSet, now, { only: 'escalations' });
      const org = sent.splice(0);
      expect(org.some((s) => s.text.includes('statement_timeout = 45000'))).toBe(true);
      expect(org.filter((s) => s.timeout !== undefined).every((s) => s.timeout === 47_000)).toBe(
        true,
      );
      expect(org.some((s) => s.timeout === 47_000)).toBe(true);
      await evaluatePerson(usageReader(recording), ruleSet, 'ana@acme.test', now);
      expect(sent.length).toBeGreaterThan(0);
      expect(
        sent.some((s) => s.text.includes('statement_timeout') || s.timeout !== undefined),
      ).toBe(false);
    } finally {
      await limited.destroy();
    }
  }, 120_000);

  it('gives the sweep, read and evaluated a slice of people at a time, the result of one evaluation', async () => {
    const now = new Date('2026-10-20T12:00:00Z');
    const people = ['bo', 'cy', 'di', 'ed', 'fa'].map((p, i) => ({
      type: 'person',
      person: `${p}@acme.test`,
      team: i % 2 ? 'platform' : 'routing',
      role: 'engineer',
    }));
    const usage = people.map((p, i) => ({
      type: 'usage',
      id: `s-${i}`,
      ts: '2026-10-06T09:00:00Z',
      person: p.person,
      model: 'claude-sonnet-4-5',
      input_tokens: 400_000_000 * (i + 1),
      output_tokens: 1_000,
    }));
    const rows = [{ type: 'team', team: 'routing', sensitivity: 'normal' }, ...people, ...usage];
    await ingest(store, rows, now);
    const { ruleSet } = await activePolicyFor(store).require();
    const whole = await evaluateOrg(usageReader(store), ruleSet, now, { only: 'escalations' });
    let pauses = 0;
    const parts: EvaluateResult[] = [];
    const swept = await sweepOrg(
      usageReader(store),
      ruleSet,
      now,
      { people: 2, between: async () => void pauses++ },
      (part) => parts.push(part),
    );
    expect(pauses).toBeGreaterThanOrEqual(2);
    expect(swept.evaluated).toBe(whole.result.subjects.length);
    expect(whole.result.subjects.filter((s) => s.escalations.length > 0).length).toBeGreaterThan(0);
    const byKey = (subjects: readonly SubjectResult[]) =>
      JSON.parse(
        JSON.stringify(
          [...subjects].sort((a, b) => `${a.kind}|${a.id}`.localeCompare(`${b.kind}|${b.id}`)),
        ),
      );
    expect(byKey(parts.flatMap((p) => p.subjects))).toEqual(byKey(whole.result.subjects));
    expect(JSON.parse(JSON.stringify(parts.map((p) => p.org ?? null)))).toEqual(
      JSON.parse(JSON.stringify([whole.result.org ?? null, ...parts.slice(1).map(() => null)])),
    );
    expect(parts.flatMap((p) => p.errors)).toEqual(whole.result.errors);
    expect(parts.flatMap((p) => escalationsFrom(p))).toEqual(
      expect.arrayContaining(escalationsFrom(whole.result)),
    );
    expect(parts.flatMap((p) => escalationsFrom(p))).toHaveLength(
      escalationsFrom(whole.result).length,
    );
  }, 120_000);
});
