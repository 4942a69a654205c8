/**
 * List prices of the Claude models the conductor may run on, in USD per million tokens, from
 * Anthropic's pricing pages. Cache writes cost more than plain input (5-minute entries 1.25x,
 * 1-hour entries 2x) and cache reads much less. Costs computed here are estimates for budgets and
 * dashboards; the invoice is the authority.
 */

export interface ModelPrice {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

const SONNET_5: ModelPrice = { input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 };
const SONNET_4: ModelPrice = { input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 };
const OPUS_4_5: ModelPrice = { input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 };

export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  // Sonnet 5.5 reads were reported cut to $0.10 in October 2026; $0.20 keeps the budget guard
  // on the safe side until the table is re-checked.
  'claude-sonnet-5-5': SONNET_5,
  'claude-sonnet-5': SONNET_5,
  'claude-sonnet-4-6': SONNET_4,
  'claude-sonnet-4-5': SONNET_4,
  'claude-haiku-5-5': { input: 0.1, output: 0.5, cacheWrite5m: 0.125, cacheWrite1h: 0.2, cacheRead: 0.01 },
  'claude-haiku-4-5': { input: 1, output: 5, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 },
  'claude-opus-5': OPUS_4_5,
  'claude-opus-4-8': OPUS_4_5,
  'claude-opus-4-7': OPUS_4_5,
  'claude-opus-4-6': OPUS_4_5,
  'claude-opus-4-5': OPUS_4_5,
};

/**
 * A model missing from the table is priced as the dearest model in it: the budget must never be
 * overrun because nobody updated this file.
 */
export const UNKNOWN_MODEL_PRICE: ModelPrice = Object.values(MODEL_PRICES).reduce((dearest, p) =>
  p.output > dearest.output ? p : dearest,
);

/** Dated snapshots (`claude-sonnet-4-5-20250929`) cost what their alias costs. */
function withoutSnapshotDate(model: string): string {
  return model.replace(/-\d{8}$/, '');
}

export function priceFor(model: string): { price: ModelPrice; known: boolean } {
  const price = MODEL_PRICES[model] ?? MODEL_PRICES[withoutSnapshotDate(model)];
  return price ? { price, known: true } : { price: UNKNOWN_MODEL_PRICE, known: false };
}
