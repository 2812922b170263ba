// Per-request input limits in checkQuota's single decision, end to end on a real server
// over both transports: the request's input size (inputTokens, or the whole estimate)
// against the limit of its model's class and `request any`, the exact cost estimate in
// money beside the tokens, a request that names no model, and the size arguments refused
// with the field named. The clock is injected; nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activePolicyFor } from '../../src/app/active-policy.ts';
import { MEMBER_PERSON, seedDirectory, startTestApi, type TestApi } from '../api/support.ts';

const POLICY = `
policy "request-limits" version "t1"
currency EUR
timezone "UTC"
class premium  "Frontier"
class economy  "Routine"
model "big"   class premium price { input 15.00 output 75.00 }
model "small" class economy price { input 0.15 output 0.60 }
tier everyone "Everyone" { limit 1000M tokens per month models any }
assign everyone otherwise
request premium { warn above 100k input "trim the context"  block above 400k input }
request any     { warn above 200k input }
`;

let api: TestApi;
const clock = new Date('2026-10-20T12:00:00Z');

type Answer = {
  decision: string;
  notice: string | null;
  inputTokens: number;
  estimatedTokens: number;
  estimatedCost: { amount: string; currency: string } | null;
  binding: { kind: string; name: string } | null;
  next: { action: string };
};

const FIELDS =
  'decision notice inputTokens estimatedTokens estimatedCost { amount currency } binding { kind name } next { action }';

/** The same question over GraphQL and plain HTTP; both answers must agree. */
async function ask(args: Record<string, unknown>): Promise<Answer> {
  const res = await api.gql<{ checkQuota: Answer }>(
    api.keys.ingest.key,
    `query($p: String!, $m: String, $e: Int, $i: Int) {
       checkQuota(person: $p, model: $m, estimatedTokens: $e, inputTokens: $i) {
         ... on QuotaCheck { ${FIELDS} } } }`,
    { p: MEMBER_PERSON, m: args.model, e: args.estimatedTokens, i: args.inputTokens },
  );
  if (res.body.errors?.length) throw new Error(JSON.stringify(res.body.errors));
  const data = (res.body.data as { checkQuota: Answer }).checkQuota;
  const http = await fetch(`${api.url}/v1/quota/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.keys.ingest.key}` },
    body: JSON.stringify({ person: MEMBER_PERSON, ...args }),
  });
  expect(http.status).toBe(200);
  const plain = (await http.json()) as Answer;
  expect({
    decision: plain.decision,
    notice: plain.notice,
    inputTokens: plain.inputTokens,
    estimatedTokens: plain.estimatedTokens,
    estimatedCost: plain.estimatedCost,
    binding: plain.binding && { kind: plain.binding.kind, name: plain.binding.name },
    next: { action: plain.next.action },
  }).toEqual(data);
  return data;
}

beforeAll(async () => {
  api = await startTestApi();
  activePolicyFor(api.store).setClock(() => clock);
  await seedDirectory(api);
  const res = await api.gql<{ publishPolicy: { __typename: string } }>(
    api.keys.governance.key,
    'mutation($s: String!) { publishPolicy(source: $s, activate: true) { __typename } }',
    { s: POLICY },
  );
  expect(
    (res.body.data as { publishPolicy: { __typename: string } }).publishPolicy.__typename,
  ).toBe('PolicyVersion');
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('a request limit', () => {
  it('warns on a large prompt to a frontier model and answers its exact cost', async () => {
    const answer = await ask({ model: 'big', inputTokens: 150_000, estimatedTokens: 152_000 });
    expect(answer.decision).toBe('allow_with_notice');
    expect(answer.binding).toEqual({ kind: 'request', name: 'premium' });
    expect(answer.notice).toContain('trim the context');
    // 150,000 × 15.00 / 1M + 2,000 × 75.00 / 1M = 2.25 + 0.15
    expect(answer.estimatedCost).toEqual({ amount: '2.400000000000', currency: 'EUR' });
    expect(answer).toMatchObject({ inputTokens: 150_000, estimatedTokens: 152_000 });
  });

  it('blocks a prompt past the class limit and says to send less', async () => {
    const answer = await ask({ model: 'big', inputTokens: 500_000, estimatedTokens: 500_000 });
    expect(answer.decision).toBe('block');
    expect(answer.binding).toEqual({ kind: 'request', name: 'premium' });
    expect(answer.next.action).toBe('reduce_input');
  });

  it('weighs the whole estimate as input when inputTokens is not given', async () => {
    const answer = await ask({ model: 'small', estimatedTokens: 250_000 });
    expect(answer.binding).toEqual({ kind: 'request', name: 'any' });
    expect(answer.inputTokens).toBe(250_000);
    // 250,000 × 0.15 / 1M, all of it at the input rate
    expect(answer.estimatedCost?.amount).toBe('0.037500000000');
  });

  it('takes inputTokens alone, and a request that names no model meets only `any`', async () => {
    const small = await ask({ inputTokens: 150_000 });
    expect(small.decision).toBe('allow');
    expect(small.estimatedCost).toBeNull();
    expect(small.estimatedTokens).toBe(150_000);
    const large = await ask({ inputTokens: 300_000 });
    expect(large.binding).toEqual({ kind: 'request', name: 'any' });
    expect(large.decision).toBe('allow_with_notice');
  });

  it('refuses a request with no size, or more input than the estimate, naming the field', async () => {
    const none = await fetch(`${api.url}/v1/quota/check`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${api.keys.ingest.key}`,
      },
      body: JSON.stringify({ person: MEMBER_PERSON, model: 'big' }),
    });
    expect(none.status).toBe(400);
    expect(((await none.json()) as { problems: { field: string }[] }).problems).toEqual([
      expect.objectContaining({ field: 'estimatedTokens' }),
    ]);
    const res = await api.gql(
      api.keys.ingest.key,
      `{ checkQuota(person: "${MEMBER_PERSON}", model: "big", estimatedTokens: 10, inputTokens: 20) {
         __typename ... on InvalidRequest { problems { field message } } } }`,
    );
    expect(res.body.data).toEqual({
      checkQuota: {
        __typename: 'InvalidRequest',
        problems: [
          {
            field: 'inputTokens',
            message: 'must not exceed estimatedTokens (which counts input and output)',
          },
        ],
      },
    });
  });
});
