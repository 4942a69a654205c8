import type { Redis } from 'ioredis';
import type { Clock } from '../../clock.js';
import type { Metrics } from '../../http/metrics.js';
import { nanosToUsd, type TokenUsage } from './cost.js';

/**
 * LLM spend in Redis, under the store's key prefix: one hash per UTC day, one per training run the
 * spend was about (`fleet` when none), and a running total. Each hash counts calls, the four kinds
 * of tokens and the cost in nano-dollars (integers, so concurrent workers add up exactly). Every
 * record also feeds the Prometheus counters.
 */

export interface LedgerTotals {
  calls: number;
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
  usd: number;
}

export interface LedgerEntry {
  usage: TokenUsage;
  costNanos: number;
  /** The training run the call was about; `fleet` for questions about no run in particular. */
  run?: string;
}

export interface LlmLedger {
  record(entry: LedgerEntry): Promise<void>;
  /** Dollars spent on the current UTC day (by the clock). */
  spentTodayUsd(): Promise<number>;
  day(date?: string): Promise<LedgerTotals>;
  run(name: string): Promise<LedgerTotals>;
  total(): Promise<LedgerTotals>;
}

export interface LedgerDeps {
  redis: Redis;
  prefix: string;
  clock: Clock;
  metrics?: Pick<Metrics, 'llmTokens' | 'llmDollars'> | undefined;
  /** How long a day's counters are kept (default 90 days). */
  dayRetentionMs?: number;
}

export const FLEET_RUN = 'fleet';
const DAY_MS = 86_400_000;

/** The UTC day of an epoch-ms instant, `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function llmKeys(prefix: string) {
  return {
    day: (date: string) => `${prefix}:llm:day:${date}`,
    run: (name: string) => `${prefix}:llm:run:${name}`,
    total: `${prefix}:llm:total`,
  };
}

function totalsFrom(hash: Record<string, string>): LedgerTotals {
  const n = (field: string) => Number(hash[field] ?? 0) || 0;
  return {
    calls: n('calls'),
    input: n('input'),
    output: n('output'),
    cacheWrite: n('cache_write'),
    cacheRead: n('cache_read'),
    usd: nanosToUsd(n('nanos')),
  };
}

export function createLlmLedger(deps: LedgerDeps): LlmLedger {
  const keys = llmKeys(deps.prefix);
  const retentionMs = deps.dayRetentionMs ?? 90 * DAY_MS;
  const today = () => utcDay(deps.clock.now());

  function exportMetrics(entry: LedgerEntry): void {
    const m = deps.metrics;
    if (!m) return;
    const { usage } = entry;
    m.llmTokens.inc({ type: 'input' }, usage.input);
    m.llmTokens.inc({ type: 'output' }, usage.output);
    m.llmTokens.inc({ type: 'cache_write' }, usage.cacheWrite);
    m.llmTokens.inc({ type: 'cache_read' }, usage.cacheRead);
    m.llmDollars.inc(nanosToUsd(entry.costNanos));
  }

  return {
    async record(entry) {
      const run = entry.run ?? FLEET_RUN;
      const dayKey = keys.day(today());
      const multi = deps.redis.multi();
      for (const key of [dayKey, keys.run(run), keys.total]) {
        multi
          .hincrby(key, 'calls', 1)
          .hincrby(key, 'input', entry.usage.input)
          .hincrby(key, 'output', entry.usage.output)
          .hincrby(key, 'cache_write', entry.usage.cacheWrite)
          .hincrby(key, 'cache_read', entry.usage.cacheRead)
          .hincrby(key, 'nanos', entry.costNanos);
      }
      // Redis counts real time: a fast clock must not keep a day's counters for months.
      multi.pexpire(dayKey, Math.max(1, Math.ceil(retentionMs / deps.clock.speed)));
      await multi.exec();
      exportMetrics(entry);
    },
    async spentTodayUsd() {
      const nanos = await deps.redis.hget(keys.day(today()), 'nanos');
      return nanosToUsd(Number(nanos ?? 0) || 0);
    },
    async day(date = today()) {
      return totalsFrom(await deps.redis.hgetall(keys.day(date)));
    },
    async run(name) {
      return totalsFrom(await deps.redis.hgetall(keys.run(name)));
    },
    async total() {
      return totalsFrom(await deps.redis.hgetall(keys.total));
    },
  };
}
