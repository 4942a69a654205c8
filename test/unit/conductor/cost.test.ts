import { describe, expect, it } from 'vitest';
import { checkLlmBudget } from '../../../src/infra/llm/budget.js';
import {
  addUsage,
  cachedFraction,
  usageCostNanos,
  usageCostUsd,
  usageFromApi,
  ZERO_USAGE,
} from '../../../src/infra/llm/cost.js';
import { utcDay } from '../../../src/infra/llm/ledger.js';
import { MODEL_PRICES, priceFor, UNKNOWN_MODEL_PRICE } from '../../../src/infra/llm/prices.js';

/** Cost math: four kinds of tokens, each at its own price; the budget check. */

const sonnet = priceFor('claude-sonnet-5-5').price;

describe('usage', () => {
  it('reads the API usage, treating null and missing as zero', () => {
    expect(
      usageFromApi({
        input_tokens: 12,
        output_tokens: 30,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: 4000,
      }),
    ).toEqual({ input: 12, output: 30, cacheWrite: 0, cacheRead: 4000, cacheWrite1h: 0 });
    expect(usageFromApi(null)).toEqual(ZERO_USAGE);
    expect(
      usageFromApi({
        input_tokens: 1,
        output_tokens: 1,
        cache_creation_input_tokens: 100,
        cache_creation: { ephemeral_1h_input_tokens: 40 },
      }),
    ).toMatchObject({ cacheWrite: 100, cacheWrite1h: 40 });
  });

  it('adds usages and measures the cached share of the prompt', () => {
    const a = { input: 10, output: 5, cacheWrite: 90, cacheRead: 0, cacheWrite1h: 0 };
    const b = { input: 10, output: 5, cacheWrite: 0, cacheRead: 90, cacheWrite1h: 0 };
    const sum = addUsage(a, b);
    expect(sum).toEqual({ input: 20, output: 10, cacheWrite: 90, cacheRead: 90, cacheWrite1h: 0 });
    expect(cachedFraction(b)).toBeCloseTo(0.9);
    expect(cachedFraction(ZERO_USAGE)).toBe(0);
  });
});

describe('cost', () => {
  it('prices each kind of token at its own rate', () => {
    const million = (over: Partial<typeof ZERO_USAGE>) => ({ ...ZERO_USAGE, ...over });
    expect(usageCostUsd(million({ input: 1_000_000 }), sonnet)).toBe(2);
    expect(usageCostUsd(million({ output: 1_000_000 }), sonnet)).toBe(10);
    expect(usageCostUsd(million({ cacheWrite: 1_000_000 }), sonnet)).toBe(2.5);
    expect(usageCostUsd(million({ cacheWrite: 1_000_000, cacheWrite1h: 1_000_000 }), sonnet)).toBe(4);
    expect(usageCostUsd(million({ cacheRead: 1_000_000 }), sonnet)).toBe(0.2);
  });

  it('counts in whole nano-dollars so sums stay exact', () => {
    const oneToken = { ...ZERO_USAGE, cacheRead: 1 };
    expect(usageCostNanos(oneToken, MODEL_PRICES['claude-haiku-5-5']!)).toBe(10);
    const turn = { input: 37, output: 412, cacheWrite: 3911, cacheRead: 8047, cacheWrite1h: 0 };
    const nanos = usageCostNanos(turn, sonnet);
    expect(Number.isInteger(nanos)).toBe(true);
    expect(nanos).toBe(37 * 2000 + 412 * 10_000 + 3911 * 2500 + 8047 * 200);
  });

  it('prices dated snapshots like their alias and unknown models like the dearest one', () => {
    expect(priceFor('claude-sonnet-4-5-20250929')).toEqual({
      price: MODEL_PRICES['claude-sonnet-4-5'],
      known: true,
    });
    const unknown = priceFor('claude-future-9');
    expect(unknown.known).toBe(false);
    expect(unknown.price).toBe(UNKNOWN_MODEL_PRICE);
    for (const price of Object.values(MODEL_PRICES))
      expect(UNKNOWN_MODEL_PRICE.output).toBeGreaterThanOrEqual(price.output);
  });

  it('keys days by UTC date', () => {
    expect(utcDay(Date.UTC(2026, 0, 15, 23, 59, 59))).toBe('2026-01-15');
    expect(utcDay(Date.UTC(2026, 0, 16, 0, 0, 0))).toBe('2026-01-16');
  });
});

describe('checkLlmBudget', () => {
  it('allows spending below the daily budget and refuses at or above it, saying why', () => {
    expect(checkLlmBudget(4.5, 20)).toEqual({ ok: true, remainingUsd: 15.5 });
    const spent = checkLlmBudget(20, 20);
    expect(spent.ok).toBe(false);
    expect(!spent.ok && spent.reason).toBe(
      "today's LLM budget of $20.00 is used up ($20.00 spent, resets at 00:00 UTC)",
    );
    expect(checkLlmBudget(0, 0).ok).toBe(false);
    expect(checkLlmBudget(Number.NaN, 20).ok).toBe(false);
  });
});
