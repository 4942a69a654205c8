import type { Redis } from 'ioredis';
import type { HostKeyStore } from './host-keys.js';

/**
 * Pinned host keys in Redis, shared by every process. Static entries (SSH_KNOWN_HOSTS, the fleet
 * file's `host_key`) win over learned ones and can never be overwritten by learning.
 */
export interface RedisHostKeyStore extends HostKeyStore {
  /** Forget a learned key: when an instance is destroyed its host:port may be reused by another. */
  forget(hostId: string): Promise<void>;
}

export function redisHostKeyStore(
  redis: Redis,
  prefix: string,
  statics: Readonly<Record<string, string>> = {},
): RedisHostKeyStore {
  const key = `${prefix}:hostkeys`;
  return {
    async get(hostId) {
      return statics[hostId] ?? (await redis.hget(key, hostId)) ?? undefined;
    },
    async set(hostId, value) {
      if (statics[hostId] !== undefined) return;
      await redis.hset(key, hostId, value);
    },
    async forget(hostId) {
      await redis.hdel(key, hostId);
    },
  };
}
