// Event writes over GraphQL: per-row results, bad rows isolated, idempotent re-sends, and
// the same loader as `quotient import`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.stop();
});

const RECORD_USAGE = `mutation($rows: [UsageInput!]!) { recordUsage(rows: $rows) {
  __typename ... on IngestSummary { rows accepted duplicates rejected unpriced
    unpricedModels { model events } results { index status id reason } } } }`;

const usage = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  ts: '2026-10-02T09:15:03.120Z',
  person: 'ana@acme.test',
  team: 'platform',
  model: 'claude-sonnet-4-5',
  inputTokens: 1200,
  outputTokens: 350,
  ...extra,
});

describe('recordUsage', () => {
  it('stores good rows and rejects bad ones with a reason naming the field', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const res = await api.gql(api.keys.ingest.key, RECORD_USAGE, {
      rows: [
        usage('u-1'),
        usage('u-2', { inputTokens: -5 }),
        usage('u-3', { ts: 'yesterday' }),
        usage('u-4', { person: null }),
        usage('u-5', { ts: future }),
        { ts: '2026-10-02T09:15:03Z', person: 'ana@acme.test', model: 'x' },
        usage('u-1'),
      ],
    });
    expect(res.status).toBe(200);
    const summary = (res.body.data as { recordUsage: Record<string, unknown> }).recordUsage;
    expect(summary).toMatchObject({
      __typename: 'IngestSummary',
      rows: 7,
      accepted: 1,
      duplicates: 1,
      rejected: 5,
    });
    const results = summary.results as { index: number; status: string; reason: string | null }[];
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'rejected'],
      [3, 'rejected'],
      [4, 'rejected'],
      [5, 'rejected'],
      [6, 'duplicate'],
    ]);
    expect(results[1].reason).toMatch(/^input_tokens: /);
    expect(results[2].reason).toMatch(/^ts: cannot parse timestamp "yesterday"/);
    expect(results[3].reason).toMatch(/^person: /);
    expect(results[4].reason).toMatch(/more than 5 minutes in the future/);
    expect(results[5].reason).toMatch(/^id: /);
  });

  it('rejects a row with a NUL character on its own', async () => {
    const res = await api.gql(api.keys.ingest.key, RECORD_USAGE, {
      rows: [usage('nul-ok'), usage('nul-bad', { person: 'a\u0000na@acme.test' })],
    });
    expect(res.body.data).toMatchObject({
      recordUsage: {
        accepted: 1,
        rejected: 1,
        results: [
          { index: 0, status: 'accepted' },
          {
            index: 1,
            status: 'rejected',
            reason: 'person: contains a NUL character (\\u0000), which cannot be stored',
          },
        ],
      },
    });
  });

  it('counts a re-sent batch once', async () => {
    const rows = [usage('r-1'), usage('r-2', { model: 'no-such-model' })];
    const first = await api.gql(api.keys.ingest.key, RECORD_USAGE, { rows });
    expect(first.body.data).toMatchObject({
      recordUsage: { accepted: 2, duplicates: 0, unpriced: 2 },
    });
    const again = await api.gql(api.keys.ingest.key, RECORD_USAGE, { rows });
    expect(again.body.data).toMatchObject({ recordUsage: { accepted: 0, duplicates: 2 } });
    const stored = await api.store.query<{ n: string }>(
      "select count(*) as n from usage_events where id like 'r-%'",
    );
    expect(Number(stored[0].n)).toBe(2);
  });

  it('rejects a non-integer token count at the request level with the path named', async () => {
    const res = await api.gql(api.keys.ingest.key, RECORD_USAGE, {
      rows: [usage('i-1', { inputTokens: 1.5 })],
    });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].message).toMatch(
      /rows\[0\]\.inputTokens.*Int cannot represent non-integer value: 1\.5/,
    );
  });

  it('concurrent batches written together keep their own results and count each event once', async () => {
    // each batch: its own event, one event every batch shares, and a bad row
    const batches = Array.from({ length: 6 }, (_, b) => [
      usage(`together-${b}`, { person: `p${b}@acme.test`, inputTokens: 100 + b }),
      usage('together-shared', { inputTokens: 1000 }),
      usage(`together-bad-${b}`, { inputTokens: -1 }),
    ]);
    const replies = await Promise.all(
      batches.map((rows) => api.gql(api.keys.ingest.key, RECORD_USAGE, { rows })),
    );
    type Summary = {
      rows: number;
      accepted: number;
      duplicates: number;
      rejected: number;
      results: { index: number; status: string; id: string | null; reason: string | null }[];
    };
    const summaries = replies.map((r) => (r.body.data as { recordUsage: Summary }).recordUsage);
    summaries.forEach((s, b) => {
      expect(s.rows).toBe(3);
      expect(s.rejected).toBe(1);
      expect(s.results.map((r) => [r.index, r.id])).toEqual([
        [0, `together-${b}`],
        [1, 'together-shared'],
        [2, `together-bad-${b}`],
      ]);
      expect(s.results[0].status).toBe('accepted');
      expect(s.results[2].reason).toMatch(/input_tokens/);
    });
    // the shared event lands once: accepted in exactly one batch, a duplicate in the others
    expect(summaries.map((s) => s.results[1].status).sort()).toEqual([
      'accepted',
      ...Array(5).fill('duplicate'),
    ]);
    expect(summaries.reduce((n, s) => n + s.accepted, 0)).toBe(7);
    const [sums] = await api.store.query<{ events: string; rollup: string }>(
      `select (select sum(input_tokens) from usage_events where id like 'together-%')::text as events,
              (select sum(input_tokens) from daily_rollups
                where person_id like 'p_@acme.test' and day = '2026-10-02')::text as rollup`,
    );
    expect(Number(sums.events)).toBe(1000 + 100 * 6 + 15);
    // each person's rollup holds exactly their own event
    expect(Number(sums.rollup)).toBe(100 * 6 + 15);
  });

  it('accepts a full batch of 5,000 rows', async () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => usage(`full-${i}`));
    const res = await api.gql(api.keys.ingest.key, RECORD_USAGE, { rows });
    expect(res.body.data).toMatchObject({
      recordUsage: { rows: 5000, accepted: 5000, rejected: 0 },
    });
  });
});

describe('recordOutcomes and recordCompliance', () => {
  it('records outcomes and flags with per-row results', async () => {
    const outcomes = await api.gql(
      api.keys.ingest.key,
      `mutation($rows: [OutcomeInput!]!) { recordOutcomes(rows: $rows) { ... on IngestSummary { accepted rejected results { status reason } } } }`,
      {
        rows: [
          {
            id: 'o-1',
            ts: '2026-10-02T09:40:00Z',
            person: 'ana@acme.test',
            task: 'T-17',
            outcome: 'accepted',
            minutesSaved: 12,
          },
          {
            id: 'o-2',
            ts: '2026-10-02T09:40:00Z',
            person: 'ana@acme.test',
            task: 'T-18',
            outcome: 'loved',
          },
        ],
      },
    );
    expect(outcomes.body.data).toMatchObject({ recordOutcomes: { accepted: 1, rejected: 1 } });
    const reason = (outcomes.body.data as { recordOutcomes: { results: { reason: string }[] } })
      .recordOutcomes.results[1].reason;
    expect(reason).toMatch(/^outcome: /);

    const flags = await api.gql(
      api.keys.admin.key,
      `mutation($rows: [ComplianceInput!]!) { recordCompliance(rows: $rows) { ... on IngestSummary { accepted rejected } } }`,
      {
        rows: [
          {
            id: 'c-1',
            ts: '2026-10-03T11:00:00Z',
            person: 'ana@acme.test',
            flag: 'redaction_failure',
            severity: 'high',
          },
        ],
      },
    );
    expect(flags.body.data).toEqual({ recordCompliance: { accepted: 1, rejected: 0 } });
  });
});
