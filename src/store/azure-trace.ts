// The slice of the Azure LLM inference trace (data/azure-llm-inference-2023, CC-BY 4.0)
// that seeds and benchmarks draw token sizes and arrival gaps from.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AZURE_TRACE_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../data/azure-llm-inference-2023',
);

/** One real request: input and output tokens, and the gap since the previous request. */
export type TraceSample = { input: number; output: number; gapMs: number };

function load(file: string): TraceSample[] {
  const lines = readFileSync(join(AZURE_TRACE_DIR, file), 'utf8').trim().split('\n').slice(1);
  const samples: TraceSample[] = [];
  let previous: number | null = null;
  for (const line of lines) {
    const [stamp, context, generated] = line.split(',');
    const at = Date.parse(`${stamp.replace(' ', 'T').slice(0, 23)}Z`);
    samples.push({
      input: Number(context),
      output: Number(generated),
      gapMs: previous === null ? 0 : at - previous,
    });
    previous = at;
  }
  return samples;
}

let cached: { code: TraceSample[]; conv: TraceSample[] } | null = null;

/** The code-completion and conversation traces, in arrival order. */
export function azureTrace(): { code: TraceSample[]; conv: TraceSample[] } {
  cached ??= { code: load('code.csv'), conv: load('conv.csv') };
  return cached;
}

/** A small deterministic PRNG (mulberry32): same seed, same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cumulative Zipf weights (exponent s) for n ranks, for sampling with zipfPick. */
export function zipfCumulative(n: number, s = 1.1): Float64Array {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cumulative[i] = sum;
  }
  for (let i = 0; i < n; i++) cumulative[i] /= sum;
  return cumulative;
}

/** The rank whose cumulative weight first exceeds u ∈ [0, 1). */
export function zipfPick(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
