import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisUnavailableError } from '../../../src/errors.js';
import { ensureRedis, pingRedis } from '../../../src/infra/redis/bootstrap.js';
import { redisUrl } from '../../helpers/redis.js';

describe('redis bootstrap', () => {
  it('uses a reachable Redis as is and never owns it', async () => {
    const handle = await ensureRedis(redisUrl(), true);
    expect(handle).toMatchObject({ url: redisUrl(), owned: false });
  });

  it('starts a private Redis on a free loopback port when none is reachable, and stops it', async () => {
    const handle = await ensureRedis('redis://127.0.0.1:1', false);
    try {
      expect(handle.owned).toBe(true);
      expect(handle.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      const client = new Redis(handle.url);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      client.disconnect();
    } finally {
      await handle.stop();
    }
    expect(await pingRedis(handle.url, 300)).toBe(false);
  });

  it('fails with one line when an explicit REDIS_URL is down', async () => {
    await expect(ensureRedis('redis://127.0.0.1:1', true)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(ensureRedis('redis://127.0.0.1:1', true)).rejects.toThrow(/REDIS_URL is not reachable/);
  });
});
