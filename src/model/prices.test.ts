import { describe, expect, it } from 'vitest';
import { claudePrices, costOf, priceOf } from './prices.js';

describe('prices', () => {
  it('finds an exact id first, then the longest family prefix', () => {
    expect(priceOf('claude-opus-4-1-20250805', claudePrices)?.inputPerMTok).toBe(15);
    expect(priceOf('claude-opus-5-5', claudePrices)?.inputPerMTok).toBe(5);
    expect(priceOf('claude-sonnet-5-5', claudePrices)?.outputPerMTok).toBe(15);
    expect(priceOf('scripted', claudePrices)).toBeUndefined();
    expect(
      priceOf('mine', {
        ...claudePrices,
        mine: { inputPerMTok: 2, outputPerMTok: 4, cacheWritePerMTok: 0, cacheReadPerMTok: 0 },
      })?.inputPerMTok,
    ).toBe(2);
  });

  it('prices every usage field', () => {
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 100_000,
      cacheCreationInputTokens: 200_000,
      cacheReadInputTokens: 1_000_000,
    };
    // 3 + 1.5 + 0.2 * 3.75 + 0.3
    expect(costOf(usage, priceOf('claude-sonnet-4-5', claudePrices))).toBeCloseTo(5.55, 10);
    expect(costOf(usage, undefined)).toBe(0);
  });
});
