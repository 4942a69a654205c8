import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The Redis URL chosen by the global setup. */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A unique key prefix per test, so tests never touch each other's (or anyone's) keys. */
export function uniquePrefix(label = 't'): string {
  return `tctest:${label}:${randomBytes(4).toString('hex')}`;
}

/** Deletes only the keys under `prefix` (never FLUSHDB a Redis we did not start). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export function newRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: null });
}
