// The price model against worked examples from the providers' price pages, computed by
// hand here. Sources:
// - Anthropic: https://platform.claude.com/docs/en/about-claude/pricing (model table with
//   5m/1h cache writes and cache hits; "Long context pricing" for Sonnet 4.5 above 200K
//   input tokens, cache reads and writes included in the count; "Batch processing" at
//   50%; "Web search tool" $10 per 1,000 searches)
// - OpenAI: https://platform.openai.com/docs/pricing (gpt-4o standard $2.50/$1.25/$10,
//   priority $4.25/$2.125/$17.00, Batch API 50%; gpt-4o-audio-preview text $2.50/$10,
//   audio $40/$80)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzePolicy } from '../../src/policy/analyze.ts';
import { diffPolicies } from '../../src/policy/diff.ts';
import { formatPolicy } from '../../src/policy/format.ts';
import { priceTable } from '../../src/policy/ir.ts';
import {
  costPico,
  globMatches,
  type PriceTable,
  picoToDecimal,
  resolveModel,
  type TokenCounts,
} from '../../src/policy/price.ts';

const shipped = analyzePolicy(
  readFileSync(new URL('../../policies/default.policy', import.meta.url), 'utf8'),
);
if (!shipped.ir) throw new Error('default.policy does not compile');
const prices = priceTable(shipped.ir);

const zero = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
const dollars = (model: string, tokens: Partial<TokenCounts>, table: PriceTable = prices) => {
  const pico = costPico(table, model, { ...zero, ...tokens });
  return pico === null ? null : picoToDecimal(pico);
};

describe('worked examples under policies/default.policy', () => {
  it('Claude Sonnet 4.5: input, 5-minute and 1-hour cache writes, cache hits, output', () => {
    // 1,000 × $3 + 2,000 × $3.75 + 3,000 × $6 + 10,000 × $0.30 + 500 × $15, per 1M
    // = 0.003 + 0.0075 + 0.018 + 0.003 + 0.0075 = $0.039
    expect(
      dollars('claude-sonnet-4-5-20250929', {
        inputTokens: 1_000,
        cacheWriteTokens: 5_000,
        cacheWrite1hTokens: 3_000,
        cacheReadTokens: 10_000,
        outputTokens: 500,
      }),
    ).toBe('0.039000000000');
  });

  it('Claude Sonnet 4.5 above 200K input tokens: the long-context rates, cache reads counted', () => {
    // 250,000 × $6 + 1,000 × $22.50 = 1.5 + 0.0225
    expect(dollars('claude-sonnet-4-5', { inputTokens: 250_000, outputTokens: 1_000 })).toBe(
      '1.522500000000',
    );
    // exactly 200,000 is not above: 200,000 × $3 + 1,000 × $15
    expect(dollars('claude-sonnet-4-5', { inputTokens: 200_000, outputTokens: 1_000 })).toBe(
      '0.615000000000',
    );
    // 150,000 uncached + 60,000 cache reads = 210,000 input: 0.9 + 60,000 × $0.60 = 0.936
    expect(dollars('claude-sonnet-4-5', { inputTokens: 150_000, cacheReadTokens: 60_000 })).toBe(
      '0.936000000000',
    );
    // an aggregated row of 10 requests of 30,000 tokens each is below the threshold
    expect(dollars('claude-sonnet-4-5', { inputTokens: 300_000, requests: 10 })).toBe(
      '0.900000000000',
    );
    // the provider said so (Anthropic's report groups by context_window)
    expect(
      dollars('claude-sonnet-4-5', { inputTokens: 300_000, requests: 10, longContext: true }),
    ).toBe('1.800000000000');
  });

  it('batch at 50% and priority at 170% of the token price', () => {
    // Sonnet 4.5 batch: (100K × $3 + 1M × $15) / 2 = (0.3 + 15) / 2
    expect(
      dollars('claude-sonnet-4-5', {
        inputTokens: 100_000,
        outputTokens: 1_000_000,
        serviceTier: 'batch',
      }),
    ).toBe('7.650000000000');
    // long context and batch stack: (1M × $6 + 1M × $22.50) / 2
    expect(
      dollars('claude-sonnet-4-5', {
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
        serviceTier: 'batch',
      }),
    ).toBe('14.250000000000');
    // gpt-4o priority: 1M input $4.25, 1M cached $2.125, 1M output $17.00
    expect(
      dollars('gpt-4o-2024-08-06', {
        inputTokens: 1_000_000,
        cacheReadTokens: 1_000_000,
        outputTokens: 1_000_000,
        serviceTier: 'priority',
      }),
    ).toBe('23.375000000000');
    // standard and unknown tiers pay the list price
    expect(dollars('gpt-4o', { inputTokens: 1_000_000, serviceTier: 'default' })).toBe(
      '2.500000000000',
    );
  });

  it('web search at $10 per 1,000 searches, outside the batch share', () => {
    // 3 searches = $0.03, plus 1,000 input × $3 / 2 in batch
    expect(
      dollars('anthropic/claude-sonnet-4-5-20250929', {
        inputTokens: 1_000,
        webSearchRequests: 3,
        serviceTier: 'batch',
      }),
    ).toBe('0.031500000000');
  });

  it('audio tokens at their own rates, as parts of input and output', () => {
    // 400 text in × $2.50 + 600 audio in × $40 + 100 text out × $10 + 400 audio out × $80
    // = 0.001 + 0.024 + 0.001 + 0.032 = $0.058
    expect(
      dollars('gpt-4o-audio-preview-2024-12-17', {
        inputTokens: 1_000,
        audioInputTokens: 600,
        outputTokens: 500,
        audioOutputTokens: 400,
      }),
    ).toBe('0.058000000000');
  });

  it('rounds a share half up to a whole pico-unit, once per event', () => {
    const table: PriceTable = {
      currency: 'USD',
      models: {
        m: { class: 'c', input: 1, output: 0, cacheRead: 0, cacheWrite: 0, batch: 5_000 },
      },
    };
    expect(costPico(table, 'm', { ...zero, inputTokens: 1, serviceTier: 'batch' })).toBe(1n);
    expect(costPico(table, 'm', { ...zero, inputTokens: 3, serviceTier: 'batch' })).toBe(2n);
  });
});

describe('provider names', () => {
  const cases: [string, string | null][] = [
    ['claude-sonnet-4-5', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['anthropic/claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5'],
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-5@20250929', 'claude-sonnet-4-5'],
    ['vertex_ai/claude-sonnet-4-5@20250929', 'claude-sonnet-4-5'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['openai/gpt-4o', 'gpt-4o'],
    ['azure/gpt-4o-2024-11-20', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai/gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-4o-audio-preview-2024-12-17', 'gpt-4o-audio-preview'],
    ['claude-3-5-sonnet-20241022', null],
    ['gpt-4.1', null],
  ];
  it.each(cases)('%s is priced as %s', (name, model) => {
    expect(resolveModel(prices, name)).toBe(model);
  });

  it('globs: * is any text, everything else literal', () => {
    expect(globMatches('*anthropic.claude-opus-4-1-*', 'eu.anthropic.claude-opus-4-1-x')).toBe(
      true,
    );
    expect(globMatches('claude-opus-4-1-2*', 'claude-opus-4-1')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
  });

  it('the most specific pattern wins when two match', () => {
    const table: PriceTable = {
      currency: 'USD',
      models: {
        wide: { class: 'c', input: 1, output: 0, cacheRead: 0, cacheWrite: 0, matches: ['x-*'] },
        narrow: {
          class: 'c',
          input: 2,
          output: 0,
          cacheRead: 0,
          cacheWrite: 0,
          matches: ['x-mini-*'],
        },
      },
    };
    expect(resolveModel(table, 'x-mini-1')).toBe('narrow');
    expect(resolveModel(table, 'x-1')).toBe('wide');
  });
});

const HEAD = 'policy "p" version "1"\ncurrency USD\nclass c "C"\n';
const codes = (text: string) => analyzePolicy(HEAD + text).diagnostics.map((d) => d.code);

describe('the language', () => {
  it('reports a pattern covering another model, a shared pattern, and a pattern of stars', () => {
    expect(codes('model "a-4" class c matches "a-4-*"\nmodel "a-4-5" class c\n')).toEqual([
      'Q3014',
    ]);
    expect(codes('model "a" class c matches "*/x"\nmodel "b" class c matches "*/x"\n')).toEqual([
      'Q3014',
    ]);
    expect(codes('model "a" class c matches "**"\n')).toEqual(['Q3015']);
    expect(
      codes('model "a-4" class c matches "a-4-2*"\nmodel "a-4-5" class c matches "a-4-5-*"\n'),
    ).toEqual([]);
  });

  it('checks per-call prices, shares and thresholds', () => {
    expect(codes('model "a" class c price { web_search 10.00 per 0 }\n')).toEqual(['Q4012']);
    expect(codes('model "a" class c price { batch 50.123% }\n')).toEqual(['Q4012']);
    expect(codes('model "a" class c price { batch 50% batch 40% }\n')).toEqual(['Q3010']);
    expect(codes('model "a" class c price { above 200k input { } }\n')).toEqual(['Q5013']);
    expect(codes('model "a" class c price { above 1.5 input { input 1 } }\n')).toEqual(['Q4012']);
  });

  it('formats a long model as a block, and reads its own output back to the same meaning', () => {
    const source = `${HEAD}model "a" class c matches "a-2*", "*/a" price { input 3 output 15 cache_write_1h 6 web_search 10 per 1k batch 50% priority 170% above 200k input { input 6 } }\n`;
    const first = analyzePolicy(source);
    const text = formatPolicy(first.ast);
    expect(text).toContain(
      [
        'model "a" class c',
        '  matches "a-2*", "*/a"',
        '  price {',
        '    input 3  output 15  cache_write_1h 6',
        '    web_search 10 per 1k',
        '    batch 50%  priority 170%',
        '    above 200k input { input 6 }',
        '  }',
      ].join('\n'),
    );
    const again = analyzePolicy(text);
    expect(again.hash).toBe(first.hash);
    expect(formatPolicy(again.ast)).toBe(text);
    expect(first.ir?.models.a).toEqual({
      class: 'c',
      input: 3_000_000,
      output: 15_000_000,
      cacheRead: 0,
      cacheWrite: 0,
      cacheWrite1h: 6_000_000,
      matches: ['*/a', 'a-2*'],
      webSearch: { micros: 10_000_000, per: 1_000 },
      batch: 5_000,
      priority: 17_000,
      longContext: [
        {
          above: 200_000,
          input: 6_000_000,
          output: 15_000_000,
          cacheRead: 0,
          cacheWrite: 0,
          cacheWrite1h: 6_000_000,
        },
      ],
    });
  });

  it('keeps the IR of a model without the new parts as it was (same hash inputs)', () => {
    const ir = analyzePolicy(`${HEAD}model "a" class c price { input 1 }\n`).ir;
    expect(Object.keys(ir?.models.a ?? {}).sort()).toEqual([
      'cacheRead',
      'cacheWrite',
      'class',
      'input',
      'output',
    ]);
  });

  it('diffs patterns and the new price parts', () => {
    const a = analyzePolicy(`${HEAD}model "a" class c matches "a-2*" price { input 1 }\n`);
    const b = analyzePolicy(
      `${HEAD}model "a" class c matches "a-2*", "*/a" price { input 1 batch 50% }\n`,
    );
    const diff = diffPolicies({ ast: a.ast, ir: a.ir! }, { ast: b.ast, ir: b.ir! });
    const fields = diff.changes.flatMap((c) => c.fields.map((f) => f.field));
    expect(fields).toEqual(['matches', 'batch']);
  });
});
