import type { ModelPrice } from './prices.js';

/**
 * Token usage as the conductor accounts for it, and its price. The API reports three kinds of
 * input (uncached, written to the cache, read from the cache) that are billed differently;
 * their sum is the prompt's size.
 */

export interface TokenUsage {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
  /** Of cacheWrite, tokens written with the 1-hour lifetime (billed at the higher rate). */
  cacheWrite1h: number;
}

export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({
  input: 0,
  output: 0,
  cacheWrite: 0,
  cacheRead: 0,
  cacheWrite1h: 0,
});

/** The SDK's `usage` object (fields may be null or missing on older responses). */
export interface ApiUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_1h_input_tokens?: number | null } | null;
}

function count(value: number | null | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

export function usageFromApi(usage: ApiUsage | null | undefined): TokenUsage {
  const cacheWrite = count(usage?.cache_creation_input_tokens);
  return {
    input: count(usage?.input_tokens),
    output: count(usage?.output_tokens),
    cacheWrite,
    cacheRead: count(usage?.cache_read_input_tokens),
    cacheWrite1h: Math.min(cacheWrite, count(usage?.cache_creation?.ephemeral_1h_input_tokens)),
  };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheWrite: a.cacheWrite + b.cacheWrite,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite1h: a.cacheWrite1h + b.cacheWrite1h,
  };
}

/** Every input token of the prompt, however it was billed. */
export function promptTokens(usage: TokenUsage): number {
  return usage.input + usage.cacheWrite + usage.cacheRead;
}

/** Share of the prompt served from the cache (0 when there was no prompt). */
export function cachedFraction(usage: TokenUsage): number {
  const total = promptTokens(usage);
  return total === 0 ? 0 : usage.cacheRead / total;
}

/** Billing is per token at prices per million; 1 nano-dollar granularity keeps sums exact. */
const NANO_PER_USD = 1e9;
const NANO_PER_TOKEN_PER_MTOK = NANO_PER_USD / 1e6;

/** Cost in whole nano-dollars (every listed price is a multiple of $0.001 per million tokens). */
export function usageCostNanos(usage: TokenUsage, price: ModelPrice): number {
  const write5m = usage.cacheWrite - usage.cacheWrite1h;
  const perMTok =
    usage.input * price.input +
    usage.output * price.output +
    write5m * price.cacheWrite5m +
    usage.cacheWrite1h * price.cacheWrite1h +
    usage.cacheRead * price.cacheRead;
  return Math.round(perMTok * NANO_PER_TOKEN_PER_MTOK);
}

export function usageCostUsd(usage: TokenUsage, price: ModelPrice): number {
  return usageCostNanos(usage, price) / NANO_PER_USD;
}

export function nanosToUsd(nanos: number): number {
  return nanos / NANO_PER_USD;
}
