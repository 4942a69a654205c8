import { afterAll, describe, expect, it } from 'vitest';
import { redisHostKeyStore } from '../../../src/infra/ssh/redis-host-keys.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const prefix = uniquePrefix('hostkeys');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('redis host key store', () => {
  it('persists learned keys across store instances and forgets on request', async () => {
    const a = redisHostKeyStore(redis, prefix);
    await a.set('[127.0.0.1]:2201', 'ssh-ed25519 AAAAkey1');
    const b = redisHostKeyStore(redis, prefix);
    expect(await b.get('[127.0.0.1]:2201')).toBe('ssh-ed25519 AAAAkey1');
    await b.forget('[127.0.0.1]:2201');
    expect(await a.get('[127.0.0.1]:2201')).toBeUndefined();
  });

  it('never lets learning overwrite a static pin', async () => {
    const store = redisHostKeyStore(redis, prefix, { 'gpu-box': 'ssh-ed25519 AAAAstatic' });
    await store.set('gpu-box', 'ssh-ed25519 AAAAattacker');
    expect(await store.get('gpu-box')).toBe('ssh-ed25519 AAAAstatic');
  });
});
