import { afterAll, describe, expect, it } from 'vitest';
import { LockBusyError } from '../../../src/errors.js';
import { instanceLockKey, withLock } from '../../../src/queues/instance-lock.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const prefix = uniquePrefix('lock');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('instance lock', () => {
  it('lets only one action touch a run at a time', async () => {
    const key = instanceLockKey(prefix, 'mosaic_moe');
    let active = 0;
    let maxActive = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        withLock(redis, key, async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 50));
          active--;
        }),
      ),
    );
    expect(maxActive).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof LockBusyError)).toHaveLength(
      7,
    );
  });

  it('waits when asked, renews a long lease and releases only its own', async () => {
    const key = instanceLockKey(prefix, 'gpt2_reference');
    const order: string[] = [];
    await Promise.all([
      withLock(
        redis,
        key,
        async () => {
          order.push('a');
          await new Promise((r) => setTimeout(r, 400));
        },
        { ttlMs: 150 },
      ),
      new Promise((r) => setTimeout(r, 20)).then(() =>
        withLock(redis, key, async () => order.push('b'), { ttlMs: 150, waitMs: 2000 }),
      ),
    ]);
    expect(order).toEqual(['a', 'b']);
    expect(await redis.exists(key)).toBe(0);
  });
});
