import type { Usage } from './usage.js';

/** What a model costs, in US dollars per million tokens of each kind. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Writing the prompt cache (5-minute entries). */
  cacheWritePerMTok: number;
  cacheReadPerMTok: number;
}

const price = (input: number, output: number): ModelPrice => ({
  inputPerMTok: input,
  outputPerMTok: output,
  cacheWritePerMTok: input * 1.25,
  cacheReadPerMTok: input * 0.1,
});

/**
 * Claude prices, by model id or by id prefix (the longest matching key wins). The family entries
 * (`claude-opus`, `claude-sonnet`, `claude-haiku`) carry the latest list prices known when this
 * table was written, and stand in for models the table does not name; give `createRuntime({
 * prices })` the exact figures from Anthropic's pricing page where they matter.
 */
export const claudePrices: Readonly<Record<string, ModelPrice>> = {
  'claude-opus': price(5, 25),
  'claude-opus-4-1': price(15, 75),
  'claude-opus-4-0': price(15, 75),
  'claude-opus-4-2': price(15, 75),
  'claude-sonnet': price(3, 15),
  'claude-haiku': price(1, 5),
  'claude-3-5-haiku': price(0.8, 4),
};

/** The price of a model: an exact id in `prices`, else the longest id prefix that has one. */
export function priceOf(
  modelId: string,
  prices: Readonly<Record<string, ModelPrice>>,
): ModelPrice | undefined {
  let best: string | undefined;
  for (const key of Object.keys(prices)) {
    if ((modelId === key || modelId.startsWith(key)) && (best === undefined || key.length > best.length))
      best = key;
  }
  return best === undefined ? undefined : prices[best];
}

/** What a usage costs at a price, in US dollars. */
export function costOf(usage: Usage, price: ModelPrice | undefined): number {
  if (price === undefined) return 0;
  return (
    (usage.inputTokens * price.inputPerMTok +
      usage.outputTokens * price.outputPerMTok +
      usage.cacheCreationInputTokens * price.cacheWritePerMTok +
      usage.cacheReadInputTokens * price.cacheReadPerMTok) /
    1_000_000
  );
}
