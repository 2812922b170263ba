import { describe, expect, it } from 'vitest';
import { nextRoundInMs } from '../../src/api/workers.ts';

describe('when a background loop runs its next round', () => {
  it('keeps its interval from start to start when rounds are short', () => {
    expect(nextRoundInMs(250, 40, 0)).toBe(210);
    expect(nextRoundInMs(1_000, 0, 4)).toBe(1_000);
  });

  it('starts the next round at once after one longer than the interval', () => {
    // a budget pass of 400 ms under ingest: the next one starts without waiting for a tick
    expect(nextRoundInMs(250, 400, 0)).toBe(0);
  });

  it('rests restFactor times the last round first', () => {
    expect(nextRoundInMs(1_000, 500, 4)).toBe(2_000);
    expect(nextRoundInMs(1_000, 100, 4)).toBe(900);
  });
});
