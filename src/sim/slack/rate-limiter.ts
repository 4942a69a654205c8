/**
 * Slack's Web API rate limits, simplified to one budget per method per rolling minute. A refused
 * call gets HTTP 429 with `Retry-After` in whole seconds: how long until the oldest call in the
 * window ages out, which is when a retry can succeed.
 */

export interface RateLimitOptions {
  /** Calls allowed per method in any 60 s window; undefined means unlimited. */
  perMethodPerMinute?: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterS: number };

const WINDOW_MS = 60_000;

export interface RateLimiter {
  check(method: string, nowMs: number): RateDecision;
  configure(options: RateLimitOptions | undefined): void;
}

export function createRateLimiter(initial?: RateLimitOptions): RateLimiter {
  let limit = initial?.perMethodPerMinute;
  const calls = new Map<string, number[]>();
  return {
    configure(options) {
      limit = options?.perMethodPerMinute;
      calls.clear();
    },
    check(method, nowMs) {
      if (limit === undefined) return { ok: true };
      const recent = (calls.get(method) ?? []).filter((t) => t > nowMs - WINDOW_MS);
      calls.set(method, recent);
      if (recent.length >= limit) {
        const oldest = recent[0] ?? nowMs;
        return { ok: false, retryAfterS: Math.max(1, Math.ceil((oldest + WINDOW_MS - nowMs) / 1000)) };
      }
      recent.push(nowMs);
      return { ok: true };
    },
  };
}
