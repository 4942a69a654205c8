import { ensureRedis, type RedisHandle } from '../src/infra/redis/bootstrap.js';

let handle: RedisHandle | undefined;

/** Tests use REDIS_URL or the local Redis when reachable, else a private one started here. */
export async function setup({ provide }: { provide: (key: 'redisUrl', value: string) => void }) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  handle = await ensureRedis(url, false);
  provide('redisUrl', handle.url);
}

export async function teardown() {
  await handle?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
