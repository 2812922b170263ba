import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from '../../src/policy/suggest.ts';

describe('suggest', () => {
  const keywords = ['tier', 'test', 'limit', 'models', 'leaderboard', 'escalation', 'exceptions'];

  it('finds the intended word for common slips', () => {
    expect(suggest('teir', keywords)).toBe('tier'); // swapped letters
    expect(suggest('limt', keywords)).toBe('limit'); // dropped letter
    expect(suggest('modells', keywords)).toBe('models'); // doubled letter
    expect(suggest('leaderbord', keywords)).toBe('leaderboard');
    expect(suggest('escalaton', keywords)).toBe('escalation');
    expect(suggest('Tier', keywords)).toBe('tier'); // case only
  });

  it('stays quiet when nothing is close', () => {
    expect(suggest('x', keywords)).toBeUndefined();
    expect(suggest('budget', keywords)).toBeUndefined();
    expect(suggest('', keywords)).toBeUndefined();
    expect(suggest('tier', keywords)).toBeUndefined(); // already right
  });

  it('measures edits, counting a swap of neighbours as one', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('teir', 'tier')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3); // stops early past the limit
  });
});
