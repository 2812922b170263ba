// Each adapter's fixture (written from the format's public documentation) imports with the
// totals documented in the README ("Storage and ingest"), and a second import changes nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpDocumentToRows, otlpToRows } from '../../src/store/ingest/otlp.ts';
import type { Format } from '../../src/store/ingest/read.ts';
import { createTestStore, type TestStore } from '../support/db.ts';
import { eventSums, FIXTURES, importFixture, rollupSums } from './helpers.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.destroy();
});

type Expected = {
  file: string;
  format: Format;
  accepted: number;
  rejected: number[];
  usage: {
    events: number;
    input: number;
    output: number;
    cacheRead: number;
    cacheWrite: number;
    requests: number;
  };
};

const CASES: Expected[] = [
  {
    file: 'native.csv',
    format: 'csv',
    accepted: 4,
    rejected: [6],
    usage: { events: 4, input: 1000, output: 100, cacheRead: 50, cacheWrite: 25, requests: 4 },
  },
  {
    // span 6 names no person: attributed to its service (the default fallback)
    file: 'otlp.json',
    format: 'otlp',
    accepted: 5,
    rejected: [],
    usage: { events: 5, input: 2970, output: 1057, cacheRead: 500, cacheWrite: 1000, requests: 5 },
  },
  {
    // log 3 has no user: attributed to its API key; log 4's end_user is not a person
    file: 'litellm.json',
    format: 'litellm',
    accepted: 4,
    rejected: [],
    usage: { events: 4, input: 330, output: 145, cacheRead: 0, cacheWrite: 0, requests: 4 },
  },
  {
    // LiteLLM's UI export; sums by source include the JSON fixture above
    file: 'litellm.csv',
    format: 'litellm',
    accepted: 2,
    rejected: [],
    usage: { events: 6, input: 630, output: 275, cacheRead: 0, cacheWrite: 0, requests: 6 },
  },
  {
    file: 'anthropic.json',
    format: 'anthropic',
    accepted: 3,
    rejected: [],
    usage: { events: 3, input: 1700, output: 450, cacheRead: 500, cacheWrite: 150, requests: 0 },
  },
  {
    file: 'openai.json',
    format: 'openai',
    accepted: 3,
    rejected: [4],
    usage: { events: 3, input: 540, output: 620, cacheRead: 810, cacheWrite: 0, requests: 8 },
  },
  {
    file: 'claude-code.json',
    format: 'claude-code',
    accepted: 62,
    rejected: [],
    usage: {
      events: 3,
      input: 69330,
      output: 18330,
      cacheRead: 12210,
      cacheWrite: 3230,
      requests: 0,
    },
  },
];

/** The token and request sums of one adapter's events (cost is checked elsewhere). */
async function sumsFor(source: string) {
  const { cost: _cost, unpriced: _unpriced, ...sums } = await eventSums(store, source);
  return sums;
}

describe.each(CASES)('$format adapter ($file)', (c) => {
  it('imports the documented totals', async () => {
    const { totals, results } = await importFixture(store, c.file, c.format);
    expect(totals.accepted).toBe(c.accepted);
    expect(totals.duplicates).toBe(0);
    expect(results.filter((r) => r.status === 'rejected').map((r) => r.line)).toEqual(c.rejected);
    expect(await sumsFor(c.format)).toEqual(c.usage);
  });

  it('adds nothing when imported again', async () => {
    const { totals } = await importFixture(store, c.file, c.format);
    expect(totals).toMatchObject({
      accepted: 0,
      duplicates: c.accepted,
      rejected: c.rejected.length,
    });
    expect(await sumsFor(c.format)).toEqual(c.usage);
  });
});

describe('field mappings', () => {
  it('OTLP: person, team, project, environment and task from span or resource attributes', async () => {
    const rows = await store.query(
      `select id, person_id, team_id, model, provider, project, environment, task, ts
         from usage_events where source = 'otlp' order by ts`,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        person_id: 'ana@acme.test',
        team_id: 'platform',
        model: 'claude-sonnet-4-5',
        provider: 'anthropic',
        project: 'support-bot',
        environment: 'production',
        task: null,
      }),
      expect.objectContaining({
        person_id: 'bo@acme.test',
        team_id: 'platform',
        model: 'gpt-4o-mini',
        provider: 'openai',
      }),
      expect.objectContaining({
        person_id: 'dana@acme.test',
        team_id: null,
        model: 'claude-opus-4-1',
        project: 'batch-job',
        environment: 'sandbox',
        task: 'conv-42',
      }),
      expect.objectContaining({
        id: 'otlp:5b8efff798038103d269b633813fc60c:aaa19b7ec3c1b102',
        person_id: 'dana@acme.test',
      }),
      expect.objectContaining({ person_id: 'service:anonymous-tool', project: 'anonymous-tool' }),
    ]);
    const [cost] = await store.query<{ cost: string }>(
      "select sum(cost)::text as cost from usage_events where source = 'otlp'",
    );
    // + span 6: 70 × $0.15 + 7 × $0.60 per 1M = $0.0000147
    expect(cost.cost).toBe('0.079199700000');
  });

  it('OTLP: otlpToRows takes a parsed body (the API receiver reuses it) and skips non-GenAI spans', () => {
    const body = JSON.parse(readFileSync(join(FIXTURES, 'otlp.json'), 'utf8'));
    const rows = otlpToRows(body);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 4, 5, 6]);
    expect(() => otlpToRows({ nope: true })).toThrow(/resourceSpans/);
    expect(otlpDocumentToRows({ resourceSpans: [null] })).toEqual([
      { line: 1, error: 'resourceSpans[0] is not an object' },
    ]);
  });

  it('LiteLLM: tags give project and task; naive timestamps are UTC', async () => {
    const rows = await store.query<Record<string, unknown>>(
      "select id, person_id, team_id, project, task, ts from usage_events where source = 'litellm' order by id",
    );
    expect(rows.map((r) => [r.id, r.person_id, r.team_id, r.project, r.task])).toEqual([
      ['litellm:chatcmpl-7f1b2c3d', 'ana@acme.test', 'platform', 'support-bot', null],
      ['litellm:chatcmpl-7f1b2c3e', 'bo@acme.test', 'platform', '', 'T-9'],
      ['litellm:chatcmpl-7f1b2c3f', 'key:88dc28d0', null, '', null],
      // end_user is the app's own customer, not a person: the key is
      ['litellm:chatcmpl-7f1b2c40', 'key:88dc28d0', 'data', '', null],
      ['litellm:chatcmpl-csv-1', 'ana@acme.test', 'platform', 'support-bot', null],
      ['litellm:chatcmpl-csv-2', 'key:88dc28d0', 'platform', '', null],
    ]);
    expect(new Date(String(rows[3].ts)).toISOString()).toBe('2026-10-05T10:00:00.000Z');
    // the CSV export: JSON-encoded tags in a cell, naive timestamps
    expect(rows[4]).toMatchObject({
      id: 'litellm:chatcmpl-csv-1',
      project: 'support-bot',
      team_id: 'platform',
    });
    expect(new Date(String(rows[4].ts)).toISOString()).toBe('2026-10-06T08:00:00.000Z');
  });

  it('Claude Code: tool actions become accepted and rejected outcomes (tasks)', async () => {
    const rows = await store.query<Record<string, string>>(
      `select person_id, sum(accepted)::text as accepted, sum(rejected)::text as rejected, sum(tasks)::text as tasks
         from daily_rollups where day = '2026-10-08' and model = '' group by person_id order by person_id`,
    );
    expect(rows).toEqual([
      { person_id: 'ana@acme.test', accepted: '50', rejected: '6', tasks: '56' },
      { person_id: 'ci-review-bot', accepted: '2', rejected: '1', tasks: '3' },
    ]);
  });

  it('rollups equal the sum of the raw events across every format', async () => {
    expect(await rollupSums(store)).toEqual(await eventSums(store));
  });
});
