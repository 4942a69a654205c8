import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA (EVALSHA), loaded on first NOSCRIPT. Scripts are how the state layer
 * makes read-check-write steps atomic across every process sharing the Redis, without WATCH (which
 * is per connection and would break when callers share one ioredis client).
 */
export interface LuaScript {
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

export function luaScript(source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}

/** HGETALL as returned inside a script: a flat [field, value, ...] array. */
export function pairsToRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (!Array.isArray(value)) return record;
  for (let i = 0; i + 1 < value.length; i += 2) {
    record[String(value[i])] = String(value[i + 1]);
  }
  return record;
}
