import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LockBusyError } from '../errors.js';

/**
 * One action at a time per instance (or run): a Redis lease with an owner token, released only by
 * its owner, renewed while the action runs so a long migration keeps it, and expiring by itself if
 * the process dies.
 */

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface LockOptions {
  ttlMs?: number;
  /** How long to keep trying before LockBusyError (0 = fail at once). */
  waitMs?: number;
}

export async function withLock<T>(
  redis: Redis,
  key: string,
  fn: (signal: AbortSignal) => Promise<T>,
  { ttlMs = 60_000, waitMs = 0 }: LockOptions = {},
): Promise<T> {
  const token = randomBytes(12).toString('hex');
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = await redis.set(key, token, 'PX', ttlMs, 'NX');
    if (got === 'OK') break;
    if (Date.now() >= deadline) throw new LockBusyError(`${key} is held by another action`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const lost = new AbortController();
  const renew = setInterval(
    () => {
      redis
        .eval(RENEW, 1, key, token, String(ttlMs))
        .then((ok) => {
          if (ok !== 1) lost.abort(new LockBusyError(`${key} was lost`));
        })
        .catch(() => {});
    },
    Math.max(50, Math.floor(ttlMs / 3)),
  );
  try {
    return await fn(lost.signal);
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token).catch(() => {});
  }
}

export function instanceLockKey(prefix: string, run: string): string {
  return `${prefix}:lock:run:${run}`;
}
